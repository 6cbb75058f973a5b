"""SNGAN and projection-discriminator architectures, driven by architecture tables.

Every published design is one row of a table below (:data:`RESNET_G_ARCHS`,
:data:`RESNET_D_ARCHS`, :data:`DCGAN_G_ARCHS`, :data:`DCGAN_D_ARCHS`); a new resolution or
variant is a new row, not a new class. Sources (see ``architectures.md`` of the project
reference): the official Chainer code ``pfnet-research/sngan_projection`` (``gen_models/resnet*.py``,
``dis_models/snresnet*.py``), the SNGAN paper's "standard CNN" (Table 3), PFN's
``chainer-gan-lib`` SN-DCGAN, torch-mimicry's 48 px SNGAN, and the seed repositories whose
experiment grids the presets re-create (``koshian2/SNGAN``, ``ChenKaiXuSan/SNGAN_projection-PyTorch``,
``xyfJASON/GANs-Implementations``, ``ctjoy/deep-learning-project``).

Conventions shared by all architectures:

* ``G(z, y=None)`` returns images ``(N, C, R, R)`` in ``[-1, 1]`` (tanh); ``G.z_dim``,
  ``G.num_classes`` (0 = unconditional), ``G.resolution``, ``G.out_channels``;
  ``G.sample(n, y=None, generator=None)``.
* ``D(x, y=None)`` returns logits ``(N,)``; ``D.num_classes``, ``D.resolution``, ``D.in_channels``.
* Conditioning: class-conditional BN in G, projection (or concatenation) in D.
* Bad input (wrong image size or channels, missing or superfluous ``y``, class index out of
  range, wrong ``z`` width) raises ``ValueError`` naming the expected value. The checks run in a
  forward pre-hook registered before the fused spectral-norm hook, so on CPU nothing is computed
  (no power iteration, no BN statistics update) before the error; on accelerators the class-range
  check is an asynchronous device assert and never synchronizes the host.
* ``width`` multiplies every channel count (e.g. 0.25 for CPU-scale experiments).
* Constructors initialize the weights (``init``), re-warm the spectral norms and fuse their power
  iterations (:func:`specnorm_gan.fuse_spectral_norm`).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from .blocks import (
    CHAINER_BN_EPS,
    ConditionalBatchNorm2d,
    DBlock,
    GBlock,
    OptimizedDBlock,
    ProjectionHead,
    _activation,
    _activation_,
    _apply_init,
    _check_channels,
    _check_choice,
    _check_labels,
    _check_slope,
    _conv,
    _conv3x3_few_outputs,
)
from .layers import SNConvTranspose2d, SNEmbedding, SNLinear, fuse_spectral_norm

__all__ = [
    "ResNetGeneratorArch",
    "ResNetDiscriminatorArch",
    "DCGANGeneratorArch",
    "DCGANDiscriminatorArch",
    "RESNET_G_ARCHS",
    "RESNET_D_ARCHS",
    "DCGAN_G_ARCHS",
    "DCGAN_D_ARCHS",
    "SNResNetGenerator",
    "SNResNetDiscriminator",
    "SNDCGANGenerator",
    "SNDCGANDiscriminator",
]

InitArg = Union[str, Callable[[nn.Module], object]]


# --------------------------------------------------------------------------------------------
# Architecture records
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResNetGeneratorArch:
    """One row of the ResNet generator table.

    Attributes:
        bottom_width: spatial size after the dense layer (``z -> b*b*channels[0]``).
        channels: the dense layer's channels, then the output channels of each :class:`GBlock`.
        upsample: per block, whether it doubles the spatial size.
        source: where the row comes from.

    Example::

        >>> RESNET_G_ARCHS["48"].resolution, RESNET_G_ARCHS["48"].channels
        (48, (512, 256, 128, 64))
        >>> arch = ResNetGeneratorArch(4, (64, 32, 16), (True, True))
        >>> SNResNetGenerator(arch=arch)(torch.randn(2, 128)).shape
        torch.Size([2, 3, 16, 16])
    """

    bottom_width: int
    channels: Tuple[int, ...]
    upsample: Tuple[bool, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.upsample) + 1:
            raise ValueError(
                f"channels needs one entry more than upsample (dense + one per block), got {len(self.channels)} "
                f"channels for {len(self.upsample)} blocks"
            )

    @property
    def resolution(self) -> int:
        """Output size ``bottom_width * 2 ** (number of upsampling blocks)``."""
        return self.bottom_width * 2 ** sum(bool(u) for u in self.upsample)


@dataclass(frozen=True)
class ResNetDiscriminatorArch:
    """One row of the ResNet discriminator table.

    Attributes:
        channels: output channels of each block (first block included).
        downsample: per block, whether it halves the spatial size.
        head_bias: bias of the final linear layer (the official 32 px D has none).
        first_block: ``"optimized"`` (official :class:`OptimizedDBlock`, no activation on the
            image) or ``"standard"`` (a :class:`DBlock` that starts with an activation).
        stem: optional ``(out_channels, kernel, stride, padding)`` of a strided SN convolution
            applied to the image before the blocks (koshian2's "strided" and "light" D).
        order: ``"pre"`` (official) or ``"post"`` activation blocks.
        hidden: middle width of :class:`DBlock`, ``"in"`` (official) or ``"out"``.
        source: where the row comes from.

    Example::

        >>> RESNET_D_ARCHS["32"].channels, RESNET_D_ARCHS["32"].head_bias
        ((128, 128, 128, 128), False)
        >>> arch = ResNetDiscriminatorArch((16, 32), (True, True))
        >>> SNResNetDiscriminator(16, arch=arch)(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2])
    """

    channels: Tuple[int, ...]
    downsample: Tuple[bool, ...]
    head_bias: bool = True
    first_block: str = "optimized"
    stem: Optional[Tuple[int, int, int, int]] = None
    order: str = "pre"
    hidden: str = "in"
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.channels) != len(self.downsample) or not self.channels:
            raise ValueError(
                f"channels and downsample need one entry per block, got {len(self.channels)} and {len(self.downsample)}"
            )
        _check_choice("first_block", self.first_block, ("optimized", "standard"))
        _check_choice("order", self.order, ("pre", "post"))
        _check_choice("hidden", self.hidden, ("in", "out"))
        if self.first_block == "optimized" and not self.downsample[0]:
            raise ValueError("an optimized first block always downsamples; expected downsample[0]=True")


@dataclass(frozen=True)
class DCGANGeneratorArch:
    """One row of the DCGAN-style ("standard CNN") generator table.

    Attributes:
        bottom_width: spatial size after the stem.
        stem: ``"linear"`` (dense ``z -> b*b*C`` and reshape) or ``"deconv"`` (``z`` as a 1x1
            map into a ``b x b`` transposed convolution).
        stem_channels: channels after the stem.
        stem_norm: ``"none"`` (paper: no BN/activation after the dense), ``"bn"`` (BN2d +
            activation) or ``"bn1d"`` (BN over all ``b*b*C`` dense outputs + activation, as
            ``chainer-gan-lib``).
        channels: output channels of the 4x4 stride-2 transposed convolutions, each followed by
            BN and the activation.
        out_layer: ``(kind, kernel, stride, padding)`` of the output layer, kind ``"conv"`` or
            ``"deconv"``; followed by tanh.
        bias: biases on the convolutions and the dense layer.
        source: where the row comes from.

    Example::

        >>> DCGAN_G_ARCHS["paper-48"].resolution
        48
    """

    bottom_width: int
    stem: str
    stem_channels: int
    stem_norm: str
    channels: Tuple[int, ...]
    out_layer: Tuple[str, int, int, int]
    bias: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        _check_choice("stem", self.stem, ("linear", "deconv"))
        _check_choice("stem_norm", self.stem_norm, ("none", "bn", "bn1d"))
        _check_choice("out_layer kind", self.out_layer[0], ("conv", "deconv"))

    @property
    def resolution(self) -> int:
        """Output size of the design."""
        kind, k, s, p = self.out_layer
        size = self.bottom_width * 2 ** len(self.channels)
        return (size - 1) * s - 2 * p + k if kind == "deconv" else (size + 2 * p - k) // s + 1


@dataclass(frozen=True)
class DCGANDiscriminatorArch:
    """One row of the DCGAN-style ("standard CNN") discriminator table.

    Attributes:
        layers: ``(out_channels, kernel, stride, padding, batch_norm)`` per SN convolution, each
            followed by (BN and) the LeakyReLU.
        negative_slope: LeakyReLU slope (0.1 in the SNGAN paper).
        resolutions: input sizes the design was published for.
        head: ``"flatten"`` (flatten, dense) or ``"sum"`` (global sum pooling, dense).
        head_bias: bias of the final dense layer.
        bias: biases on the convolutions.
        source: where the row comes from.

    Example::

        >>> [layer[0] for layer in DCGAN_D_ARCHS["paper"].layers]
        [64, 64, 128, 128, 256, 256, 512]
    """

    layers: Tuple[Tuple[int, int, int, int, bool], ...]
    negative_slope: float
    resolutions: Tuple[int, ...]
    head: str = "flatten"
    head_bias: bool = True
    bias: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        _check_choice("head", self.head, ("flatten", "sum"))


_UP3 = (True, True, True)
_RG, _RD, _DG, _DD = ResNetGeneratorArch, ResNetDiscriminatorArch, DCGANGeneratorArch, DCGANDiscriminatorArch
#: ResNet generators. Keys are resolutions (the default design) or named variants.
RESNET_G_ARCHS: Dict[str, ResNetGeneratorArch] = {
    "32": _RG(4, (256, 256, 256, 256), _UP3, "CH gen_models/resnet_32.py (ch=256)"),
    "48": _RG(6, (512, 256, 128, 64), _UP3, "SNGAN paper Table 5 / MI nets/sngan/sngan_48.py"),
    "64": _RG(4, (1024, 512, 256, 128, 64), (True,) * 4, "CH gen_models/resnet_64.py (ch=64)"),
    "96": _RG(3, (1024, 1024, 512, 256, 128, 64), (True,) * 5, "K2 models/resnet_size96.py (128 design, dense 3x3)"),
    "128": _RG(4, (1024, 1024, 512, 256, 128, 64), (True,) * 5, "CH gen_models/resnet.py (ch=64)"),
    "256": _RG(4, (512, 512, 256, 256, 128, 64, 32), (True,) * 6, "CH gen_models/resnet_256 (ch=32)"),
    "128-small": _RG(4, (512, 512, 256, 256, 128, 64), (True,) * 5, "CH gen_models/resnet_small.py (dog & cat 128)"),
    "48-postact": _RG(
        3, (512, 512, 512, 256, 256, 128, 128, 64), (True, False, True, False, True, False, True),
        "K2 post-activation G (use with block_order='post', final_bn=False)",
    ),
}

#: ResNet discriminators. Keys are resolutions (the default design) or named variants.
RESNET_D_ARCHS: Dict[str, ResNetDiscriminatorArch] = {
    "32": _RD((128, 128, 128, 128), (True, True, False, False), False, source="CH dis_models/snresnet_32.py (ch=128)"),
    "48": _RD((64, 128, 256, 512, 1024), (True, True, True, True, False), True, source="SNGAN paper Table 5 / MI sngan_48.py"),
    "64": _RD((64, 128, 256, 512, 1024), (True,) * 5, True, source="CH dis_models/snresnet_64.py (ch=64)"),
    "96": _RD((64, 128, 256, 512, 1024, 1024), (True,) * 5 + (False,), True, source="the 128 px design at 96 px (K2)"),
    "128": _RD((64, 128, 256, 512, 1024, 1024), (True,) * 5 + (False,), True, source="CH dis_models/snresnet.py (ch=64)"),
    "256": _RD((32, 64, 128, 256, 256, 512, 512), (True,) * 6 + (False,), True, source="CH dis_models/snresnet_256.py (ch=32)"),
    "128-small": _RD((64, 128, 256, 256, 512, 512), (True,) * 5 + (False,), True, source="CH snresnet_small (dog & cat 128)"),
    "48-strided": _RD(
        (64, 128, 256, 512), (True, True, True, False), True, "standard", (32, 4, 2, 0), "pre", "out",
        "K2 strided D: SN conv4x4 s2 p0 3->32, then blocks",
    ),
    "96-light": _RD(
        (64, 128, 256, 512, 1024), (True, True, True, True, False), True, "standard", (32, 4, 2, 1), "pre", "out",
        "K2 'light' D: SN conv4x4 s2 p1 3->32, then blocks",
    ),
    "48-postact": _RD(
        (16, 16, 32, 32, 64, 64, 128, 128), (True, False) * 4, True, "standard", None, "post", "out",
        "K2 post-activation ResNet D, initial width 16 (x1,1,2,2,4,4,8,8), pooling at block inputs",
    ),
}

_PAPER_D = ((64, 3, 1, 1, False), (64, 4, 2, 1, False), (128, 3, 1, 1, False), (128, 4, 2, 1, False),
            (256, 3, 1, 1, False), (256, 4, 2, 1, False), (512, 3, 1, 1, False))
_CGL_D = ((64, 3, 1, 1, False), (128, 4, 2, 1, False), (128, 3, 1, 1, False), (256, 4, 2, 1, False),
          (256, 3, 1, 1, False), (512, 4, 2, 1, False), (512, 3, 1, 1, False))

#: DCGAN-style generators, keyed ``"<variant>-<resolution>"``.
DCGAN_G_ARCHS: Dict[str, DCGANGeneratorArch] = {
    "paper-32": _DG(4, "linear", 512, "none", (256, 128, 64), ("conv", 3, 1, 1), True, "SNGAN paper Table 3 (M_g=4)"),
    "paper-48": _DG(6, "linear", 512, "none", (256, 128, 64), ("conv", 3, 1, 1), True, "SNGAN paper Table 3 (M_g=6)"),
    "cgl-32": _DG(4, "linear", 512, "bn1d", (256, 128, 64), ("deconv", 3, 1, 1), True, "chainer-gan-lib common/net.py DCGANGenerator"),
    "cgl-48": _DG(6, "linear", 512, "bn1d", (256, 128, 64), ("deconv", 3, 1, 1), True, "chainer-gan-lib DCGANGenerator(bottom_width=6)"),
    "ck-64": _DG(4, "deconv", 512, "bn", (256, 128, 64), ("deconv", 4, 2, 1), False, "CK models/dcgan.py (DCGAN-64, no biases)"),
    "xy-32": _DG(4, "deconv", 1024, "bn", (512, 256), ("deconv", 4, 2, 1), True, "XY SimpleCNN generator"),
    "ct-32": _DG(4, "deconv", 512, "bn", (256, 128, 64), ("conv", 3, 1, 1), True, "CT model/dcgan.py (use sn=True, negative_slope=0.1)"),
}

#: DCGAN-style discriminators, keyed by variant.
DCGAN_D_ARCHS: Dict[str, DCGANDiscriminatorArch] = {
    "paper": _DD(_PAPER_D, 0.1, (32, 48), source="SNGAN paper Table 3"),
    "cgl": _DD(_CGL_D, 0.2, (32, 48), source="chainer-gan-lib common/net.py SNDCGANDiscriminator"),
    "ck": _DD(
        ((64, 4, 2, 1, False), (128, 4, 2, 1, False), (256, 4, 2, 1, False), (512, 4, 2, 1, False)), 0.2, (64,),
        head_bias=False, bias=False, source="CK models/dcgan.py (final SN conv4x4 valid = flatten + dense)",
    ),
    "xy": _DD(
        ((256, 4, 2, 1, False), (512, 4, 2, 1, True), (1024, 4, 2, 1, True)), 0.2, (32,),
        source="XY SimpleCNN discriminator (BN inside D; final conv4x4 valid = flatten + dense)",
    ),
    "small": _DD(
        ((32, 3, 2, 1, False), (32, 3, 1, 1, False), (64, 3, 2, 1, False), (64, 3, 1, 1, False),
         (128, 3, 2, 1, False), (128, 3, 1, 1, False), (256, 3, 2, 1, False), (256, 3, 1, 1, False)),
        0.1, (48,), source="K2 small CNN D (4 stages of conv3x3 s2 + conv3x3 s1)",
    ),
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _scale(c: int, width: float) -> int:
    return max(1, int(round(c * width)))


def _check_width(width: float) -> float:
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(f"width must be a positive float (channel multiplier), got {width!r}")
    return float(width)


def _check_num_classes(num_classes: int) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes must be an int >= 0 (0 = unconditional), got {num_classes!r}")
    return num_classes


def _override_channels(default: Tuple[int, ...], channels: Optional[Sequence[int]], what: str) -> Tuple[int, ...]:
    if channels is None:
        return tuple(default)
    channels = tuple(channels)
    if len(channels) != len(default):
        raise ValueError(f"{what}: channels must have {len(default)} entries (like {list(default)}), got {list(channels)}")
    for c in channels:
        _check_channels("channel width", c)
    return channels


def _lookup(table: Dict[str, object], key: str, what: str) -> object:
    if key not in table:
        raise ValueError(f"no {what} design {key!r}; expected one of {sorted(table)}")
    return table[key]


def _model_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _model_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def _disable_inner_label_checks(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (ConditionalBatchNorm2d, ProjectionHead)):
            m.check_labels = False


def _input_check_hook(module: nn.Module, args: Tuple, kwargs: Dict) -> None:
    # Runs as the first forward pre-hook, i.e. before the fused spectral-norm hook, so bad input
    # is rejected before any computation (no power iteration, no BN statistics update).
    first = args[0] if args else kwargs.get("z", kwargs.get("x"))
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if first is not None:
        module._check_inputs(first, y)  # type: ignore[operator]


def _finish_init(module: nn.Module, init: InitArg) -> None:
    """Common end of every architecture's ``__init__``: checks, init, SN warm-up, fusion."""
    _disable_inner_label_checks(module)
    _apply_init(module, init)
    module.register_forward_pre_hook(_input_check_hook, with_kwargs=True)
    fuse_spectral_norm(module)


