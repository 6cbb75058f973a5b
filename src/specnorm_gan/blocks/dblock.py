"""The residual discriminator blocks (:class:`DBlock`, and :class:`OptimizedDBlock` for the first block)."""

from __future__ import annotations

from typing import List, Optional

import torch.nn.functional as F
from torch import Tensor, nn

from .common import _activation, _activation_, _check_channels, _check_choice, _check_slope, _conv
from .resampling import _conv3x3_avgpool


class DBlock(nn.Module):
    r"""Residual discriminator block ("ResBlock down" of the official code).

    ``order="pre"`` (official): ``act -> conv3x3 (in -> hidden) -> act -> conv3x3 (hidden -> out)
    -> avgpool``; shortcut ``conv1x1 -> avgpool`` when learnable, identity otherwise.
    ``order="post"`` (``koshian2/SNGAN``'s post-activation D): ``avgpool`` on the input first,
    then ``conv3x3 -> act -> conv3x3 -> act``; shortcut ``avgpool -> conv1x1`` (conv only when
    ``in != out``). The activation is never in place, so the block never modifies ``x`` and the
    shortcut always sees the raw input. All convolutions are spectral-normalized by default.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        hidden_channels: middle width; default ``in_channels`` (official; StudioGAN, mmgen and
            koshian2 use ``out_channels``).
        downsample: 2x2 average pooling.
        order: ``"pre"`` or ``"post"`` activation.
        negative_slope: 0 for ReLU (official), > 0 for LeakyReLU.
        learnable_shortcut: ``None`` = official rule (``in != out`` or downsampling for
            ``"pre"``; ``in != out`` for ``"post"``); ``False`` forces an identity shortcut
            (needs ``in == out``).
        sn: spectral normalization on the convolutions (default ``True``).
        fold_resampling: compute ``conv3x3 -> avgpool`` as one stride-2 convolution and the 1x1
            shortcut after pooling (same function, fewer operations; see :func:`fold_resampling`).
        shortcut_after_activation: the shortcut reads ``act(x)`` instead of ``x`` (``"pre"``
            order only). This is torch-mimicry's behaviour, whose blocks apply an in-place ReLU to
            their input before the shortcut reads it; off by default and in this library's presets.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`.
        - Output: :math:`(N, C_{out}, \lfloor H/2 \rfloor, \lfloor W/2 \rfloor)` (or the input size
          without downsampling).

    Example::

        >>> import torch
        >>> block = DBlock(64, 128)
        >>> block(torch.randn(2, 64, 16, 16)).shape
        torch.Size([2, 128, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: Optional[int] = None,
        *,
        downsample: bool = True,
        order: str = "pre",
        negative_slope: float = 0.0,
        learnable_shortcut: Optional[bool] = None,
        sn: bool = True,
        fold_resampling: bool = True,
        shortcut_after_activation: bool = False,
    ) -> None:
        super().__init__()
        _check_channels("in_channels", in_channels)
        _check_channels("out_channels", out_channels)
        hidden = in_channels if hidden_channels is None else _check_channels("hidden_channels", hidden_channels)
        if shortcut_after_activation and order != "pre":
            raise ValueError("shortcut_after_activation needs order='pre' (the activation the shortcut reads)")
        self.shortcut_after_activation = bool(shortcut_after_activation)
        self.order = _check_choice("order", order, ("pre", "post"))
        self.downsample = bool(downsample)
        self.negative_slope = _check_slope(negative_slope)
        self.in_channels, self.out_channels, self.hidden_channels = in_channels, out_channels, hidden
        if learnable_shortcut is None:
            learnable_shortcut = in_channels != out_channels or (self.downsample and self.order == "pre")
        elif not learnable_shortcut and in_channels != out_channels:
            raise ValueError(
                f"learnable_shortcut=False needs in_channels == out_channels, got {in_channels} and {out_channels}"
            )
        self.learnable_shortcut = bool(learnable_shortcut)
        self.c1 = _conv(sn, in_channels, hidden, 3, padding=1)
        self.c2 = _conv(sn, hidden, out_channels, 3, padding=1)
        self.c_sc = _conv(sn, in_channels, out_channels, 1, padding=0) if self.learnable_shortcut else None
        self.fold_resampling = bool(fold_resampling)

    def residual_convs(self) -> List[nn.Module]:
        """The 3x3 convolutions of the residual branch (gain sqrt(2) in the official init)."""
        return [self.c1, self.c2]

    def forward(self, x: Tensor) -> Tensor:
        slope = self.negative_slope
        if self.order == "pre":
            a = _activation(x, slope)
            if self.shortcut_after_activation:
                x = a  # torch-mimicry: the in-place ReLU of the residual branch also feeds the shortcut
            h = _activation_(self.c1(a), slope)
            if not self.downsample:
                return self.c2(h) + (self.c_sc(x) if self.c_sc is not None else x)
            if self.fold_resampling:
                h = _conv3x3_avgpool(self.c2, h)
                sc = F.avg_pool2d(x, 2)  # a 1x1 conv commutes with average pooling
                return h + (self.c_sc(sc) if self.c_sc is not None else sc)
            sc = self.c_sc(x) if self.c_sc is not None else x
            return F.avg_pool2d(self.c2(h), 2) + F.avg_pool2d(sc, 2)
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        h = _activation_(self.c2(_activation_(self.c1(x), slope)), slope)
        sc = self.c_sc(x) if self.c_sc is not None else x
        return h + sc

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, hidden={self.hidden_channels}, "
            f"downsample={self.downsample}, order={self.order!r}"
        )


class OptimizedDBlock(nn.Module):
    r"""First discriminator block of the official code (``OptimizedBlock``).

    Residual ``conv3x3 (in -> out) -> act -> conv3x3 (out -> out) -> avgpool`` (no activation on
    the raw image); shortcut ``avgpool -> conv1x1 (in -> out)``. Spectral-normalized by default.

    Args:
        in_channels: image channels.
        out_channels: output channels.
        negative_slope: 0 for ReLU (official), > 0 for LeakyReLU.
        sn: spectral normalization on the convolutions (default ``True``).
        fold_resampling: compute ``conv3x3 -> avgpool`` as one stride-2 convolution (same
            function, fewer operations; see :func:`fold_resampling`).

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`. Output: :math:`(N, C_{out}, \lfloor H/2 \rfloor, \lfloor W/2 \rfloor)`.

    Example::

        >>> import torch
        >>> OptimizedDBlock(3, 128)(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 128, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        negative_slope: float = 0.0,
        sn: bool = True,
        fold_resampling: bool = True,
    ) -> None:
        super().__init__()
        _check_channels("in_channels", in_channels)
        _check_channels("out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.negative_slope = _check_slope(negative_slope)
        self.c1 = _conv(sn, in_channels, out_channels, 3, padding=1)
        self.c2 = _conv(sn, out_channels, out_channels, 3, padding=1)
        self.c_sc = _conv(sn, in_channels, out_channels, 1, padding=0)
        self.fold_resampling = bool(fold_resampling)

    def residual_convs(self) -> List[nn.Module]:
        """The 3x3 convolutions of the residual branch (gain sqrt(2) in the official init)."""
        return [self.c1, self.c2]

    def forward(self, x: Tensor) -> Tensor:
        h = _activation_(self.c1(x), self.negative_slope)
        h = _conv3x3_avgpool(self.c2, h) if self.fold_resampling else F.avg_pool2d(self.c2(h), 2)
        return h + self.c_sc(F.avg_pool2d(x, 2))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
