"""Resampling of the residual blocks: fast 2x upsampling, and resampling folded into the adjacent 3x3 convolution."""

from __future__ import annotations

from typing import Any, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import _is_compiling, _SpectralNorm


def _upsample(x: Tensor, mode: str) -> Tensor:
    """2x upsampling, ``F.interpolate(x, scale_factor=2, mode=mode)`` (bilinear: align_corners=False).

    On contiguous (NCHW) CPU tensors torch's kernels transpose to channels-last and back; there
    nearest is an expand + reshape (bit-identical) and bilinear a depthwise transposed
    convolution with the bilinear weights (equal within float rounding), 3.4x and 2.6x faster
    forward + backward at G sizes (``benchmarks/resampling.py``). Elsewhere (CUDA, channels_last)
    torch's kernels are used.
    """
    nchw = x.dim() == 4 and x.is_contiguous()
    if mode == "nearest":
        if nchw:
            n, c, h, w = x.shape
            return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)
        return F.interpolate(x, scale_factor=2, mode="nearest")
    if nchw and x.device.type == "cpu":
        return _BilinearUpsample2x.apply(x)
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class _BilinearUpsample2x(torch.autograd.Function):
    """Bilinear 2x upsampling (align_corners=False) for contiguous CPU tensors.

    Forward: out[2i] = x[i-1]/4 + 3x[i]/4 and out[2i+1] = 3x[i]/4 + x[i+1]/4 per axis, edge rows
    and columns replicated, computed as a stride-2 depthwise transposed convolution of the
    replicate-padded input with the separable kernel [1, 3, 3, 1]/4 (``padding=3`` crops the
    output). Backward: its adjoint (nothing is saved), a stride-2 depthwise convolution; torch's
    ``upsample_bilinear2d_backward`` takes about twice as long on NCHW CPU tensors.
    """

    @staticmethod
    def _kernel(like: Tensor) -> Tensor:
        taps = torch.tensor([0.25, 0.75, 0.75, 0.25], dtype=like.dtype, device=like.device)
        return (taps[:, None] * taps[None, :]).expand(like.shape[1], 1, 4, 4)

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
        return F.conv_transpose2d(padded, _BilinearUpsample2x._kernel(x), stride=2, padding=3, groups=x.shape[1])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        # The adjoint of each forward step: the stride-2 depthwise convolution with the same
        # kernel gives the gradient of the padded input, whose border rows and columns (copies of
        # the edges) then add into the edges, corners into corners.
        c = grad.shape[1]
        gp = F.conv2d(grad, _BilinearUpsample2x._kernel(grad), stride=2, padding=3, groups=c)
        g = gp[:, :, 1:-1, 1:-1].clone()
        g[:, :, 0] += gp[:, :, 0, 1:-1]
        g[:, :, -1] += gp[:, :, -1, 1:-1]
        g[:, :, :, 0] += gp[:, :, 1:-1, 0]
        g[:, :, :, -1] += gp[:, :, 1:-1, -1]
        for i in (0, -1):
            for j in (0, -1):
                g[:, :, i, j] += gp[:, :, i, j]
        return g


# --------------------------------------------------------------------------------------------
# Resampling folded into the adjacent 3x3 convolution
# --------------------------------------------------------------------------------------------
# Both resampling steps of the residual blocks are linear and sit next to a 3x3 convolution, so
# each pair is one convolution with a 4x4 kernel at stride 2 (the same function, computed in
# fewer operations; results equal the plain order within float rounding):
#   avg_pool2d(conv3x3(x, W), 2)       == conv2d(x, W4, stride=2, padding=1),
#                                          W4[m, n] = 1/4 * sum_{a,b in {0,1}} W[m-a, n-b]
#   conv3x3(upsample_nearest_2x(x), W) == conv_transpose2d(x, K4, stride=2, padding=1),
#                                          K4[m, n] = sum_{a,b in {0,1}} flip(W)[m-a, n-b]
# (taps outside the 3x3 kernel are zero). The 3x3 convolution at full resolution costs 9 * 4 = 36
# multiply-adds per input pixel of the low-resolution side and channel pair, the folded one 16:
# 2.25x fewer. 1x1 shortcut convolutions commute with both resampling steps, so they run at
# the low resolution (4x fewer). Spectral norm still normalizes the 3x3 weight W (W / sigma is
# folded, so sigma and the power iteration are those of the paper).
def _is_plain_conv3x3(conv: nn.Module) -> bool:
    # Only the exact layer the blocks build; a swapped-in layer or one with forward hooks (which
    # would not run) keeps the layer's own forward.
    return (
        isinstance(conv, nn.Conv2d)
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and not conv._forward_hooks
        and not conv._forward_pre_hooks
    )


