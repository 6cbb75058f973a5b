"""The design tables: one record per published architecture (:data:`RESNET_G_ARCHS`, :data:`RESNET_D_ARCHS`,
:data:`DCGAN_G_ARCHS`, :data:`DCGAN_D_ARCHS`) and the record types of their rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ..blocks.common import _check_choice


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
        >>> import torch
        >>> from specnorm_gan import SNResNetGenerator
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
        >>> import torch
        >>> from specnorm_gan import SNResNetDiscriminator
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
