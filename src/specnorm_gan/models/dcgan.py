"""The DCGAN-style ("standard CNN") generator and discriminator of the SNGAN paper and its ports."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ..blocks.common import CHAINER_BN_EPS, _activation, _check_channels, _check_choice, _check_slope, _conv
from ..blocks.conditional import ConditionalBatchNorm2d, ProjectionHead
from ..blocks.resampling import _conv3x3_few_outputs
from ..layers import SNConvTranspose2d, SNLinear
from .archs import DCGAN_D_ARCHS, DCGAN_G_ARCHS, DCGANDiscriminatorArch, DCGANGeneratorArch
from .base import _DiscriminatorMixin, _GeneratorMixin
from .common import InitArg, _check_num_classes, _check_width, _finish_init, _lookup, _override_channels, _scale


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