def _layer_weight(conv: nn.Conv2d) -> Tensor:
    # The weight the layer's own forward would use: W / sigma for SN layers (fused or not);
    # for torch's parametrizations ``conv.weight`` already is the normalized weight.
    if isinstance(conv, _SpectralNorm):
        return conv._sn_weight()
    return conv.weight


def _pair_sum_kernel(w: Tensor) -> Tensor:
    # (O, I, 3, 3) -> (O, I, 4, 4): 1/4 of the sum of the four shifts of w by (0|1, 0|1).
    o, i = w.shape[:2]
    return F.avg_pool2d(w.reshape(o * i, 1, 3, 3), 2, stride=1, padding=1).view(o, i, 4, 4)


def _conv3x3_avgpool(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """``F.avg_pool2d(conv(x), 2)`` as one 4x4 convolution at stride 2."""
    if not _is_plain_conv3x3(conv):
        return F.avg_pool2d(conv(x), 2)
    return F.conv2d(x, _pair_sum_kernel(_layer_weight(conv)), conv.bias, stride=2, padding=1)


def _upsample_conv3x3(conv: nn.Conv2d, x: Tensor, mode: str) -> Tensor:
    """``conv(upsample(x))`` as one 4x4 transposed convolution at stride 2 (nearest only)."""
    if mode != "nearest" or not _is_plain_conv3x3(conv):
        return conv(_upsample(x, mode))
    kernel = 4.0 * _pair_sum_kernel(_layer_weight(conv).flip(2, 3))
    return F.conv_transpose2d(x, kernel.transpose(0, 1), conv.bias, stride=2, padding=1)


def _conv3x3_few_outputs(conv: nn.Module, x: Tensor) -> Tensor:
    """``conv(x)`` for a 3x3 convolution to a few channels, such as a generator's RGB output.

    On contiguous float CPU tensors oneDNN runs a convolution with so few output channels far
    below its speed on wide ones; computed instead as a 1x1 convolution to one channel per
    (tap, output) pair followed by the sum of the nine shifted tap planes, it does the same
    multiply-adds in about half the time (``benchmarks/resampling.py``). Same function, equal
    within float rounding; elsewhere (CUDA, channels_last, autocast, compile) ``conv(x)`` runs.
    """
    if not (
        not _is_compiling()
        and _is_plain_conv3x3(conv)
        and conv.out_channels <= 4
        and x.device.type == "cpu"
        and x.dim() == 4
        and x.is_contiguous()
        and x.dtype in (torch.float32, torch.float64)
        and not torch.is_autocast_enabled("cpu")
    ):
        return conv(x)
    n, _, h, w = x.shape
    o = conv.out_channels
    weight = _layer_weight(conv)
    taps = F.conv2d(x, weight.permute(2, 3, 0, 1).reshape(9 * o, -1, 1, 1))  # channel (k, l, o): W[o, :, k, l] . x
    out = _ShiftedTapSum.apply(taps.view(n, 3, 3, o, h, w))
    return out if conv.bias is None else out + conv.bias.view(1, o, 1, 1)


def _tap_slices(k: int, size: int) -> Tuple[slice, slice]:
    # Output rows i and tap rows i + k - 1 that both lie inside [0, size): (output slice, tap slice).
    s = k - 1
    dst = slice(max(0, -s), size - max(0, s))
    return dst, slice(dst.start + s, dst.stop + s)


class _ShiftedTapSum(torch.autograd.Function):
    """``out[..., i, j] = sum_{k,l} taps[:, k, l, ..., i + k - 1, j + l - 1]`` (zero outside), the
    second half of a 3x3 convolution split into per-tap 1x1 convolutions.

    Input (N, 3, 3, O, H, W), output (N, O, H, W). Accumulates in place into one output and writes
    the gradient into one buffer; autograd through slices would allocate a padded copy of ``taps``
    and a zero-filled one per tap.
    """

    @staticmethod
    def forward(ctx: Any, taps: Tensor) -> Tensor:  # type: ignore[override]
        h, w = taps.shape[-2:]
        out = taps[:, 1, 1].clone()
        for k in range(3):
            for l in range(3):
                if (k, l) != (1, 1):
                    (oi, ti), (oj, tj) = _tap_slices(k, h), _tap_slices(l, w)
                    out[..., oi, oj] += taps[:, k, l, :, ti, tj]
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        n, o, h, w = grad.shape
        g = grad.new_zeros(n, 3, 3, o, h, w)
        for k in range(3):
            for l in range(3):
                (oi, ti), (oj, tj) = _tap_slices(k, h), _tap_slices(l, w)
                g[:, k, l, :, ti, tj] = grad[..., oi, oj]
        return g

