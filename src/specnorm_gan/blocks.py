"""Building blocks of SNGAN and projection-discriminator architectures.

Default semantics follow the official Chainer code of both papers (``pfnet-research/sngan_projection``,
``gen_models/resblocks.py``, ``dis_models/resblocks.py``):

* :class:`GBlock`: ``BN/cBN -> ReLU -> 2x nearest upsample -> conv3x3 -> BN/cBN -> ReLU -> conv3x3``;
  shortcut ``upsample -> conv1x1`` whenever the shape changes (``in != out`` or upsampling).
* :class:`DBlock`: ``ReLU -> conv3x3 (in -> in) -> ReLU -> conv3x3 (in -> out) -> 2x2 avg pool``;
  shortcut ``conv1x1 -> avg pool`` whenever the shape changes, identity otherwise.
* :class:`OptimizedDBlock` (the first discriminator block): ``conv3x3 -> ReLU -> conv3x3 -> avg pool``;
  shortcut ``avg pool -> conv1x1``; no activation on the raw image.

No activation on a block's input is in place, so a block never modifies its input (an in-place
ReLU at a discriminator block input silently feeds ``ReLU(x)`` to the shortcut, a bug of two
popular ports); activations of fresh BN or convolution outputs are. By default the blocks fold
each resampling step into its 3x3 convolution (see :func:`fold_resampling`): the same function
with fewer operations.
The variants SNGAN users compare are options: post-activation blocks, hidden width ``out`` instead
of ``in`` (StudioGAN, mmgeneration), bilinear upsampling (torch-mimicry), LeakyReLU slopes, the BN
epsilon of each port, identity shortcuts.

:func:`init_weights` applies the official initialization (Glorot-uniform, gain sqrt(2) on the 3x3
convolutions of every residual block, gain 1 elsewhere, zero biases) or another scheme.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, List, Optional, Set, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import SNConv2d, SNEmbedding, SNLinear, _is_compiling, _SpectralNorm, reset_spectral_norm

__all__ = [
    "ConditionalBatchNorm2d",
    "ProjectionHead",
    "GBlock",
    "DBlock",
    "OptimizedDBlock",
    "init_weights",
    "fold_resampling",
    "INIT_SCHEMES",
]

#: Batch-norm epsilon of the official Chainer code (``L.BatchNormalization`` default).
CHAINER_BN_EPS = 2e-5

#: Names accepted by :func:`init_weights` (and by the ``init`` argument of the architectures).
INIT_SCHEMES = ("chainer", "xavier", "orthogonal", "normal0.02", "torch-default")


# --------------------------------------------------------------------------------------------
# Small helpers shared with models.py
# --------------------------------------------------------------------------------------------
def _activation(x: Tensor, negative_slope: float) -> Tensor:
    # Not in place: the input of a block is also the input of its shortcut.
    return F.relu(x) if negative_slope == 0.0 else F.leaky_relu(x, negative_slope)


def _activation_(x: Tensor, negative_slope: float) -> Tensor:
    # In place, only on a fresh BN or convolution output that nothing else holds (neither layer
    # saves its output for backward): saves one allocation and one pass over the activation.
    return F.relu_(x) if negative_slope == 0.0 else F.leaky_relu_(x, negative_slope)


def _check_slope(negative_slope: float) -> float:
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"negative_slope must be a float in [0, 1) (0 = ReLU), got {negative_slope!r}")
    return float(negative_slope)


def _check_channels(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _check_labels(y: Tensor, num_classes: int, batch_size: int, owner: str, allow_soft: bool = False) -> None:
    """Validates class labels without a host synchronization on accelerators.

    Shapes and dtypes are metadata checks. The range check raises ``ValueError`` on CPU before any
    computation; on other devices it is an asynchronous device assert (``torch._assert_async``),
    so the host never waits for the device.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"{owner}: y must be a tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point():
        if not allow_soft:
            raise TypeError(f"{owner}: y must hold integer class indices in [0, {num_classes}), got dtype {y.dtype}")
        if y.shape != (batch_size, num_classes):
            raise ValueError(
                f"{owner}: soft labels y must have shape ({batch_size}, {num_classes}), got {tuple(y.shape)}"
            )
        return
    if y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"{owner}: y must hold integer class indices in [0, {num_classes}), got dtype {y.dtype}")
    if y.shape != (batch_size,):
        raise ValueError(f"{owner}: y must have shape ({batch_size},) (one class index per sample), got {tuple(y.shape)}")
    if y.numel() == 0 or _is_compiling():
        return
    if y.device.type == "cpu":
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"{owner}: class indices must be in [0, {num_classes}) (num_classes={num_classes}), "
                f"got values in [{low}, {high}]"
            )
    elif y.device.type != "meta":
        torch._assert_async(
            ((y >= 0) & (y < num_classes)).all(),
            f"{owner}: class indices must be in [0, {num_classes}) (num_classes={num_classes})",
        )


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


def _conv(sn: bool, *args, **kwargs) -> nn.Conv2d:  # type: ignore[no-untyped-def]
    return SNConv2d(*args, **kwargs) if sn else nn.Conv2d(*args, **kwargs)


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


