"""The ResNet generator and discriminator of SNGAN and the projection discriminator paper."""

from __future__ import annotations

from dataclasses import replace
from typing import List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ..blocks.common import CHAINER_BN_EPS, _activation, _activation_, _check_channels, _check_choice, _check_slope, _conv
from ..blocks.conditional import ConditionalBatchNorm2d, ProjectionHead
from ..blocks.dblock import DBlock, OptimizedDBlock
from ..blocks.gblock import GBlock
from ..blocks.resampling import _conv3x3_few_outputs
from ..layers import SNEmbedding, SNLinear
from .archs import RESNET_D_ARCHS, RESNET_G_ARCHS, ResNetDiscriminatorArch, ResNetGeneratorArch
from .base import _DiscriminatorMixin, _GeneratorMixin
from .common import InitArg, _check_num_classes, _check_width, _finish_init, _lookup, _override_channels, _scale


class SNResNetGenerator(_GeneratorMixin):
    r"""ResNet generator of SNGAN / the projection discriminator paper.

    ``z -> dense (b*b*C0, bias) -> reshape -> GBlock x k -> BN -> ReLU -> conv3x3 -> tanh``
    (no BN/ReLU right after the dense, an unconditional final BN even in a conditional G, as in
    the official code). Designs (:data:`RESNET_G_ARCHS`): 32 px (256 channels), 48 px (STL-10,
    512-256-128-64), 64 px, 96 px, 128 px (ImageNet), 256 px, plus named variants.

    Args:
        resolution: 32, 48, 64, 96, 128 or 256 (default: that of ``arch``, else 32).
        num_classes: 0 (unconditional) or the number of classes (conditional BN).
        z_dim: latent size (128).
        arch: a key of :data:`RESNET_G_ARCHS` (e.g. ``"128-small"``, ``"48-postact"``) or a
            :class:`ResNetGeneratorArch`; default the design of ``resolution``.
        channels: replaces the table's widths (dense width, then one per block).
        width: channel multiplier applied last (e.g. 0.25 for CPU-scale runs).
        out_channels: image channels (3).
        block_order: ``"pre"`` (official) or ``"post"`` (koshian2's post-activation G).
        upsample_mode: ``"nearest"`` (official) or ``"bilinear"`` (torch-mimicry).
        learnable_shortcut: ``None`` = official rule; ``False`` = identity shortcut for blocks with
            ``in == out`` (ctjoy's G).
        bn_eps: BN epsilon; 2e-5 is the official Chainer value (mimicry 1e-5, StudioGAN/mmgen 1e-4).
        bn_momentum: BN momentum (torch convention; 0.1 = Chainer decay 0.9).
        final_bn: BN + activation before the output convolution (official ``True``; koshian2's
            post-activation G has none).
        conditional_final_bn: make that final BN class-conditional (koshian2; official: plain BN).
        negative_slope: 0 for ReLU (official), > 0 for LeakyReLU.
        sn: spectral normalization on every G layer (off in SNGAN; on in SAGAN/BigGAN-style G).
        z_dist: latent distribution used by :meth:`sample`: ``"normal"`` or ``"uniform"``.
        init: weight initialization, a scheme of :func:`specnorm_gan.init_weights` (default
            ``"chainer"``: Glorot-uniform, gain sqrt(2) on residual 3x3 convs, 1 elsewhere, zero
            biases) or a callable applied to the model.
        fold_resampling: run ``nearest upsample -> conv3x3`` as one transposed convolution and
            the 1x1 shortcuts at low resolution (same function, fewer operations; ``False`` for
            the operation order of the official code; see :func:`specnorm_gan.fold_resampling`).

    Shape:
        - z: :math:`(N, z\_dim)`; y: :math:`(N,)` class indices or :math:`(N, K)` class weights.
        - Output: :math:`(N, C, R, R)` in ``[-1, 1]``.

    Example::

        >>> G = SNResNetGenerator(32, width=0.125)
        >>> G(torch.randn(2, 128)).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(
        self,
        resolution: Optional[int] = None,
        num_classes: int = 0,
        z_dim: int = 128,
        *,
        arch: Optional[Union[str, ResNetGeneratorArch]] = None,
        channels: Optional[Sequence[int]] = None,
        width: float = 1.0,
        out_channels: int = 3,
        block_order: str = "pre",
        upsample_mode: str = "nearest",
        learnable_shortcut: Optional[bool] = None,
        bn_eps: float = CHAINER_BN_EPS,
        bn_momentum: float = 0.1,
        final_bn: bool = True,
        conditional_final_bn: bool = False,
        negative_slope: float = 0.0,
        sn: bool = False,
        z_dist: str = "normal",
        init: InitArg = "chainer",
        fold_resampling: bool = True,
    ) -> None:
        super().__init__()
        spec = self._resolve_arch(resolution, arch)
        width = _check_width(width)
        self.num_classes = _check_num_classes(num_classes)
        self.z_dim = _check_channels("z_dim", z_dim)
        self.out_channels = _check_channels("out_channels", out_channels)
        self.z_dist = _check_choice("z_dist", z_dist, ("normal", "uniform"))
        self.negative_slope = _check_slope(negative_slope)
        chans = tuple(_scale(c, width) for c in _override_channels(spec.channels, channels, "SNResNetGenerator"))
        self.arch = replace(spec, channels=chans)
        self.resolution = spec.resolution
        self.bottom_width = spec.bottom_width
        self.dense = SNLinear(self.z_dim, spec.bottom_width ** 2 * chans[0]) if sn else nn.Linear(
            self.z_dim, spec.bottom_width ** 2 * chans[0]
        )
        self.blocks = nn.ModuleList(
            GBlock(
                cin, cout, upsample=up, num_classes=num_classes, order=block_order, upsample_mode=upsample_mode,
                learnable_shortcut=learnable_shortcut, bn_eps=bn_eps, bn_momentum=bn_momentum,
                negative_slope=negative_slope, sn=sn, fold_resampling=fold_resampling,
            )
            for cin, cout, up in zip(chans[:-1], chans[1:], spec.upsample)
        )
        self.conditional_final_bn = bool(conditional_final_bn and final_bn and num_classes > 0)
        self.final_bn: Optional[nn.Module] = None
        if final_bn:
            self.final_bn = (
                ConditionalBatchNorm2d(chans[-1], num_classes, eps=bn_eps, momentum=bn_momentum)
                if self.conditional_final_bn
                else nn.BatchNorm2d(chans[-1], eps=bn_eps, momentum=bn_momentum)
            )
        self.conv_out = _conv(sn, chans[-1], self.out_channels, 3, padding=1)
        _finish_init(self, init)

    @staticmethod
    def _resolve_arch(resolution: Optional[int], arch: Optional[Union[str, ResNetGeneratorArch]]) -> ResNetGeneratorArch:
        if arch is None:
            res = 32 if resolution is None else resolution
            designs = sorted(int(k) for k in RESNET_G_ARCHS if k.isdigit())
            if str(res) not in RESNET_G_ARCHS:
                raise ValueError(f"SNResNetGenerator: no design for resolution {res!r}; expected one of {designs}")
            return RESNET_G_ARCHS[str(res)]
        spec = arch if isinstance(arch, ResNetGeneratorArch) else _lookup(RESNET_G_ARCHS, arch, "ResNet generator")  # type: ignore[arg-type]
        assert isinstance(spec, ResNetGeneratorArch)
        if resolution is not None and resolution != spec.resolution:
            raise ValueError(f"SNResNetGenerator: arch {arch!r} produces {spec.resolution} px images; got resolution={resolution}")
        return spec

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        b = self.bottom_width
        h = self.dense(z).view(z.shape[0], self.arch.channels[0], b, b)
        for block in self.blocks:
            h = block(h, y)
        if self.final_bn is not None:
            h = self.final_bn(h, y) if self.conditional_final_bn else self.final_bn(h)
            h = _activation_(h, self.negative_slope)
        return torch.tanh(_conv3x3_few_outputs(self.conv_out, h))

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, num_classes={self.num_classes}, z_dim={self.z_dim}, channels={list(self.arch.channels)}"


class SNResNetDiscriminator(_DiscriminatorMixin):
    r"""ResNet discriminator of SNGAN, with an optional projection (or concatenation) head.

    ``x -> [stem] -> first block (optimized by default) -> DBlock x k -> ReLU -> global sum
    pooling -> SN linear (+ projection <embed(y), h>)``. Every layer is spectral-normalized.
    Designs (:data:`RESNET_D_ARCHS`): 32 px (128 channels, head without bias), 48 px
    (64 ... 1024), 64, 96, 128 and 256 px, plus koshian2's variants (``"48-strided"``,
    ``"96-light"``, ``"48-postact"``) and the dog & cat ``"128-small"``.

    Args:
        resolution: input size (default: 32). Any design may be used at any resolution it fits;
            the input must then match exactly.
        num_classes: 0 (unconditional) or the number of classes.
        arch: a key of :data:`RESNET_D_ARCHS` or a :class:`ResNetDiscriminatorArch`; default the
            design of ``resolution``.
        channels: replaces the table's block widths.
        last_width: replaces only the last block's width (e.g. 512 instead of 1024 at 48 px).
        width: channel multiplier applied last.
        in_channels: image channels (3).
        hidden: middle width of the blocks, ``"in"`` (official) or ``"out"`` (StudioGAN, mmgen,
            koshian2); default that of ``arch``.
        first_block: ``"optimized"`` or ``"standard"`` (overrides ``arch``).
        negative_slope: 0 for ReLU (official), > 0 for LeakyReLU in blocks and head.
        head_bias: bias of the final linear layer (default from ``arch``: none at 32 px).
        head_sn: spectral normalization on the final linear layer (``False``: koshian2's plain dense).
        pooling: ``"sum"`` (official) or ``"mean"`` global pooling.
        final_activation: activation before the pooling (default: yes for pre-activation blocks).
        conditioning: ``"projection"`` (Miyato & Koyama) or ``"concat"`` (the SNGAN paper's
            ImageNet cGAN: an SN embedding broadcast and concatenated to the features).
        concat_embed_dim: embedding size of ``"concat"`` (128).
        concat_after: number of blocks before the concatenation (3).
        sn: spectral normalization (``False`` builds the same network with plain layers).
        init: weight initialization scheme or callable (default ``"chainer"``).
        fold_resampling: run ``conv3x3 -> avg pool`` as one stride-2 convolution and the 1x1
            shortcuts after pooling (same function, fewer operations; ``False`` for the operation
            order of the official code; see :func:`specnorm_gan.fold_resampling`).
        shortcut_after_activation: the shortcuts of the non-first blocks read the activated input
            (torch-mimicry's quirk: its D blocks apply an in-place ReLU to their input, so the
            shortcut sees ``ReLU(x)``); off in this library's own presets, on in the
            ``mimicry-*`` presets used for converted checkpoints.

    Shape:
        - x: :math:`(N, C, R, R)`; y: :math:`(N,)` class indices (conditional only).
        - Output: :math:`(N,)` logits.

    Example::

        >>> D = SNResNetDiscriminator(32, num_classes=10, width=0.125)
        >>> D(torch.randn(2, 3, 32, 32), torch.tensor([1, 7])).shape
        torch.Size([2])
    """

    def __init__(
        self,
        resolution: int = 32,
        num_classes: int = 0,
        *,
        arch: Optional[Union[str, ResNetDiscriminatorArch]] = None,
        channels: Optional[Sequence[int]] = None,
        last_width: Optional[int] = None,
        width: float = 1.0,
        in_channels: int = 3,
        hidden: Optional[str] = None,
        first_block: Optional[str] = None,
        negative_slope: float = 0.0,
        head_bias: Optional[bool] = None,
        head_sn: bool = True,
        pooling: str = "sum",
        final_activation: Optional[bool] = None,
        conditioning: str = "projection",
        concat_embed_dim: int = 128,
        concat_after: int = 3,
        sn: bool = True,
        init: InitArg = "chainer",
        fold_resampling: bool = True,
        shortcut_after_activation: bool = False,
    ) -> None:
        super().__init__()
        spec = _resnet_d_arch(resolution, arch)
        width = _check_width(width)
        self.num_classes = _check_num_classes(num_classes)
        self.in_channels = _check_channels("in_channels", in_channels)
        self.resolution = _check_channels("resolution", resolution)
        self.negative_slope = _check_slope(negative_slope)
        self.pooling = _check_choice("pooling", pooling, ("sum", "mean"))
        self.conditioning = _check_choice("conditioning", conditioning, ("projection", "concat"))
        chans = _override_channels(spec.channels, channels, "SNResNetDiscriminator")
        if last_width is not None:
            chans = chans[:-1] + (_check_channels("last_width", last_width),)
        chans = tuple(_scale(c, width) for c in chans)
        stem = spec.stem
        if stem is not None:
            stem = (_scale(stem[0], width),) + tuple(stem[1:])  # type: ignore[assignment]
        hidden = spec.hidden if hidden is None else _check_choice("hidden", hidden, ("in", "out"))
        first = spec.first_block if first_block is None else first_block
        self.arch = replace(spec, channels=chans, stem=stem, hidden=hidden, first_block=first)  # validates
        self.final_activation = spec.order == "pre" if final_activation is None else bool(final_activation)

        # Spatial bookkeeping: the design must fit the resolution.
        size = self.resolution
        self.stem: Optional[nn.Module] = None
        cin = self.in_channels
        if stem is not None:
            out, k, s, p = stem
            self.stem = _conv(sn, cin, out, k, stride=s, padding=p)
            size = (size + 2 * p - k) // s + 1
            cin = out
        concat = self.conditioning == "concat"
        if concat:
            if num_classes == 0:
                raise ValueError("conditioning='concat' needs num_classes > 0")
            if not 0 < concat_after < len(chans):
                raise ValueError(f"concat_after must be in [1, {len(chans) - 1}] for {len(chans)} blocks, got {concat_after}")
        self.concat_after = concat_after if concat else None
        embed_dim = _scale(_check_channels("concat_embed_dim", concat_embed_dim), width) if concat else 0
        self.blocks = _resnet_d_blocks(
            self.arch, cin, size, resolution, embed_dim=embed_dim, concat_after=self.concat_after,
            negative_slope=negative_slope, sn=sn, fold_resampling=fold_resampling,
            shortcut_after_activation=shortcut_after_activation,
        )
        self.embed: Optional[nn.Module] = None
        if concat:
            self.embed = SNEmbedding(num_classes, embed_dim) if sn else nn.Embedding(num_classes, embed_dim)
        self.head = ProjectionHead(
            chans[-1], 0 if concat else num_classes, bias=spec.head_bias if head_bias is None else bool(head_bias),
            sn_linear=head_sn and sn,
        )
        if not sn and self.head.embed is not None:
            self.head.embed = nn.Embedding(num_classes, chans[-1])  # type: ignore[assignment]
        _finish_init(self, init)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        h = x if self.stem is None else self.stem(x)
        for i, block in enumerate(self.blocks):
            if self.embed is not None and i == self.concat_after:
                e = self.embed(y)
                h = torch.cat([h, e[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], dim=1)
            h = block(h)
        if self.final_activation:
            h = _activation(h, self.negative_slope)
        h = h.sum(dim=(2, 3)) if self.pooling == "sum" else h.mean(dim=(2, 3))
        return self.head(h, None if self.embed is not None else y)

    def extra_repr(self) -> str:
        return (
            f"resolution={self.resolution}, num_classes={self.num_classes}, channels={list(self.arch.channels)}, "
            f"conditioning={self.conditioning!r}"
        )


def _resnet_d_arch(resolution: int, arch: Optional[Union[str, ResNetDiscriminatorArch]]) -> ResNetDiscriminatorArch:
    """The design of a :class:`SNResNetDiscriminator`: ``arch`` (a record or a key of :data:`RESNET_D_ARCHS`), else
    the table's design of ``resolution``."""
    if arch is None:
        designs = sorted(int(k) for k in RESNET_D_ARCHS if k.isdigit())
        if str(resolution) not in RESNET_D_ARCHS:
            raise ValueError(f"SNResNetDiscriminator: no design for resolution {resolution!r}; expected one of {designs}")
        spec = RESNET_D_ARCHS[str(resolution)]
    else:
        spec = arch if isinstance(arch, ResNetDiscriminatorArch) else _lookup(RESNET_D_ARCHS, arch, "ResNet discriminator")  # type: ignore[assignment]
    assert isinstance(spec, ResNetDiscriminatorArch)
    return spec


def _resnet_d_blocks(
    arch: ResNetDiscriminatorArch,
    cin: int,
    size: int,
    resolution: int,
    *,
    embed_dim: int,
    concat_after: Optional[int],
    negative_slope: float,
    sn: bool,
    fold_resampling: bool,
    shortcut_after_activation: bool,
) -> nn.ModuleList:
    """The blocks of a :class:`SNResNetDiscriminator`, one per entry of its (scaled) design ``arch``.

    ``cin`` and ``size`` are the channels and spatial size of the first block's input (the image, or
    the stem's output); block ``concat_after`` (``None``: none) reads ``embed_dim`` more channels, the
    concatenated class embedding. Raises ``ValueError`` when the design's downsamplings do not fit
    the input size (``resolution`` is the one the error names).
    """
    blocks: List[nn.Module] = []
    for i, (cout, down) in enumerate(zip(arch.channels, arch.downsample)):
        if i == concat_after:
            cin += embed_dim
        if i == 0 and arch.first_block == "optimized":
            blocks.append(OptimizedDBlock(
                cin, cout, negative_slope=negative_slope, sn=sn, fold_resampling=fold_resampling
            ))
        else:
            blocks.append(
                DBlock(
                    cin, cout, cout if arch.hidden == "out" else cin, downsample=down, order=arch.order,
                    negative_slope=negative_slope, sn=sn, fold_resampling=fold_resampling,
                    shortcut_after_activation=shortcut_after_activation,
                )
            )
        size = size // 2 if down else size
        cin = cout
    if size < 1:
        raise ValueError(
            f"SNResNetDiscriminator: resolution {resolution} is too small for this design "
            f"({sum(arch.downsample)} downsamplings); expected at least {2 ** sum(arch.downsample)}"
        )
    return nn.ModuleList(blocks)
