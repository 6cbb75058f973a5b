"""The spectral-normalized layers: SN Linear, Conv, ConvTranspose and Embedding."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .core import _SpectralNorm


def _check_input(layer: nn.Module, x: Tensor, channels: int, spatial_dims: int, what: str) -> None:
    if x.dim() not in (spatial_dims + 1, spatial_dims + 2) or x.shape[-spatial_dims - 1] != channels:
        batched = ", ".join(["N", str(channels)] + ["*"] * spatial_dims)
        raise ValueError(
            f"{type(layer).__name__} expects input of shape ({batched}) (or without N) with {channels} "
            f"{what}, got {tuple(x.shape)}"
        )


_SN_KWARGS_DOC = """
    n_power_iterations: power iterations per training forward (keyword-only, >= 1).
    eps: guards every division of the iteration and the division by sigma (keyword-only, > 0)."""


class SNLinear(_SpectralNorm, nn.Linear):
    r"""A :class:`torch.nn.Linear` whose forward uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.Linear`, plus keyword-only ``n_power_iterations`` and
    ``eps``. ``weight`` stays the trainable raw weight; ``weight_u`` (out_features,) and
    ``weight_v`` (in_features,) are persistent buffers; :attr:`sigma` is the current estimate.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if ``False``, the layer has no additive bias.
        n_power_iterations: power iterations per training forward (keyword-only, >= 1).
        eps: guards every division of the iteration and the division by sigma (keyword-only, > 0).

    Shape:
        - Input: :math:`(*, H_{in})` with :math:`H_{in} = \text{in\_features}`.
        - Output: :math:`(*, H_{out})` with :math:`H_{out} = \text{out\_features}`.

    Example::

        >>> from specnorm_gan.layers import reset_spectral_norm
        >>> layer = SNLinear(20, 30)
        >>> layer(torch.randn(128, 20)).shape
        torch.Size([128, 30])
        >>> true_sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
        >>> bool(layer.sigma <= true_sigma * (1 + 1e-6))  # u^T W v never overestimates sigma
        True
        >>> _ = reset_spectral_norm(layer, iterations=200)  # more iterations: closer to sigma
        >>> bool(abs(layer.sigma - true_sigma) < 1e-3 * true_sigma)
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        *,
        n_power_iterations: int = 1,
        eps: float = 1e-12,
    ) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        self._setup_spectral_norm(n_power_iterations, eps)

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() == 0 or input.shape[-1] != self.in_features:
            raise ValueError(
                f"SNLinear expects input of shape (*, {self.in_features}), got {tuple(input.shape)}"
            )
        return F.linear(input, self._sn_weight(), self.bias)


class _SNConvNd(_SpectralNorm):
    _spatial_dims: int

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input, self.in_channels, self._spatial_dims, "input channels")  # type: ignore[attr-defined]
        return self._conv_forward(input, self._sn_weight(), self.bias)  # type: ignore[attr-defined]


class SNConv1d(_SNConvNd, nn.Conv1d):
    """A :class:`torch.nn.Conv1d` with spectral normalization (see :class:`SNConv2d`).

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Output: as for :class:`torch.nn.Conv1d`.

    Example::

        >>> conv = SNConv1d(4, 8, 3, padding=1)
        >>> conv(torch.randn(2, 4, 16)).shape
        torch.Size([2, 8, 16])
    """

    _spatial_dims = 1

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConv2d(_SNConvNd, nn.Conv2d):
    r"""A :class:`torch.nn.Conv2d` whose forward uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.Conv2d` (groups, dilation, padding modes included),
    plus keyword-only ``n_power_iterations`` and ``eps``. The weight
    ``(out_channels, in_channels / groups, kH, kW)`` is viewed as an
    ``out_channels x (in_channels / groups * kH * kW)`` matrix, as in the paper.

    Args:
        in_channels, out_channels, kernel_size: as in :class:`torch.nn.Conv2d`, and so are
            ``stride``, ``padding``, ``dilation``, ``groups``, ``bias``, ``padding_mode``,
            ``device`` and ``dtype``.
        n_power_iterations: power iterations per training forward (keyword-only, >= 1).
        eps: guards every division of the iteration and the division by sigma (keyword-only, > 0).

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          as for :class:`torch.nn.Conv2d`.

    Example::

        >>> conv = SNConv2d(3, 64, 3, padding=1)
        >>> conv(torch.randn(8, 3, 32, 32)).shape
        torch.Size([8, 64, 32, 32])
    """

    _spatial_dims = 2

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConv3d(_SNConvNd, nn.Conv3d):
    """A :class:`torch.nn.Conv3d` with spectral normalization (see :class:`SNConv2d`).

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})` or :math:`(C_{in}, D_{in}, H_{in}, W_{in})`.
        - Output: as for :class:`torch.nn.Conv3d`.

    Example::

        >>> conv = SNConv3d(2, 4, 3, padding=1)
        >>> conv(torch.randn(1, 2, 4, 4, 4)).shape
        torch.Size([1, 4, 4, 4, 4])
    """

    _spatial_dims = 3

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class _SNConvTransposeNd(_SpectralNorm):
    # The weight of a transposed convolution is (in, out / groups, *k): rows are dim 1, as in torch.
    _SN_DEFAULT_DIM = 1
    _spatial_dims: int
    _functional: Any

    def forward(self, input: Tensor, output_size: Optional[List[int]] = None) -> Tensor:
        _check_input(self, input, self.in_channels, self._spatial_dims, "input channels")  # type: ignore[attr-defined]
        if self.padding_mode != "zeros":  # type: ignore[attr-defined]
            raise ValueError(f"Only 'zeros' padding mode is supported for {type(self).__name__}")
        output_padding = self._output_padding(  # type: ignore[attr-defined]
            input, output_size, self.stride, self.padding, self.kernel_size, self._spatial_dims, self.dilation  # type: ignore[attr-defined]
        )
        return type(self)._functional(
            input, self._sn_weight(), self.bias, self.stride, self.padding,  # type: ignore[attr-defined]
            output_padding, self.groups, self.dilation,  # type: ignore[attr-defined]
        )


class SNConvTranspose1d(_SNConvTransposeNd, nn.ConvTranspose1d):
    """A :class:`torch.nn.ConvTranspose1d` with spectral normalization (see :class:`SNConvTranspose2d`).

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Output: as for :class:`torch.nn.ConvTranspose1d`.

    Example::

        >>> deconv = SNConvTranspose1d(8, 4, 4, stride=2, padding=1)
        >>> deconv(torch.randn(2, 8, 16)).shape
        torch.Size([2, 4, 32])
    """

    _spatial_dims = 1
    _functional = staticmethod(F.conv_transpose1d)

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConvTranspose2d(_SNConvTransposeNd, nn.ConvTranspose2d):
    r"""A :class:`torch.nn.ConvTranspose2d` whose forward uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.ConvTranspose2d`, plus keyword-only
    ``n_power_iterations`` and ``eps``. The weight ``(in_channels, out_channels / groups, kH, kW)``
    is viewed with dim 1 as rows, as torch's spectral norm does for transposed convolutions.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Output: as for :class:`torch.nn.ConvTranspose2d`.

    Example::

        >>> deconv = SNConvTranspose2d(64, 32, 4, stride=2, padding=1)
        >>> deconv(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 32, 16, 16])
    """

    _spatial_dims = 2
    _functional = staticmethod(F.conv_transpose2d)

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConvTranspose3d(_SNConvTransposeNd, nn.ConvTranspose3d):
    """A :class:`torch.nn.ConvTranspose3d` with spectral normalization (see :class:`SNConvTranspose2d`).

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})` or :math:`(C_{in}, D_{in}, H_{in}, W_{in})`.
        - Output: as for :class:`torch.nn.ConvTranspose3d`.

    Example::

        >>> deconv = SNConvTranspose3d(4, 2, 4, stride=2, padding=1)
        >>> deconv(torch.randn(1, 4, 2, 2, 2)).shape
        torch.Size([1, 2, 4, 4, 4])
    """

    _spatial_dims = 3
    _functional = staticmethod(F.conv_transpose3d)

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNEmbedding(_SpectralNorm, nn.Embedding):
    r"""A :class:`torch.nn.Embedding` whose lookup uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.Embedding` (``max_norm`` excepted: renormalizing rows in
    place contradicts spectral normalization), plus keyword-only ``n_power_iterations`` and
    ``eps``. The ``(num_embeddings, embedding_dim)`` weight is the matrix, as in the projection
    discriminator's ``SNEmbedID``.

    Shape:
        - Input: :math:`(*)`, integer class indices in ``[0, num_embeddings)``.
        - Output: :math:`(*, H)` with :math:`H = \text{embedding\_dim}`.

    Example::

        >>> embed = SNEmbedding(10, 128)
        >>> embed(torch.tensor([0, 3, 9])).shape
        torch.Size([3, 128])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: Optional[int] = None,
        max_norm: Optional[float] = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Optional[Tensor] = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        *,
        n_power_iterations: int = 1,
        eps: float = 1e-12,
    ) -> None:
        if max_norm is not None:
            raise ValueError("SNEmbedding does not support max_norm (it rescales rows in place); expected max_norm=None")
        super().__init__(
            num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
            _weight, _freeze, device, dtype,
        )
        self._setup_spectral_norm(n_power_iterations, eps)

    def forward(self, input: Tensor) -> Tensor:
        if input.is_floating_point() or input.is_complex():
            raise TypeError(f"SNEmbedding expects integer indices, got a tensor of dtype {input.dtype}")
        return F.embedding(
            input, self._sn_weight(), self.padding_idx, None, self.norm_type, self.scale_grad_by_freq, self.sparse
        )


_SN_CLASSES: Dict[Type[nn.Module], Type[nn.Module]] = {
    nn.Linear: SNLinear,
    nn.Conv1d: SNConv1d,
    nn.Conv2d: SNConv2d,
    nn.Conv3d: SNConv3d,
    nn.ConvTranspose1d: SNConvTranspose1d,
    nn.ConvTranspose2d: SNConvTranspose2d,
    nn.ConvTranspose3d: SNConvTranspose3d,
    nn.Embedding: SNEmbedding,
}
_PLAIN_CLASSES = {sn: plain for plain, sn in _SN_CLASSES.items()}