class _RecordsConfig(nn.Module):
    """Records the constructor arguments a model was built with in ``self.init_config``.

    Every architecture subclass's ``__init__`` is wrapped so that the arguments passed explicitly
    (defaults left out) are kept; :func:`specnorm_gan.save_pretrained` writes them to
    ``config.json`` to rebuild the exact architecture.
    """

    init_config: Dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        original = cls.__dict__["__init__"]
        signature = inspect.signature(original)

        @functools.wraps(original)
        def __init__(self: nn.Module, *args: Any, **kw: Any) -> None:
            original(self, *args, **kw)
            if type(self) is cls:  # the outermost constructor records
                bound = signature.bind(self, *args, **kw).arguments
                bound.pop("self", None)
                self.__dict__["init_config"] = dict(bound)

        cls.__init__ = __init__  # type: ignore[method-assign]


class _GeneratorMixin(_RecordsConfig):
    """Input checks and sampling shared by the generators."""

    z_dim: int
    num_classes: int
    resolution: int
    out_channels: int
    z_dist: str

    def _check_inputs(self, z: Tensor, y: Optional[Tensor]) -> None:
        name = type(self).__name__
        if not isinstance(z, Tensor):
            raise TypeError(f"{name}: z must be a tensor of shape (N, {self.z_dim}), got {type(z).__name__}")
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"{name}: z must have shape (N, {self.z_dim}) (z_dim={self.z_dim}), got {tuple(z.shape)}")
        if self.num_classes == 0:
            if y is not None:
                raise ValueError(f"{name}: unconditional generator (num_classes=0) got labels y; expected y=None")
            return
        if y is None:
            raise ValueError(
                f"{name}: conditional generator (num_classes={self.num_classes}) needs labels y of shape "
                f"({z.shape[0]},) with values in [0, {self.num_classes})"
            )
        _check_labels(y, self.num_classes, z.shape[0], name, allow_soft=True)

    def sample_z(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> Tensor:
        """Draws ``n`` latent vectors (``N(0, I)``, or ``U(-1, 1)`` when ``z_dist="uniform"``) on G's device.

        Args:
            n: number of vectors.
            generator: optional random generator (on G's device).
            truncation: draw from the normal truncated at ``|z| <= truncation`` (BigGAN's truncation
                trick, :func:`specnorm_gan.truncation.truncated_normal`; normal latents only).

        Returns:
            Tensor of shape ``(n, z_dim)``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        device, dtype = _model_device(self), _model_dtype(self)
        if truncation is not None:
            if self.z_dist != "normal":
                raise ValueError(f"truncation applies to normal latents; this generator draws z_dist={self.z_dist!r}")
            from .truncation import truncated_normal

            return truncated_normal((n, self.z_dim), truncation, generator, device, dtype)
        if self.z_dist == "uniform":
            return torch.rand(n, self.z_dim, device=device, dtype=dtype, generator=generator).mul_(2).sub_(1)
        return torch.randn(n, self.z_dim, device=device, dtype=dtype, generator=generator)

    def sample(
        self, n: int, y: Optional[Tensor] = None, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None
    ) -> Tensor:
        """Generates ``n`` images with fresh latent vectors, in the current mode (train/eval).

        Runs under the caller's grad mode (wrap in ``torch.no_grad()`` for evaluation). A
        conditional generator without ``y`` uses class-balanced labels ``arange(n) % num_classes``.

        Args:
            n: number of images.
            y: class labels ``(n,)`` (conditional generators only).
            generator: optional random generator for ``z`` (on G's device).
            truncation: truncation threshold of ``z`` (see :meth:`sample_z`).

        Returns:
            Images of shape ``(n, out_channels, resolution, resolution)`` in ``[-1, 1]``.
        """
        z = self.sample_z(n, generator, truncation)
        if self.num_classes > 0 and y is None:
            y = torch.arange(n, device=z.device) % self.num_classes
        return self(z, y)


class _DiscriminatorMixin(_RecordsConfig):
    """Input checks shared by the discriminators."""

    num_classes: int
    resolution: int
    in_channels: int

    def _check_inputs(self, x: Tensor, y: Optional[Tensor]) -> None:
        name = type(self).__name__
        r, c = self.resolution, self.in_channels
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: x must be a tensor of shape (N, {c}, {r}, {r}), got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != c or x.shape[2] != r or x.shape[3] != r:
            raise ValueError(
                f"{name}: expected images of shape (N, {c}, {r}, {r}) (resolution={r}, in_channels={c}), "
                f"got {tuple(x.shape)}"
            )
        if self.num_classes == 0:
            if y is not None:
                raise ValueError(f"{name}: unconditional discriminator (num_classes=0) got labels y; expected y=None")
            return
        if y is None:
            raise ValueError(
                f"{name}: conditional discriminator (num_classes={self.num_classes}) needs labels y of shape "
                f"({x.shape[0]},) with values in [0, {self.num_classes})"
            )
        _check_labels(y, self.num_classes, x.shape[0], name)


# --------------------------------------------------------------------------------------------
# ResNet generator / discriminator
# --------------------------------------------------------------------------------------------
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
        if arch is None:
            designs = sorted(int(k) for k in RESNET_D_ARCHS if k.isdigit())
            if str(resolution) not in RESNET_D_ARCHS:
                raise ValueError(f"SNResNetDiscriminator: no design for resolution {resolution!r}; expected one of {designs}")
            spec = RESNET_D_ARCHS[str(resolution)]
        else:
            spec = arch if isinstance(arch, ResNetDiscriminatorArch) else _lookup(RESNET_D_ARCHS, arch, "ResNet discriminator")  # type: ignore[assignment]
        assert isinstance(spec, ResNetDiscriminatorArch)
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
        blocks: List[nn.Module] = []
        for i, (cout, down) in enumerate(zip(chans, spec.downsample)):
            if concat and i == concat_after:
                cin += embed_dim
            if i == 0 and first == "optimized":
                blocks.append(OptimizedDBlock(
                    cin, cout, negative_slope=negative_slope, sn=sn, fold_resampling=fold_resampling
                ))
            else:
                blocks.append(
                    DBlock(
                        cin, cout, cout if hidden == "out" else cin, downsample=down, order=spec.order,
                        negative_slope=negative_slope, sn=sn, fold_resampling=fold_resampling,
                        shortcut_after_activation=shortcut_after_activation,
                    )
                )
            size = size // 2 if down else size
            cin = cout
        if size < 1:
            raise ValueError(
                f"SNResNetDiscriminator: resolution {resolution} is too small for this design "
                f"({sum(spec.downsample)} downsamplings); expected at least {2 ** sum(spec.downsample)}"
            )
        self.blocks = nn.ModuleList(blocks)
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


# --------------------------------------------------------------------------------------------
# DCGAN-style ("standard CNN") generator / discriminator
# --------------------------------------------------------------------------------------------
class SNDCGANGenerator(_GeneratorMixin):
    r"""DCGAN-style generator: the SNGAN paper's "standard CNN" G and its port variants.

    ``paper`` (Table 3): ``z -> dense (M_g*M_g*512) -> reshape -> [deconv4x4 s2 -> BN -> ReLU] x3
    (256, 128, 64) -> conv3x3 -> tanh``, M_g = 4 (32 px) or 6 (48 px). Other variants
    (:data:`DCGAN_G_ARCHS`): ``cgl`` (chainer-gan-lib: BN over the dense outputs + ReLU, output
    deconv3x3), ``ck`` (64 px DCGAN, z as 1x1 into a 4x4 deconv, no biases), ``xy`` (SimpleCNN,
    1024-512-256), ``ct`` (z as 1x1, use with ``sn=True, negative_slope=0.1``).

    Args:
        resolution: output size (default: the variant's first design, 32 for ``paper``).
        num_classes: 0, or the number of classes (conditional BN in place of every 2-D BN).
        z_dim: latent size (128).
        variant: ``"paper"``, ``"cgl"``, ``"ck"``, ``"xy"`` or ``"ct"``.
        arch: a :class:`DCGANGeneratorArch` (overrides ``variant``/``resolution``) or a key of
            :data:`DCGAN_G_ARCHS`.
        channels: replaces the widths ``(stem, deconv 1, deconv 2, ...)``.
        width: channel multiplier applied last.
        out_channels: image channels (3).
        bn_eps: BN epsilon (2e-5 Chainer; torch's default 1e-5 for the PyTorch seeds).
        bn_momentum: BN momentum.
        negative_slope: 0 for ReLU, > 0 for LeakyReLU.
        sn: spectral normalization on every layer (ctjoy's DCGAN G).
        z_dist: ``"normal"`` or ``"uniform"`` (chainer-gan-lib) for :meth:`sample`.
        init: initialization scheme or callable (default ``"normal0.02"``, as chainer-gan-lib).

    Shape:
        - z: :math:`(N, z\_dim)`; y: :math:`(N,)` (conditional only).
        - Output: :math:`(N, C, R, R)` in ``[-1, 1]``.

    Example::

        >>> G = SNDCGANGenerator(48, width=0.125)
        >>> G(torch.randn(2, 128)).shape
        torch.Size([2, 3, 48, 48])
    """

    def __init__(
        self,
        resolution: Optional[int] = None,
        num_classes: int = 0,
        z_dim: int = 128,
        *,
        variant: str = "paper",
        arch: Optional[Union[str, DCGANGeneratorArch]] = None,
        channels: Optional[Sequence[int]] = None,
        width: float = 1.0,
        out_channels: int = 3,
        bn_eps: float = CHAINER_BN_EPS,
        bn_momentum: float = 0.1,
        negative_slope: float = 0.0,
        sn: bool = False,
        z_dist: str = "normal",
        init: InitArg = "normal0.02",
    ) -> None:
        super().__init__()
        spec = self._resolve_arch(resolution, variant, arch)
        width = _check_width(width)
        self.num_classes = _check_num_classes(num_classes)
        self.z_dim = _check_channels("z_dim", z_dim)
        self.out_channels = _check_channels("out_channels", out_channels)
        self.z_dist = _check_choice("z_dist", z_dist, ("normal", "uniform"))
        self.negative_slope = _check_slope(negative_slope)
        default = (spec.stem_channels,) + tuple(spec.channels)
        chans = tuple(_scale(c, width) for c in _override_channels(default, channels, "SNDCGANGenerator"))
        self.arch = replace(spec, stem_channels=chans[0], channels=chans[1:])
        self.resolution = spec.resolution
        self.bottom_width = b = spec.bottom_width
        bias = spec.bias
        cond = num_classes > 0

        def deconv(cin: int, cout: int, k: int, s: int, p: int) -> nn.Module:
            return SNConvTranspose2d(cin, cout, k, s, p, bias=bias) if sn else nn.ConvTranspose2d(cin, cout, k, s, p, bias=bias)

        def bn2d(c: int) -> nn.Module:
            if cond:
                return ConditionalBatchNorm2d(c, num_classes, eps=bn_eps, momentum=bn_momentum)
            return nn.BatchNorm2d(c, eps=bn_eps, momentum=bn_momentum)

        if spec.stem == "linear":
            self.stem: nn.Module = SNLinear(self.z_dim, b * b * chans[0], bias=bias) if sn else nn.Linear(
                self.z_dim, b * b * chans[0], bias=bias
            )
        else:
            self.stem = deconv(self.z_dim, chans[0], b, 1, 0)
        self.stem_norm: Optional[nn.Module] = None
        if spec.stem_norm == "bn":
            self.stem_norm = bn2d(chans[0])
        elif spec.stem_norm == "bn1d":
            # Over all b*b*C dense outputs (chainer-gan-lib); stays unconditional in a conditional G.
            self.stem_norm = nn.BatchNorm1d(b * b * chans[0], eps=bn_eps, momentum=bn_momentum)
        self.deconvs = nn.ModuleList(deconv(cin, cout, 4, 2, 1) for cin, cout in zip(chans[:-1], chans[1:]))
        self.norms = nn.ModuleList(bn2d(c) for c in chans[1:])
        kind, k, s, p = spec.out_layer
        if kind == "conv":
            self.conv_out: nn.Module = _conv(sn, chans[-1], self.out_channels, k, stride=s, padding=p, bias=bias)
        else:
            self.conv_out = deconv(chans[-1], self.out_channels, k, s, p)
        _finish_init(self, init)

    @staticmethod
    def _resolve_arch(
        resolution: Optional[int], variant: str, arch: Optional[Union[str, DCGANGeneratorArch]]
    ) -> DCGANGeneratorArch:
        if isinstance(arch, DCGANGeneratorArch):
            spec = arch
        elif arch is not None:
            spec = _lookup(DCGAN_G_ARCHS, arch, "DCGAN generator")  # type: ignore[assignment]
        else:
            variants = sorted({k.split("-")[0] for k in DCGAN_G_ARCHS})
            _check_choice("variant", variant, variants)
            designs = sorted(int(k.split("-")[1]) for k in DCGAN_G_ARCHS if k.split("-")[0] == variant)
            res = designs[0] if resolution is None else resolution
            key = f"{variant}-{res}"
            if key not in DCGAN_G_ARCHS:
                raise ValueError(f"SNDCGANGenerator: variant {variant!r} has no design for resolution {res!r}; expected one of {designs}")
            spec = DCGAN_G_ARCHS[key]
        if resolution is not None and resolution != spec.resolution:
            raise ValueError(f"SNDCGANGenerator: this design produces {spec.resolution} px images; got resolution={resolution}")
        return spec

    def _norm(self, norm: nn.Module, h: Tensor, y: Optional[Tensor]) -> Tensor:
        return norm(h, y) if isinstance(norm, ConditionalBatchNorm2d) else norm(h)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        b, c0 = self.bottom_width, self.arch.stem_channels
        n = z.shape[0]
        if isinstance(self.stem, nn.Linear):
            h = self.stem(z)
            if isinstance(self.stem_norm, nn.BatchNorm1d):
                h = _activation(self.stem_norm(h), self.negative_slope)
            h = h.view(n, c0, b, b)
        else:
            h = self.stem(z.view(n, self.z_dim, 1, 1))
        if self.stem_norm is not None and not isinstance(self.stem_norm, nn.BatchNorm1d):
            h = _activation(self._norm(self.stem_norm, h, y), self.negative_slope)
        for deconv, norm in zip(self.deconvs, self.norms):
            h = _activation(self._norm(norm, deconv(h), y), self.negative_slope)
        return torch.tanh(_conv3x3_few_outputs(self.conv_out, h))

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, num_classes={self.num_classes}, z_dim={self.z_dim}"


class SNDCGANDiscriminator(_DiscriminatorMixin):
    r"""DCGAN-style discriminator with spectral normalization: the SNGAN paper's "standard CNN" D.

    ``paper`` (Table 3): SN convs ``conv3x3 64, conv4x4 s2 64, conv3x3 128, conv4x4 s2 128,
    conv3x3 256, conv4x4 s2 256, conv3x3 512``, each followed by LeakyReLU(0.1), then flatten and
    an SN dense layer (+ projection on the flattened features when conditional). Other variants
    (:data:`DCGAN_D_ARCHS`): ``cgl`` (widths 64,128,128,256,256,512,512, slope 0.2), ``ck``
    (64 px, 4x4 s2 convs, no biases), ``xy`` (SimpleCNN with BN inside D), ``small``
    (koshian2's small CNN D at 48 px).

    Args:
        resolution: input size (default: the variant's first design resolution).
        num_classes: 0, or the number of classes (projection).
        variant: a key of :data:`DCGAN_D_ARCHS`.
        arch: a :class:`DCGANDiscriminatorArch` (overrides ``variant``).
        channels: replaces the conv widths.
        width: channel multiplier applied last.
        in_channels: image channels (3).
        negative_slope: LeakyReLU slope (default the design's: 0.1 for ``paper``).
        head_sn: spectral normalization on the final dense layer (``False``: koshian2).
        bn_eps: epsilon of the BNs of designs that have them (torch default 1e-5).
        sn: spectral normalization (``False``: plain layers, for non-SN baselines).
        init: initialization scheme or callable (default ``"normal0.02"``).

    Shape:
        - x: :math:`(N, C, R, R)`; y: :math:`(N,)` (conditional only).
        - Output: :math:`(N,)` logits.

    Example::

        >>> D = SNDCGANDiscriminator(32, width=0.125)
        >>> D(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(
        self,
        resolution: Optional[int] = None,
        num_classes: int = 0,
        *,
        variant: str = "paper",
        arch: Optional[Union[str, DCGANDiscriminatorArch]] = None,
        channels: Optional[Sequence[int]] = None,
        width: float = 1.0,
        in_channels: int = 3,
        negative_slope: Optional[float] = None,
        head_sn: bool = True,
        bn_eps: float = 1e-5,
        sn: bool = True,
        init: InitArg = "normal0.02",
    ) -> None:
        super().__init__()
        if isinstance(arch, DCGANDiscriminatorArch):
            spec = arch
        else:
            spec = _lookup(DCGAN_D_ARCHS, variant if arch is None else arch, "DCGAN discriminator")  # type: ignore[assignment]
        assert isinstance(spec, DCGANDiscriminatorArch)
        res = spec.resolutions[0] if resolution is None else resolution
        if arch is None and res not in spec.resolutions:
            raise ValueError(
                f"SNDCGANDiscriminator: variant {variant!r} was designed for resolutions {list(spec.resolutions)}; got {res!r}"
            )
        width = _check_width(width)
        self.num_classes = _check_num_classes(num_classes)
        self.in_channels = _check_channels("in_channels", in_channels)
        self.resolution = _check_channels("resolution", res)
        self.negative_slope = _check_slope(spec.negative_slope if negative_slope is None else negative_slope)
        default = tuple(layer[0] for layer in spec.layers)
        chans = tuple(_scale(c, width) for c in _override_channels(default, channels, "SNDCGANDiscriminator"))
        self.arch = replace(spec, layers=tuple((c,) + tuple(layer[1:]) for c, layer in zip(chans, spec.layers)))  # type: ignore[misc]
        convs, norms = [], []
        cin, size = self.in_channels, self.resolution
        for cout, (_, k, s, p, bn) in zip(chans, spec.layers):
            convs.append(_conv(sn, cin, cout, k, stride=s, padding=p, bias=spec.bias))
            norms.append(nn.BatchNorm2d(cout, eps=bn_eps) if bn else nn.Identity())
            size = (size + 2 * p - k) // s + 1
            cin = cout
        if size < 1:
            raise ValueError(f"SNDCGANDiscriminator: resolution {res} is too small for this design")
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(norms)
        self.head_type = spec.head
        features = cin * size * size if spec.head == "flatten" else cin
        self.head = ProjectionHead(features, num_classes, bias=spec.head_bias, sn_linear=head_sn and sn)
        if not sn and self.head.embed is not None:
            self.head.embed = nn.Embedding(num_classes, features)  # type: ignore[assignment]
        _finish_init(self, init)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        h = x
        for conv, norm in zip(self.convs, self.norms):
            h = _activation(norm(conv(h)), self.negative_slope)
        h = h.flatten(1) if self.head_type == "flatten" else h.sum(dim=(2, 3))
        return self.head(h, y)

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, num_classes={self.num_classes}, channels={[layer[0] for layer in self.arch.layers]}"
