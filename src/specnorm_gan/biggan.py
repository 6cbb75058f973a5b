"""SAGAN, BigGAN and BigGAN-deep architectures as rows of two design tables.

Rows of :data:`BIGGAN_G_ARCHS` / :data:`BIGGAN_D_ARCHS` (a new design is a new row):

* ``sagan-128``: BigGAN-PyTorch's SAGAN configuration (``scripts/launch_SAGAN_bs128x2_ema.sh``:
  ``ch=64``, shared embedding, no hierarchical z, attention at 64 px in G and D).
* ``biggan-32``: StudioGAN's CIFAR-10 BigGAN (``src/configs/CIFAR10/BigGAN.json``, ``big_resnet.py``:
  ``g_conv_dim=d_conv_dim=96``, z 80 in 4 chunks, shared 128, attention after G block 2 and D block 1).
* ``biggan-128``: BigGAN-PyTorch ``BigGAN.py`` with ``ch=96`` (``launch_BigGAN_bs256x8.sh``: z 120 in
  6 chunks, shared 128, attention at 64 px).
* ``biggan-deep-128``: BigGAN-PyTorch ``BigGANdeep.py`` with ``ch=128``, depth 2 (``launch_BigGAN_deep.sh``).

Conventions are those of :mod:`specnorm_gan.models` (``G(z, y)``, ``D(x, y)``, ``width``, input checks
before any computation, fused power iteration). ``y`` goes through G's shared embedding
(``G.shared``; soft labels ``(N, K)`` mix its rows); every G and D layer is spectrally normalized.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from .attention import SNSelfAttention2d
from .biggan_blocks import BigGANDBlock, BigGANDeepDBlock, BigGANDeepGBlock, BigGANGBlock, split_latent
from .blocks import _check_channels, _check_choice
from .layers import SNConv2d, SNEmbedding, SNLinear
from .models import InitArg, _check_num_classes, _check_width, _DiscriminatorMixin, _finish_init, _GeneratorMixin, _lookup, _scale

__all__ = [
    "BigGANGeneratorArch",
    "BigGANDiscriminatorArch",
    "BIGGAN_G_ARCHS",
    "BIGGAN_D_ARCHS",
    "BigGANGenerator",
    "BigGANDiscriminator",
]


@dataclass(frozen=True)
class BigGANGeneratorArch:
    """One row of the BigGAN generator table.

    Attributes:
        bottom_width: spatial size after the dense layer.
        channels: dense-layer channels, then the output channels of each stage (one upsampling per stage).
        attention: stages (0-based) followed by an :class:`SNSelfAttention2d`.
        block: ``"biggan"`` (:class:`BigGANGBlock`) or ``"deep"`` (two :class:`BigGANDeepGBlock` per stage).
        shared_dim: size of the shared class embedding.
        hier: hierarchical latent: ``z`` split into ``stages + 1`` chunks (``"biggan"`` blocks only;
            ``"deep"`` always feeds the whole ``z``).
        out_conv: channels of the output convolution (0 = image channels; BigGAN-deep: 128, first 3 kept).
        bn_eps: BN epsilon.
        source: where the row comes from.

    Example::

        >>> BIGGAN_G_ARCHS["biggan-128"].resolution, BIGGAN_G_ARCHS["biggan-128"].channels[0]
        (128, 1536)
    """

    bottom_width: int
    channels: Tuple[int, ...]
    attention: Tuple[int, ...]
    block: str = "biggan"
    shared_dim: int = 128
    hier: bool = True
    out_conv: int = 0
    bn_eps: float = 1e-5
    source: str = ""

    def __post_init__(self) -> None:
        _check_choice("block", self.block, ("biggan", "deep"))
        if len(self.channels) < 2 or any(not 0 <= a < len(self.channels) - 1 for a in self.attention):
            raise ValueError(f"channels needs the dense width and one entry per stage; attention indexes stages, got {self}")

    @property
    def resolution(self) -> int:
        """Output size ``bottom_width * 2 ** stages``."""
        return self.bottom_width * 2 ** (len(self.channels) - 1)


@dataclass(frozen=True)
class BigGANDiscriminatorArch:
    """One row of the BigGAN discriminator table.

    Attributes:
        channels: output channels of each stage.
        downsample: per stage, whether it halves the spatial size.
        attention: stages (0-based) followed by an :class:`SNSelfAttention2d`.
        block: ``"biggan"`` (:class:`BigGANDBlock`, the first without pre-activation) or ``"deep"``
            (an SN conv3x3 stem to ``stem`` channels, then two :class:`BigGANDeepDBlock` per stage).
        stem: stem channels (``"deep"`` only).
        resolution: input size of the design.
        source: where the row comes from.

    Example::

        >>> BIGGAN_D_ARCHS["biggan-32"].channels
        (192, 192, 192, 192)
    """

    channels: Tuple[int, ...]
    downsample: Tuple[bool, ...]
    attention: Tuple[int, ...]
    resolution: int
    block: str = "biggan"
    stem: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        _check_choice("block", self.block, ("biggan", "deep"))
        if len(self.channels) != len(self.downsample):
            raise ValueError(f"channels and downsample need one entry per stage, got {len(self.channels)} and {len(self.downsample)}")
        size = self.resolution
        for i, down in enumerate(self.downsample):
            size = size // 2 if down else size
            if size < 1:
                raise ValueError(f"BigGAN discriminator row: {sum(self.downsample)} downsamplings of {self.resolution} px leave no pixels; "
                                 f"expected at most {self.resolution.bit_length() - 1}")
            if i in self.attention and (size < 2 or size % 2):
                raise ValueError(f"BigGAN discriminator row: attention after stage {i} sees a {size}x{size} feature map, smaller than "
                                 "or not a multiple of its 2x2 pooling of keys and values; expected an even size >= 2")


def _times(ch: int, mult: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple(ch * m for m in mult)


_BG = "ajbrock/BigGAN-PyTorch "
#: BigGAN-family generators.
BIGGAN_G_ARCHS: Dict[str, BigGANGeneratorArch] = {
    "sagan-128": BigGANGeneratorArch(4, _times(64, (16, 16, 8, 4, 2, 1)), (3,), hier=False,
                                     source=_BG + "BigGAN.py G_arch[128], ch=64, launch_SAGAN_bs128x2_ema.sh (shared, no hier)"),
    "biggan-32": BigGANGeneratorArch(4, _times(96, (4, 4, 4, 4)), (1,), bn_eps=1e-4,
                                     source="POSTECH-CVLab/PyTorch-StudioGAN src/models/big_resnet.py, configs/CIFAR10/BigGAN.json"),
    "biggan-128": BigGANGeneratorArch(4, _times(96, (16, 16, 8, 4, 2, 1)), (3,),
                                      source=_BG + "BigGAN.py G_arch[128], ch=96, launch_BigGAN_bs256x8.sh"),
    "biggan-deep-128": BigGANGeneratorArch(4, _times(128, (16, 16, 8, 4, 2, 1)), (3,), "deep", out_conv=128,
                                           source=_BG + "BigGANdeep.py G_arch[128], ch=128, G_depth=2, launch_BigGAN_deep.sh"),
}

#: BigGAN-family discriminators.
BIGGAN_D_ARCHS: Dict[str, BigGANDiscriminatorArch] = {
    "sagan-128": BigGANDiscriminatorArch(_times(64, (1, 2, 4, 8, 16, 16)), (True,) * 5 + (False,), (0,), 128,
                                         source=_BG + "BigGAN.py D_arch[128], ch=64"),
    "biggan-32": BigGANDiscriminatorArch((192,) * 4, (True, True, False, False), (0,), 32,
                                         source="POSTECH-CVLab/PyTorch-StudioGAN src/models/big_resnet.py (d_conv_dim=96)"),
    "biggan-128": BigGANDiscriminatorArch(_times(96, (1, 2, 4, 8, 16, 16)), (True,) * 5 + (False,), (0,), 128,
                                          source=_BG + "BigGAN.py D_arch[128], ch=96"),
    "biggan-deep-128": BigGANDiscriminatorArch(_times(128, (2, 4, 8, 16, 16)), (True,) * 5, (0,), 128, "deep", stem=128,
                                               source=_BG + "BigGANdeep.py D_arch[128], ch=128, D_depth=2"),
}

_DEFAULT_DESIGN = {32: "biggan-32", 128: "biggan-128"}


def _resolve(table: Dict, arch: Optional[Union[str, object]], resolution: Optional[int], cls: type, what: str):  # type: ignore[no-untyped-def]
    if isinstance(arch, cls):
        spec = arch
    else:
        key = arch if arch is not None else _DEFAULT_DESIGN.get(resolution or 128)
        if key is None:
            raise ValueError(f"no default {what} design for resolution {resolution!r}; expected one of {sorted(_DEFAULT_DESIGN)} or arch=")
        spec = _lookup(table, key, what)
    if resolution is not None and resolution != spec.resolution:
        raise ValueError(f"{what}: this design is for {spec.resolution} px images; got resolution={resolution}")
    return spec


class BigGANGenerator(_GeneratorMixin):
    r"""SAGAN / BigGAN / BigGAN-deep generator (:data:`BIGGAN_G_ARCHS`).

    BigGAN blocks: ``z = [z_0, ..., z_k]`` (hierarchical), ``h = SNLinear(z_0)`` reshaped to
    ``(C_0, b, b)``; stage ``i`` is a :class:`BigGANGBlock` conditioned on ``[shared(y), z_{i+1}]``
    (then attention where the row says); ``BN -> ReLU -> SNConv3x3 -> tanh``. BigGAN-deep: ``c =
    [z, shared(y)]`` feeds the dense layer and every BN; two :class:`BigGANDeepGBlock` per stage.

    Args:
        resolution: output size (must match ``arch``; default that of ``arch``).
        num_classes: number of classes (0: unconditional, only with a hierarchical or deep design).
        z_dim: latent size (a multiple of ``stages + 1`` for hierarchical designs; default 120/80/128 by design).
        arch: a key of :data:`BIGGAN_G_ARCHS` or a :class:`BigGANGeneratorArch` (default by resolution).
        width: channel multiplier (attention needs at least 8 channels).
        out_channels: image channels.
        shared_embedding: an existing ``nn.Embedding(num_classes, shared_dim)`` to use as ``G.shared``.
        bn_eps: BN epsilon (default the row's).
        bn_momentum: BN momentum.
        z_dist: ``"normal"`` or ``"uniform"``.
        init: initialization scheme (``"orthogonal"``, BigGAN's ``ortho``) or callable.

    Shape:
        - z: :math:`(N, z\_dim)`; y: :math:`(N,)` or :math:`(N, K)`. Output :math:`(N, C, R, R)`.

    Example::

        >>> G = BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125)
        >>> G(torch.randn(2, 80), torch.tensor([0, 9])).shape
        torch.Size([2, 3, 32, 32])
    """

    def __init__(
        self,
        resolution: Optional[int] = None,
        num_classes: int = 0,
        z_dim: Optional[int] = None,
        *,
        arch: Optional[Union[str, BigGANGeneratorArch]] = None,
        width: float = 1.0,
        out_channels: int = 3,
        shared_embedding: Optional[nn.Embedding] = None,
        bn_eps: Optional[float] = None,
        bn_momentum: float = 0.1,
        z_dist: str = "normal",
        init: InitArg = "orthogonal",
    ) -> None:
        super().__init__()
        spec: BigGANGeneratorArch = _resolve(BIGGAN_G_ARCHS, arch, resolution, BigGANGeneratorArch, "BigGAN generator")
        width = _check_width(width)
        self.num_classes = _check_num_classes(num_classes)
        self.out_channels = _check_channels("out_channels", out_channels)
        self.z_dist = _check_choice("z_dist", z_dist, ("normal", "uniform"))
        deep = spec.block == "deep"
        stages = len(spec.channels) - 1
        self.hier = spec.hier and not deep
        self.z_dim = _check_channels("z_dim", z_dim if z_dim is not None else (80 if stages == 3 else 120 if self.hier else 128))
        self.num_chunks = stages + 1 if self.hier else 1
        if self.z_dim % self.num_chunks:
            raise ValueError(f"BigGANGenerator: hierarchical z is split into {self.num_chunks} chunks; expected z_dim a multiple of {self.num_chunks}, got {self.z_dim}")
        if self.num_classes == 0 and not (self.hier or deep):
            raise ValueError("BigGANGenerator: an unconditional design needs a hierarchical or deep latent (its BNs have no condition); expected num_classes > 0")
        chans = tuple(_scale(c, width) for c in spec.channels)
        self.arch = replace(spec, channels=chans)
        self.resolution, self.bottom_width = spec.resolution, spec.bottom_width
        shared_dim = spec.shared_dim if self.num_classes else 0
        self.shared: Optional[nn.Embedding] = self._shared(shared_embedding, shared_dim)
        chunk = self.z_dim // self.num_chunks
        cond_dim = shared_dim + (self.z_dim if deep else chunk if self.hier else 0)
        eps = spec.bn_eps if bn_eps is None else bn_eps
        dense_in = self.z_dim + shared_dim if deep else chunk
        self.linear = SNLinear(dense_in, chans[0] * spec.bottom_width**2)
        stages_list: List[nn.ModuleList] = []
        for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])):
            if deep:
                stage: List[nn.Module] = [BigGANDeepGBlock(cin, cin, cond_dim, False, eps, bn_momentum),
                                          BigGANDeepGBlock(cin, cout, cond_dim, True, eps, bn_momentum)]
            else:
                stage = [BigGANGBlock(cin, cout, cond_dim, True, eps, bn_momentum)]
            if i in spec.attention:
                stage.append(SNSelfAttention2d(cout))
            stages_list.append(nn.ModuleList(stage))
        self.blocks = nn.ModuleList(stages_list)
        self.bn = nn.BatchNorm2d(chans[-1], eps=eps, momentum=bn_momentum)
        self.conv_out = SNConv2d(chans[-1], max(spec.out_conv and _scale(spec.out_conv, width), self.out_channels), 3, padding=1)
        kept = None if shared_embedding is None else shared_embedding.weight.detach().clone()
        _finish_init(self, init)
        if kept is not None:  # a given embedding keeps its weights
            with torch.no_grad():
                shared_embedding.weight.copy_(kept)  # type: ignore[union-attr]

    def _shared(self, emb: Optional[nn.Embedding], shared_dim: int) -> Optional[nn.Embedding]:
        if self.num_classes == 0:
            if emb is not None:
                raise ValueError("BigGANGenerator: an unconditional generator (num_classes=0) takes no shared_embedding")
            return None
        if emb is None:
            return nn.Embedding(self.num_classes, shared_dim)
        if not isinstance(emb, nn.Embedding) or emb.num_embeddings != self.num_classes or emb.embedding_dim != shared_dim:
            got = (emb.num_embeddings, emb.embedding_dim) if isinstance(emb, nn.Embedding) else type(emb).__name__
            raise ValueError(
                f"BigGANGenerator: shared_embedding must be nn.Embedding(num_classes={self.num_classes}, shared_dim={shared_dim}), got {got}"
            )
        return emb

    def embed(self, y: Tensor) -> Tensor:
        """Shared class embedding of labels ``(N,)`` or class weights ``(N, K)``: ``(N, shared_dim)``."""
        assert self.shared is not None
        if y.is_floating_point():
            return y.to(self.shared.weight.dtype) @ self.shared.weight
        return self.shared(y)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        e = self.embed(y) if (self.shared is not None and y is not None) else z.new_zeros(z.shape[0], 0)
        if self.arch.block == "deep":
            h_in = torch.cat([z, e], 1)
            conds = [h_in] * len(self.blocks)
        elif self.hier:
            zs = split_latent(z, self.num_chunks)
            h_in, conds = zs[0], [torch.cat([e, c], 1) for c in zs[1:]]
        else:
            h_in, conds = z, [e] * len(self.blocks)
        b = self.bottom_width
        h = self.linear(h_in).view(z.shape[0], -1, b, b)
        for stage, cond in zip(self.blocks, conds):
            for block in stage:
                h = block(h, cond)
        h = self.conv_out(torch.relu(self.bn(h)))
        return torch.tanh(h[:, : self.out_channels])

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, num_classes={self.num_classes}, z_dim={self.z_dim}, block={self.arch.block!r}"


class BigGANDiscriminator(_DiscriminatorMixin):
    r"""SAGAN / BigGAN / BigGAN-deep discriminator with projection (:data:`BIGGAN_D_ARCHS`).

    BigGAN: :class:`BigGANDBlock` per stage (the first without pre-activation), attention where the row
    says; ``ReLU -> sum over H, W -> SNLinear(C, 1) + <SNEmbedding(y), h>``. BigGAN-deep: SN conv3x3 stem,
    two :class:`BigGANDeepDBlock` per stage (the first of each stage downsamples), same head.

    Args:
        resolution: input size (must match ``arch``).
        num_classes: 0 or the number of classes (projection).
        arch: a key of :data:`BIGGAN_D_ARCHS` or a :class:`BigGANDiscriminatorArch`.
        width: channel multiplier.
        in_channels: image channels.
        init: initialization scheme or callable (``"orthogonal"``).

    Shape:
        - x: :math:`(N, C, R, R)`; y: :math:`(N,)`. Output :math:`(N,)` logits.

    Example::

        >>> D = BigGANDiscriminator(arch="biggan-32", num_classes=10, width=0.125)
        >>> D(torch.randn(2, 3, 32, 32), torch.tensor([1, 2])).shape
        torch.Size([2])
    """

    def __init__(
        self,
        resolution: Optional[int] = None,
        num_classes: int = 0,
        *,
        arch: Optional[Union[str, BigGANDiscriminatorArch]] = None,
        width: float = 1.0,
        in_channels: int = 3,
        init: InitArg = "orthogonal",
    ) -> None:
        super().__init__()
        spec: BigGANDiscriminatorArch = _resolve(BIGGAN_D_ARCHS, arch, resolution, BigGANDiscriminatorArch, "BigGAN discriminator")
        width = _check_width(width)
        self.num_classes = _check_num_classes(num_classes)
        self.in_channels = _check_channels("in_channels", in_channels)
        self.resolution = spec.resolution
        chans = tuple(_scale(c, width) for c in spec.channels)
        deep = spec.block == "deep"
        self.arch = replace(spec, channels=chans, stem=_scale(spec.stem, width) if deep else 0)
        self.stem: Optional[nn.Module] = SNConv2d(self.in_channels, self.arch.stem, 3, padding=1) if deep else None
        cin = self.arch.stem if deep else self.in_channels
        stages: List[nn.ModuleList] = []
        for i, (cout, down) in enumerate(zip(chans, spec.downsample)):
            if deep:
                stage: List[nn.Module] = [BigGANDeepDBlock(cin, cout, down), BigGANDeepDBlock(cout, cout, False)]
            else:
                stage = [BigGANDBlock(cin, cout, down, preactivation=i > 0)]
            if i in spec.attention:
                stage.append(SNSelfAttention2d(cout))
            stages.append(nn.ModuleList(stage))
            cin = cout
        self.blocks = nn.ModuleList(stages)
        self.linear = SNLinear(cin, 1)
        self.embed: Optional[nn.Module] = SNEmbedding(self.num_classes, cin) if self.num_classes else None
        _finish_init(self, init)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        h = x if self.stem is None else self.stem(x)
        for stage in self.blocks:
            for block in stage:
                h = block(h)
        h = torch.relu(h).sum(dim=(2, 3))
        out = self.linear(h).view(-1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h).sum(1)
        return out

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, num_classes={self.num_classes}, channels={list(self.arch.channels)}"
