"""Class conditioning: conditional batch norm (generators) and the projection head (discriminators)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor, nn

from ..layers import SNEmbedding, SNLinear
from .common import _check_channels, _check_labels


class ConditionalBatchNorm2d(nn.Module):
    r"""Batch norm without affine followed by a per-class scale and shift.

    ``out = BN(x) * weight[y] + bias[y]`` with ``weight`` (init 1) and ``bias`` (init 0) of shape
    ``(num_classes, num_features)``: the ``CategoricalConditionalBatchNormalization`` of the
    official code (no shared affine; ``2 * num_classes * num_features`` parameters). At
    initialization it equals ``nn.BatchNorm2d(num_features, eps, momentum)`` for every class.
    The normalization is an inner ``nn.BatchNorm2d(affine=False)`` (``self.bn``), so
    ``nn.SyncBatchNorm.convert_sync_batchnorm`` converts it without losing the class parameters.

    ``y`` may also be a float tensor of class weights ``(N, num_classes)``: the scale and shift
    are then the weighted sums of the class rows (interpolation between classes, as the official
    code's ``weights`` argument).

    Args:
        num_features: channels ``C``.
        num_classes: number of classes (> 0).
        eps: added to the variance (1e-5 as torch; the official Chainer code uses 2e-5).
        momentum: running-statistics momentum (torch convention; Chainer decay 0.9 = 0.1).
        device, dtype: factory arguments.

    Shape:
        - x: :math:`(N, C, H, W)`; y: :math:`(N,)` integer labels or :math:`(N, K)` float weights.
        - Output: :math:`(N, C, H, W)`.

    Example::

        >>> cbn = ConditionalBatchNorm2d(16, num_classes=10)
        >>> cbn(torch.randn(4, 16, 8, 8), torch.tensor([0, 1, 2, 9])).shape
        torch.Size([4, 16, 8, 8])
    """

    def __init__(
        self,
        num_features: int,
        num_classes: int,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        device: Optional[Union[torch.device, str]] = None,
        dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__()
        _check_channels("num_features", num_features)
        _check_channels("num_classes", num_classes)
        self.num_features = num_features
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False, device=device, dtype=dtype)
        self.weight = nn.Parameter(torch.ones(num_classes, num_features, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(num_classes, num_features, device=device, dtype=dtype))
        #: Validate labels in :meth:`forward`; architectures that validate once at their input
        #: turn this off on their inner layers.
        self.check_labels = True

    @property
    def eps(self) -> float:
        """Epsilon of the normalization."""
        return self.bn.eps

    @property
    def momentum(self) -> Optional[float]:
        """Running-statistics momentum."""
        return self.bn.momentum

    def reset_parameters(self) -> None:
        """Resets the running statistics, the scales to 1 and the shifts to 0."""
        self.bn.reset_running_stats()
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"ConditionalBatchNorm2d expects input of shape (N, {self.num_features}, H, W), got {tuple(x.shape)}"
            )
        if self.check_labels:
            _check_labels(y, self.num_classes, x.shape[0], "ConditionalBatchNorm2d", allow_soft=True)
        h = self.bn(x)
        if y.is_floating_point():
            weight = y.to(self.weight.dtype) @ self.weight
            bias = y.to(self.bias.dtype) @ self.bias
        else:
            weight = self.weight.index_select(0, y)
            bias = self.bias.index_select(0, y)
        return torch.addcmul(bias[:, :, None, None], h, weight[:, :, None, None])

    def extra_repr(self) -> str:
        return f"{self.num_features}, num_classes={self.num_classes}"


class ProjectionHead(nn.Module):
    r"""Output layer of the projection discriminator (Miyato & Koyama, ICLR 2018).

    ``out = linear(h) + sum(embed(y) * h, dim=1)`` with a spectral-normalized linear layer
    (``in_features -> 1``) and a spectral-normalized embedding (``num_classes x in_features``).
    With ``num_classes=0`` it is the unconditional head ``linear(h)``.

    Args:
        in_features: size of the pooled feature ``h``.
        num_classes: number of classes (0 = unconditional, no embedding).
        bias: bias of the linear layer (the official 32 px discriminator has none).
        sn_linear: spectral normalization on the linear layer (``False`` reproduces ports whose
            final dense is plain, e.g. ``koshian2/SNGAN``; the embedding always has SN).

    Shape:
        - h: :math:`(N, F)`; y: :math:`(N,)` integer labels (required iff ``num_classes > 0``).
        - Output: :math:`(N,)`.

    Example::

        >>> head = ProjectionHead(128, num_classes=10)
        >>> head(torch.randn(4, 128), torch.tensor([0, 1, 2, 3])).shape
        torch.Size([4])
    """

    def __init__(self, in_features: int, num_classes: int = 0, bias: bool = True, sn_linear: bool = True) -> None:
        super().__init__()
        _check_channels("in_features", in_features)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
        self.in_features = in_features
        self.num_classes = num_classes
        self.linear: nn.Linear = SNLinear(in_features, 1, bias=bias) if sn_linear else nn.Linear(in_features, 1, bias=bias)
        self.embed: Optional[SNEmbedding] = SNEmbedding(num_classes, in_features) if num_classes > 0 else None
        self.check_labels = True

    def forward(self, h: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if h.dim() != 2 or h.shape[1] != self.in_features:
            raise ValueError(f"ProjectionHead expects features of shape (N, {self.in_features}), got {tuple(h.shape)}")
        out = self.linear(h).squeeze(1)
        if self.embed is None:
            if y is not None:
                raise ValueError("ProjectionHead: unconditional head (num_classes=0) got labels y; expected y=None")
            return out
        if y is None:
            raise ValueError(
                f"ProjectionHead: conditional head (num_classes={self.num_classes}) needs labels y of shape (N,)"
            )
        if self.check_labels:
            _check_labels(y, self.num_classes, h.shape[0], "ProjectionHead")
        return out + (self.embed(y) * h).sum(dim=1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}"