def fold_resampling(model: nn.Module, enable: bool = True) -> nn.Module:
    """Turns the folding of resampling into convolutions on or off in every block of ``model``.

    On (the default of :class:`GBlock`, :class:`DBlock` and :class:`OptimizedDBlock`), a
    block computes ``conv3x3 -> avg pool`` as one stride-2 4x4 convolution, ``nearest upsample
    -> conv3x3`` as one stride-2 4x4 transposed convolution, and its 1x1 shortcut convolution at
    the lower resolution: the same function with 2.25x (4x for shortcuts) fewer multiply-adds,
    equal to the plain order within float rounding but not bit-identical. Off, every block runs
    the operations in the order of the official code. Parameters, buffers and state dicts are
    the same either way.

    Args:
        model: a block, or any module containing blocks.
        enable: ``True`` to fold, ``False`` for the plain order.

    Returns:
        ``model``.

    Example::

        >>> block = DBlock(8, 16).double().eval()  # eval: the power iteration does not advance
        >>> x = torch.randn(2, 8, 8, 8, dtype=torch.float64)
        >>> folded = block(x)
        >>> plain = fold_resampling(block, False)(x)
        >>> torch.allclose(folded, plain, atol=1e-12)
        True
    """
    for m in model.modules():
        if isinstance(m, (GBlock, DBlock, OptimizedDBlock)):
            m.fold_resampling = bool(enable)
    return model


# --------------------------------------------------------------------------------------------
# Conditional batch norm and the projection head
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Residual blocks
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Initialization
# --------------------------------------------------------------------------------------------
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Embedding)


@torch.no_grad()
def init_weights(
    module: nn.Module,
    scheme: str = "chainer",
    *,
    residual_gain: Optional[float] = None,
    shortcut_gain: Optional[float] = None,
    gain: Optional[float] = None,
) -> nn.Module:
    r"""Initializes every layer of ``module`` in place and re-warms its spectral norms.

    Schemes (weights of ``nn.Linear``, ``nn.Conv*``, ``nn.ConvTranspose*``, ``nn.Embedding`` and
    their SN versions; biases are set to 0 except for ``"torch-default"``):

    * ``"chainer"`` (official SNGAN / projection code): Glorot (Xavier) uniform with gain
      ``sqrt(2)`` on the 3x3 convolutions of every residual block (:class:`GBlock`,
      :class:`DBlock`, :class:`OptimizedDBlock`) and gain 1 on everything else (1x1 shortcuts,
      the G dense and output layers, the D linear and embedding).
    * ``"xavier"``: Glorot uniform, gain 1 everywhere (BigGAN-PyTorch).
    * ``"orthogonal"``: orthogonal, gain 1 (StudioGAN, mmgeneration ``studio``).
    * ``"normal0.02"``: :math:`N(0, 0.02^2)` (DCGAN; ``chainer-gan-lib``'s SN-DCGAN).
    * ``"torch-default"``: each layer's own ``reset_parameters()`` (torch defaults).

    Batch norms get scale 1 and shift 0 (per class for :class:`ConditionalBatchNorm2d`) and fresh
    running statistics. Afterwards :func:`specnorm_gan.reset_spectral_norm` re-warms the power
    iteration of every spectral-norm layer for the new weights.

    Args:
        module: the module to initialize.
        scheme: one of :data:`INIT_SCHEMES`.
        residual_gain: overrides the gain of residual-block 3x3 convolutions (Glorot and
            orthogonal schemes).
        shortcut_gain: overrides the gain of residual-block 1x1 shortcut convolutions.
        gain: overrides the gain of all other layers.

    Returns:
        ``module``.

    Example::

        >>> block = init_weights(DBlock(8, 16), "orthogonal")
        >>> bool((block.c1.bias == 0).all())
        True
    """
    if not isinstance(scheme, str) or scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; expected one of {list(INIT_SCHEMES)}")
    residual: Set[int] = set()
    shortcut: Set[int] = set()
    for m in module.modules():
        if isinstance(m, (GBlock, DBlock, OptimizedDBlock)):
            residual.update(id(c) for c in m.residual_convs())
            if m.c_sc is not None:
                shortcut.add(id(m.c_sc))
    default_residual = math.sqrt(2.0) if scheme == "chainer" else 1.0
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            m.reset_parameters()
            continue
        if isinstance(m, ConditionalBatchNorm2d):
            m.reset_parameters()
            continue
        if not isinstance(m, _WEIGHTED):
            continue
        if scheme == "torch-default":
            m.reset_parameters()
            continue
        if id(m) in residual:
            g = default_residual if residual_gain is None else residual_gain
        elif id(m) in shortcut:
            g = 1.0 if shortcut_gain is None else shortcut_gain
        else:
            g = 1.0 if gain is None else gain
        w = m.weight
        if scheme in ("chainer", "xavier"):
            nn.init.xavier_uniform_(w, gain=g)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w, gain=g)
        else:  # normal0.02
            nn.init.normal_(w, 0.0, 0.02)
        bias = getattr(m, "bias", None)
        if isinstance(bias, Tensor):
            bias.zero_()
    reset_spectral_norm(module)
    return module


def _apply_init(module: nn.Module, init: Union[str, Callable[[nn.Module], object]]) -> None:
    """Applies an ``init`` argument of an architecture: a scheme name or a callable."""
    if callable(init):
        init(module)
        reset_spectral_norm(module)
    else:
        init_weights(module, init)

