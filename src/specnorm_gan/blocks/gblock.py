"""The residual generator block (:class:`GBlock`)."""

from __future__ import annotations

from typing import List, Optional

from torch import Tensor, nn

from .common import CHAINER_BN_EPS, _activation_, _check_channels, _check_choice, _check_slope, _conv
from .conditional import ConditionalBatchNorm2d
from .resampling import _upsample, _upsample_conv3x3


class GBlock(nn.Module):
    r"""Residual generator block ("ResBlock up" of the official code).

    ``order="pre"`` (official): ``BN -> act -> up -> conv3x3 (in -> hidden) -> BN -> act ->
    conv3x3 (hidden -> out)``. ``order="post"`` (``koshian2/SNGAN``'s post-activation G):
    ``up -> conv3x3 -> BN -> act -> conv3x3 -> BN -> act``. The shortcut is ``up -> conv1x1``
    when learnable, else ``up`` (identity). BN is conditional (:class:`ConditionalBatchNorm2d`)
    when ``num_classes > 0``. Output = residual + shortcut.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        hidden_channels: width of the middle activation (default ``out_channels``, as official).
        upsample: double the spatial size (nearest neighbour by default).
        num_classes: 0 for plain BN, > 0 for class-conditional BN.
        order: ``"pre"`` or ``"post"`` activation.
        upsample_mode: ``"nearest"`` (official) or ``"bilinear"`` (torch-mimicry, align_corners=False).
        learnable_shortcut: ``None`` = official rule (``in != out`` or upsampling); ``False`` keeps
            an identity shortcut when ``in == out`` even with upsampling (needs ``in == out``);
            ``True`` always uses the 1x1 convolution.
        bn_eps: BN epsilon (official 2e-5; torch-mimicry 1e-5; StudioGAN and mmgen 1e-4).
        bn_momentum: BN momentum (torch convention).
        negative_slope: 0 for ReLU (official), > 0 for LeakyReLU.
        sn: spectral normalization on the convolutions (off in the official G).
        fold_resampling: compute ``upsample -> conv3x3`` as one transposed convolution and the
            1x1 shortcut before upsampling (same function, fewer operations; see
            :func:`fold_resampling`).

    Shape:
        - x: :math:`(N, C_{in}, H, W)`; y: :math:`(N,)` when conditional.
        - Output: :math:`(N, C_{out}, 2H, 2W)` (or :math:`(N, C_{out}, H, W)` without upsampling).

    Example::

        >>> import torch
        >>> block = GBlock(64, 32)
        >>> block(torch.randn(2, 64, 4, 4)).shape
        torch.Size([2, 32, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: Optional[int] = None,
        *,
        upsample: bool = True,
        num_classes: int = 0,
        order: str = "pre",
        upsample_mode: str = "nearest",
        learnable_shortcut: Optional[bool] = None,
        bn_eps: float = CHAINER_BN_EPS,
        bn_momentum: float = 0.1,
        negative_slope: float = 0.0,
        sn: bool = False,
        fold_resampling: bool = True,
    ) -> None:
        super().__init__()
        _check_channels("in_channels", in_channels)
        _check_channels("out_channels", out_channels)
        hidden = out_channels if hidden_channels is None else _check_channels("hidden_channels", hidden_channels)
        self.order = _check_choice("order", order, ("pre", "post"))
        self.upsample_mode = _check_choice("upsample_mode", upsample_mode, ("nearest", "bilinear"))
        self.upsample = bool(upsample)
        self.negative_slope = _check_slope(negative_slope)
        self.num_classes = num_classes
        self.in_channels, self.out_channels, self.hidden_channels = in_channels, out_channels, hidden
        if learnable_shortcut is None:
            learnable_shortcut = in_channels != out_channels or self.upsample
        elif not learnable_shortcut and in_channels != out_channels:
            raise ValueError(
                f"learnable_shortcut=False needs in_channels == out_channels, got {in_channels} and {out_channels}"
            )
        self.learnable_shortcut = bool(learnable_shortcut)
        self.c1 = _conv(sn, in_channels, hidden, 3, padding=1)
        self.c2 = _conv(sn, hidden, out_channels, 3, padding=1)
        bn1_ch, bn2_ch = (in_channels, hidden) if self.order == "pre" else (hidden, out_channels)
        self.b1 = self._make_bn(bn1_ch, num_classes, bn_eps, bn_momentum)
        self.b2 = self._make_bn(bn2_ch, num_classes, bn_eps, bn_momentum)
        self.c_sc = _conv(sn, in_channels, out_channels, 1, padding=0) if self.learnable_shortcut else None
        self.fold_resampling = bool(fold_resampling)

    @staticmethod
    def _make_bn(channels: int, num_classes: int, eps: float, momentum: float) -> nn.Module:
        if num_classes > 0:
            return ConditionalBatchNorm2d(channels, num_classes, eps=eps, momentum=momentum)
        return nn.BatchNorm2d(channels, eps=eps, momentum=momentum)

    def residual_convs(self) -> List[nn.Module]:
        """The 3x3 convolutions of the residual branch (gain sqrt(2) in the official init)."""
        return [self.c1, self.c2]

    def _bn(self, bn: nn.Module, h: Tensor, y: Optional[Tensor]) -> Tensor:
        return bn(h, y) if self.num_classes > 0 else bn(h)

    def _up_c1(self, h: Tensor) -> Tensor:
        # (upsample ->) c1, folded into one transposed convolution where possible.
        if not self.upsample:
            return self.c1(h)
        if self.fold_resampling:
            return _upsample_conv3x3(self.c1, h, self.upsample_mode)
        return self.c1(_upsample(h, self.upsample_mode))

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if self.num_classes > 0 and y is None:
            raise ValueError(f"GBlock: conditional block (num_classes={self.num_classes}) needs labels y")
        up, mode, fold = self.upsample, self.upsample_mode, self.fold_resampling
        if self.order == "pre":
            h = self._up_c1(_activation_(self._bn(self.b1, x, y), self.negative_slope))
            h = self.c2(_activation_(self._bn(self.b2, h, y), self.negative_slope))
        else:
            h = _activation_(self._bn(self.b1, self._up_c1(x), y), self.negative_slope)
            h = _activation_(self._bn(self.b2, self.c2(h), y), self.negative_slope)
        if not up:
            sc = x if self.c_sc is None else self.c_sc(x)
        elif self.c_sc is not None and fold:
            sc = _upsample(self.c_sc(x), mode)  # a 1x1 conv commutes with (linear) upsampling
        else:
            sc = _upsample(x, mode)
            sc = sc if self.c_sc is None else self.c_sc(sc)
        return h + sc

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, hidden={self.hidden_channels}, upsample={self.upsample}, "
            f"order={self.order!r}, num_classes={self.num_classes}"
        )

