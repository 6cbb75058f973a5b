"""Named presets: published SNGAN / projection-discriminator models with their training settings.

One preset per published configuration of the project reference (``architectures.md``):

* official configs of ``pfnet-research/sngan_projection`` ("CH"): ``cifar10-resnet``,
  ``cifar10-projection``, ``imagenet64-projection``, ``dogcat64-projection``,
  ``imagenet128-projection``, ``imagenet128-concat``, ``dogcat128-projection``, ``dogcat256-projection``;
* the SNGAN paper's tables: ``cifar10-cnn`` (standard CNN, hinge), ``cifar10-cnn-ns``,
  ``cifar10-cnn-a`` ... ``-f`` (optimizer settings A-F), ``stl10-cnn48``, ``stl10-resnet48``, ...;
* other published definitions: ``cifar10-cnn-cgl`` (chainer-gan-lib SN-DCGAN), torch-mimicry's
  and mmgeneration's CIFAR / ImageNet models, the 96 px designs;
* training on little data (DiffAugment, mit-han-lab/data-efficient-gans): ``cifar10-10pct-diffaugment``,
  ``cifar10-20pct-diffaugment`` (``TrainHParams.max_images``: the published training subset) and the
  100-shot image-folder presets ``100shot-64-resnet``, ``100shot-64-cnn``;
* the experiment grids of the seed repositories: ``k2-c0`` ... (koshian2/SNGAN, IDs as in the
  reference's section 5.1), ``ck-*``, ``xy-*``, ``ct-*`` (section 5.2).

:func:`build_gan` turns a preset (or ``arch``/``resolution``/``num_classes``) into a
:class:`GANSpec` holding ``G``, ``D`` and the :class:`TrainHParams` of the publication.
Presets that follow a port's code (``k2-*``, ``ck-*``, ...) use this library's blocks with that
port's topology options (hidden width, first block, plain final dense, BN epsilon, ...), and this
library's correct spectral norm (koshian2's SN never updates ``u``; that bug is not reproduced).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from torch import nn

from .augment import DIFFAUGMENT_POLICIES, parse_policy
from .biggan import BigGANDiscriminator, BigGANGenerator
from .blocks import init_weights
from .models import DCGAN_G_ARCHS, SNDCGANDiscriminator, SNDCGANGenerator, SNResNetDiscriminator, SNResNetGenerator

__all__ = ["TrainHParams", "Preset", "GANSpec", "build_gan", "list_presets", "get_preset", "PRESETS"]


@dataclass
class TrainHParams:
    """Training hyperparameters of a preset (as published; see :func:`get_preset` for the source).

    Attributes:
        n_dis: discriminator steps per generator step.
        lr_g, lr_d: learning rates.
        betas_g, betas_d: Adam betas (ignored by other optimizers).
        batch_size: batch of real (and of fake) images per D step.
        g_batch_size: batch of fakes per G step (the official 32/128 px configs use 2x).
        iterations: number of generator updates.
        lr_decay: ``"linear"`` (to 0 at ``iterations``, starting at ``decay_start``) or ``"none"``.
        decay_start: generator update at which the linear decay starts.
        loss: a name for :func:`specnorm_gan.losses.get_loss`.
        loss_kwargs: options of the loss (e.g. ``{"real_target": 0.9}``).
        z_dim: latent size.
        z_dist: latent distribution, ``"normal"`` or ``"uniform"``.
        optimizer_g, optimizer_d: ``"adam"``, ``"rmsprop"`` or ``"sgd"``.
        momentum_d: SGD momentum of the discriminator optimizer (``optimizer_d="sgd"``).
        gp_weight: weight of :func:`specnorm_gan.losses.gradient_penalty` (0 = none).
        r1_weight: factor multiplying :func:`specnorm_gan.losses.r1_penalty` (``gamma / 2``; 0 = none).
        weight_clip: clip D weights to ``[-c, c]`` after each D step (WGAN); ``None`` = no clipping.
        update_order: ``"g_first"`` (official: each iteration starts with the G step, then
            ``n_dis`` D steps) or ``"d_first"`` (``n_dis`` D steps, then the G step).
        ema_decay: decay of the EMA of G (used when the run keeps one, ``TrainConfig(ema=True)``).
        ema_start: G updates before which the EMA copies G.
        ortho_weight: weight of BigGAN's orthogonal regularization of G (0 = none).
        diffaugment: DiffAugment policy applied to D's real and fake inputs, comma-separated names of
            :data:`specnorm_gan.augment.DIFFAUGMENT_POLICIES` (e.g. ``"translation,cutout"``); ``""`` = none.
        ada_target: adaptive augmentation (:class:`specnorm_gan.augment.AdaptiveAugment`) with this target
            of ``E[sign(D(x_real))]``, in ``[0, 1]``; ``None`` = off. Not together with ``diffaugment``.
        max_images: size of the training subset the configuration was published with (e.g. 5000 = 10%
            of CIFAR-10; ``examples/train.py`` draws it seeded, as ``--max-images``); ``None`` = all images.
        preset: name of the preset these values come from.

    Example::

        >>> hp = get_preset("imagenet128-projection").hparams
        >>> hp.iterations, hp.decay_start, hp.betas_d
        (450000, 400000, (0.0, 0.9))
    """

    n_dis: int = 5
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas_g: Tuple[float, float] = (0.0, 0.9)
    betas_d: Tuple[float, float] = (0.0, 0.9)
    batch_size: int = 64
    g_batch_size: int = 128
    iterations: int = 50_000
    lr_decay: str = "linear"
    decay_start: int = 0
    loss: str = "hinge"
    loss_kwargs: Dict[str, Any] = field(default_factory=dict)
    z_dim: int = 128
    z_dist: str = "normal"
    optimizer_g: str = "adam"
    optimizer_d: str = "adam"
    momentum_d: float = 0.0
    gp_weight: float = 0.0
    r1_weight: float = 0.0
    weight_clip: Optional[float] = None
    update_order: str = "g_first"
    ema_decay: float = 0.9999
    ema_start: int = 0
    ortho_weight: float = 0.0
    diffaugment: str = ""
    ada_target: Optional[float] = None
    max_images: Optional[int] = None
    preset: str = ""

    def __post_init__(self) -> None:
        """Checks the small-data fields (a wrong policy fails here, when the preset or override is made)."""
        if not isinstance(self.diffaugment, str):
            raise TypeError(f"diffaugment must be a comma-separated policy string such as 'translation,cutout', "
                            f"got {self.diffaugment!r}")
        if self.diffaugment:
            parse_policy(self.diffaugment, DIFFAUGMENT_POLICIES, "DiffAugment policy")
        if self.ada_target is not None:
            ok = isinstance(self.ada_target, (int, float)) and not isinstance(self.ada_target, bool)
            if not (ok and 0.0 <= self.ada_target <= 1.0):
                raise ValueError(f"ada_target must be a probability in [0, 1] or None, got {self.ada_target!r}")
            if self.diffaugment:
                raise ValueError(f"diffaugment={self.diffaugment!r} and ada_target={self.ada_target!r} both augment D's "
                                 "inputs; expected one of them")
        m = self.max_images
        if m is not None and not (isinstance(m, int) and not isinstance(m, bool) and m >= 1):
            raise ValueError(f"max_images must be an int >= 1 or None, got {m!r}")


@dataclass(frozen=True)
class Preset:
    """A named model + training configuration.

    Attributes:
        name: preset name (``build_gan(name)``).
        description: what it is.
        source: repository/config/paper it comes from, and the reference-file row.
        dataset: dataset the configuration was published for.
        generator: ``"resnet"`` (:class:`SNResNetGenerator`) or ``"cnn"`` (:class:`SNDCGANGenerator`).
        discriminator: ``"resnet"`` (:class:`SNResNetDiscriminator`) or ``"cnn"`` (:class:`SNDCGANDiscriminator`).
        resolution: image size.
        num_classes: 0 (unconditional) or the number of classes.
        in_channels: image channels.
        g_kwargs, d_kwargs: extra constructor arguments of G and D.
        hparams: training hyperparameters.

    Example::

        >>> p = get_preset("k2-sr4")
        >>> p.dataset, p.resolution, p.d_kwargs["last_width"]
        ('stl10', 48, 1024)
    """

    name: str
    description: str
    source: str
    dataset: str
    generator: str
    discriminator: str
    resolution: int
    num_classes: int
    hparams: TrainHParams
    g_kwargs: Mapping[str, Any] = field(default_factory=dict)
    d_kwargs: Mapping[str, Any] = field(default_factory=dict)
    in_channels: int = 3


@dataclass
class GANSpec:
    """What :func:`build_gan` returns.

    Attributes:
        G: the generator.
        D: the discriminator.
        hparams: the training hyperparameters (:class:`TrainHParams`).
        preset: the :class:`Preset` record the models and hyperparameters come from.

    Example::

        >>> spec = build_gan(arch="resnet", resolution=32, num_classes=10, width=0.125)
        >>> spec.preset.name, spec.G.num_classes, spec.D.num_classes
        ('cifar10-projection', 10, 10)
    """

    G: nn.Module
    D: nn.Module
    hparams: TrainHParams
    preset: Preset


_GENERATORS = {"resnet": SNResNetGenerator, "cnn": SNDCGANGenerator, "biggan": BigGANGenerator}
_DISCRIMINATORS = {"resnet": SNResNetDiscriminator, "cnn": SNDCGANDiscriminator, "biggan": BigGANDiscriminator}

PRESETS: Dict[str, Preset] = {}


def _add(
    name: str,
    description: str,
    source: str,
    dataset: str,
    arch: str,
    resolution: int,
    num_classes: int,
    hparams: TrainHParams,
    g: Optional[Dict[str, Any]] = None,
    d: Optional[Dict[str, Any]] = None,
    *,
    d_arch: Optional[str] = None,
    in_channels: int = 3,
) -> None:
    if name in PRESETS:
        raise RuntimeError(f"duplicate preset {name}")
    PRESETS[name] = Preset(
        name=name, description=description, source=source, dataset=dataset, generator=arch,
        discriminator=d_arch or arch, resolution=resolution, num_classes=num_classes,
        hparams=replace(hparams, preset=name), g_kwargs=dict(g or {}), d_kwargs=dict(d or {}), in_channels=in_channels,
    )


# --------------------------------------------------------------------------------------------
# Official configs (CH configs/*.yml) and the papers' tables
# --------------------------------------------------------------------------------------------
_CH_CIFAR = TrainHParams(batch_size=64, g_batch_size=128, iterations=50_000, decay_start=0)
_add("cifar10-resnet", "ResNet SNGAN, CIFAR-10 32 px, unconditional (official config)",
     "CH configs/sn_cifar10_unconditional.yml; resnet_32 ch256 / snresnet_32 ch128 (ref 2.2, 3.2)",
     "cifar10", "resnet", 32, 0, _CH_CIFAR)
_add("cifar10-projection", "ResNet SNGAN with cBN + projection D, CIFAR-10 32 px, 10 classes (official config)",
     "CH configs/sn_cifar10.yml (conditional) (ref 2.2, 3.2)", "cifar10", "resnet", 32, 10, _CH_CIFAR)
_add("cifar100-projection", "ResNet SNGAN with cBN + projection D, CIFAR-100 32 px, 100 classes (CIFAR config)",
     "CH 32 px models with 100 classes (ref 2.3 row 'ResNet 32, 100 classes'); hyperparameters of sn_cifar10.yml",
     "cifar100", "resnet", 32, 100, _CH_CIFAR)

_PAPER_RESNET = TrainHParams(batch_size=64, g_batch_size=128, iterations=100_000, decay_start=0)
_add("stl10-resnet48", "ResNet SNGAN, STL-10 48 px, unconditional (paper Table 5 widths, D last width 1024)",
     "SNGAN paper ResNet STL-10 (Adam 2e-4, 0, 0.9, n_dis 5, hinge, 100K); widths MI sngan_48.py (ref 2.2, 3.1); "
     "G batch 2x and linear decay as the official CIFAR config (not pinned by the paper)",
     "stl10", "resnet", 48, 0, _PAPER_RESNET)
_add("stl10-projection48", "ResNet SNGAN with cBN + projection D, STL-10 48 px, 10 classes",
     "ref 2.3 row 'ResNet 48, 10 classes'; hyperparameters as stl10-resnet48", "stl10", "resnet", 48, 10, _PAPER_RESNET)
_add("stl10-resnet48-d512", "ResNet SNGAN, STL-10 48 px, D last width 512",
     "ref 2.3 row 'ResNet 48, D last width 512'", "stl10", "resnet", 48, 0, _PAPER_RESNET, d={"last_width": 512})
_add("stl10-projection48-d512", "ResNet SNGAN with projection D, STL-10 48 px, 10 classes, D last width 512",
     "ref 2.3 row 'ResNet 48, D last width 512 (10 cls)'", "stl10", "resnet", 48, 10, _PAPER_RESNET, d={"last_width": 512})

_CH_64 = TrainHParams(batch_size=64, g_batch_size=64, iterations=250_000, decay_start=200_000)
_add("imagenet64-projection", "ResNet SNGAN-projection, ImageNet 64 px, 1000 classes (official config)",
     "CH configs/sn_projection_64.yml; resnet_64 / snresnet_64 ch64 (ref 2.2, 3.2)", "imagenet", "resnet", 64, 1000, _CH_64)
_add("dogcat64-projection", "ResNet SNGAN-projection, ImageNet dogs & cats 64 px, 143 classes (official config)",
     "CH configs/sn_projection_dog_and_cat_64.yml (ref 3.2)", "imagenet-dogcat", "resnet", 64, 143, _CH_64)
_add("celeba64-resnet", "ResNet SNGAN, 64 px, unconditional (torch-mimicry CelebA-64 settings)",
     "CH resnet_64 / snresnet_64 widths (ref 2.3 'ResNet 64, uncond'); MI training: batch 64, n_dis 5, 100K, linear decay",
     "celeba", "resnet", 64, 0,
     TrainHParams(batch_size=64, g_batch_size=64, iterations=100_000, decay_start=0, update_order="d_first"))

_CH_128 = TrainHParams(batch_size=64, g_batch_size=128, iterations=450_000, decay_start=400_000)
_add("imagenet128-projection", "ResNet SNGAN-projection, ImageNet 128 px, 1000 classes (official config)",
     "CH configs/sn_projection.yml; resnet ch64 / snresnet ch64; batch 16 (G 32) per GPU x 4 GPUs (ref 2.2, 3.2)",
     "imagenet", "resnet", 128, 1000, _CH_128)
_add("imagenet128-concat", "ResNet SNGAN with the concat discriminator (SNGAN paper ImageNet cGAN), 128 px, 1000 classes",
     "CH configs/sn_concat.yml; SNResNetConcatDiscriminator, embedding 128 concatenated after block 3 (ref 2.2, 3.2)",
     "imagenet", "resnet", 128, 1000, _CH_128, d={"conditioning": "concat", "concat_embed_dim": 128, "concat_after": 3})
_add("imagenet128-resnet", "ResNet SNGAN, ImageNet 128 px, unconditional (torch-mimicry settings)",
     "CH resnet / snresnet widths (ref 2.3 'ResNet 128, uncond'); MI: batch 64, n_dis 5, 450K, no decay",
     "imagenet", "resnet", 128, 0,
     TrainHParams(batch_size=64, g_batch_size=64, iterations=450_000, lr_decay="none", update_order="d_first"))
_add("dogcat128-projection", "ResNet SNGAN-projection 'small', ImageNet dogs & cats 128 px, 143 classes (official config)",
     "CH configs/sn_projection_dog_and_cat.yml; resnet_small / snresnet_small (ref 2.2, 3.2)",
     "imagenet-dogcat", "resnet", 128, 143,
     TrainHParams(batch_size=16, g_batch_size=32, iterations=450_000, decay_start=400_000),
     g={"arch": "128-small"}, d={"arch": "128-small"})
_add("dogcat256-projection", "ResNet SNGAN-projection, ImageNet dogs & cats 256 px, 143 classes (official config)",
     "CH configs/sn_projection_dog_and_cat_256.yml; resnet_256 / snresnet_256 ch32 (ref 2.2, 3.2)",
     "imagenet-dogcat", "resnet", 256, 143,
     TrainHParams(batch_size=8, g_batch_size=16, iterations=450_000, decay_start=400_000))


def _k2_iterations(n_images: int, epochs: int, n_dis: int, batch: int = 64) -> int:
    """G updates of a koshian2 run: a G step on every ``n_dis``-th batch of every epoch."""
    batches = math.ceil(n_images / batch)
    return epochs * math.ceil(batches / n_dis)


_K2_96 = dict(batch_size=64, g_batch_size=64, betas_g=(0.5, 0.9), betas_d=(0.5, 0.9), lr_decay="none")
_add("animeface96-resnet", "ResNet SNGAN at 96 px (128 px design, dense 3x3x1024), AnimeFace, unconditional",
     "G K2 models/resnet_size96.py, D the official 128 px design (ref 2.2 '96', 2.3); training as K-A0",
     "animeface", "resnet", 96, 0, TrainHParams(iterations=_k2_iterations(14_490, 1301, 5), **_K2_96))  # type: ignore[arg-type]
_add("animeface96-projection", "ResNet SNGAN-projection at 96 px, AnimeFace, 176 classes",
     "ref 2.3 'ResNet 96, 176 cls'; training as K-A1", "animeface", "resnet", 96, 176,
     TrainHParams(iterations=_k2_iterations(14_490, 1301, 5), **_K2_96))  # type: ignore[arg-type]
_add("flowers96-resnet", "ResNet SNGAN at 96 px, Oxford Flowers, unconditional",
     "ref 2.2 '96'; training as K-F0 (1901 epochs)", "flowers102", "resnet", 96, 0,
     TrainHParams(iterations=_k2_iterations(8_189, 1901, 5), **_K2_96))  # type: ignore[arg-type]
_add("flowers96-projection", "ResNet SNGAN-projection at 96 px, Oxford Flowers, 102 classes",
     "ref 2.3 'ResNet 96, 102 cls'; training as K-F1", "flowers102", "resnet", 96, 102,
     TrainHParams(iterations=_k2_iterations(8_189, 1901, 5), **_K2_96))  # type: ignore[arg-type]

# Standard CNN (SNGAN paper Table 3). The paper reports the best of settings A-F; setting C
# (Adam 2e-4, 0.5, 0.999, n_dis 1) is chainer-gan-lib's SN-DCGAN command line (IS 7.41-7.5).
_SETTINGS = {
    "a": (1e-4, (0.5, 0.9), 5),
    "b": (1e-4, (0.5, 0.999), 1),
    "c": (2e-4, (0.5, 0.999), 1),
    "d": (1e-3, (0.5, 0.9), 5),
    "e": (1e-3, (0.5, 0.999), 5),
    "f": (1e-3, (0.9, 0.999), 5),
}


def _setting(key: str, **kw: Any) -> TrainHParams:
    lr, betas, n_dis = _SETTINGS[key]
    base = dict(n_dis=n_dis, lr_g=lr, lr_d=lr, betas_g=betas, betas_d=betas, batch_size=64, g_batch_size=64,
                iterations=100_000, lr_decay="none")
    base.update(kw)
    return TrainHParams(**base)  # type: ignore[arg-type]


_add("cifar10-cnn", "Standard CNN SN-GAN (paper Table 3), CIFAR-10 32 px, hinge loss",
     "SNGAN paper Table 3 + hinge row of Table 2 (IS 7.58, FID 25.5); setting C, 100K (ref 2.1, 3.1, 4)",
     "cifar10", "cnn", 32, 0, _setting("c"))
_add("cifar10-cnn-ns", "Standard CNN SN-GAN, CIFAR-10 32 px, non-saturating (standard) loss",
     "SNGAN paper Table 2 NS-loss row (IS 7.42, FID 29.3); setting C, 100K (ref 2.1, 4)",
     "cifar10", "cnn", 32, 0, _setting("c", loss="bce"))
for _key in "abcdef":
    _add(f"cifar10-cnn-{_key}", f"Standard CNN SN-GAN, CIFAR-10 32 px, optimizer setting {_key.upper()} of the paper's sweep",
         "SNGAN paper settings A-F (ref 3.1, [paper, recalled]); standard (non-saturating) loss, 100K",
         "cifar10", "cnn", 32, 0, _setting(_key, loss="bce"))
_add("stl10-cnn48", "Standard CNN SN-GAN (M_g=6), STL-10 48 px, hinge loss, 2x updates",
     "SNGAN paper STL-10 '2x updates' row (IS 8.79, FID 43.2): 200K G updates (ref 2.1, 4)",
     "stl10", "cnn", 48, 0, _setting("c", iterations=200_000))
_add("cifar10-cnn-cgl", "chainer-gan-lib SN-DCGAN (PFN): BN after the dense, widths 64-512, LeakyReLU 0.2, z ~ U(-1, 1)",
     "pfnet-research/chainer-gan-lib common/net.py + example.sh (stdgan, n_dis 1, Adam 2e-4, 0.5, 0.999) (ref 2.1)",
     "cifar10", "cnn", 32, 0, _setting("c", loss="bce", z_dist="uniform"),
     g={"variant": "cgl", "z_dist": "uniform"}, d={"variant": "cgl"})
_add("stl10-cnn48-cgl", "chainer-gan-lib SN-DCGAN at 48 px", "chainer-gan-lib with bottom_width 6 (ref 2.1 counts)",
     "stl10", "cnn", 48, 0, _setting("c", loss="bce", z_dist="uniform"),
     g={"variant": "cgl", "z_dist": "uniform"}, d={"variant": "cgl"})

# Ports of the official models with their own choices (options of this library).
_MI = TrainHParams(batch_size=64, g_batch_size=64, iterations=100_000, decay_start=0, update_order="d_first")
_MI_G = {"upsample_mode": "bilinear", "bn_eps": 1e-5}
_add("cifar10-resnet-mimicry", "torch-mimicry SNGAN, CIFAR-10 32 px (bilinear upsampling, BN eps 1e-5, D head bias)",
     "kwotsin/mimicry nets/sngan/sngan_32.py, training/trainer.py (ref 1 'How the ports differ', 3.2, 4: FID 16.77)",
     "cifar10", "resnet", 32, 0, _MI, g=_MI_G, d={"head_bias": True})
_add("cifar10-projection-mimicry", "torch-mimicry cGAN-PD, CIFAR-10 32 px, 10 classes",
     "kwotsin/mimicry nets/cgan_pd/cgan_pd_32.py (ref 1, 4: FID 10.84)", "cifar10", "resnet", 32, 10, _MI,
     g=_MI_G, d={"head_bias": True})
_MM_G = {"bn_eps": 1e-4, "init": "orthogonal"}
_MM_D = {"hidden": "out", "head_bias": True, "init": "orthogonal"}
_add("mmgen-cifar10-projection", "mmgeneration SNGAN-Proj, CIFAR-10 32 px (hidden = out, BN eps 1e-4, orthogonal init)",
     "mmgen configs/sngan_proj (seed 002): Adam 2e-4 (0.5, 0.999), n_disc 5, batch 64, 500K D iterations (ref 1, 3.2, 4)",
     "cifar10", "resnet", 32, 10,
     TrainHParams(betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=64, g_batch_size=64, iterations=100_000,
                  lr_decay="none", update_order="d_first"),
     g=_MM_G, d=_MM_D)
_add("mmgen-imagenet128-projection", "mmgeneration SNGAN-Proj, ImageNet 128 px (hidden = out, BN eps 1e-4, orthogonal init)",
     "mmgen configs/sngan_proj (seed 002): G lr 2e-4, D lr 5e-5, (0, 0.999), batch 128 x 2 GPUs, 2.5M D iterations (ref 3.2, 4)",
     "imagenet", "resnet", 128, 1000,
     TrainHParams(lr_d=5e-5, betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), batch_size=256, g_batch_size=256,
                  iterations=500_000, lr_decay="none", update_order="d_first"),
     g=_MM_G, d=_MM_D)

# torch-mimicry's published architectures, quirks included (targets of specnorm_gan.convert):
# bilinear upsampling, BN eps 1e-5, a D head with bias, and D blocks whose shortcut reads ReLU(x).
_MI_D = {"head_bias": True, "shortcut_after_activation": True}
for _res, _data in ((32, "cifar10"), (48, "stl10"), (64, "celeba"), (128, "imagenet")):
    _add(f"mimicry-sngan-{_res}", f"torch-mimicry SNGAN {_res} px as published (quirks included, for converted checkpoints)",
         f"kwotsin/mimicry nets/sngan/sngan_{_res}.py, modules/resblocks.py", _data, "resnet", _res, 0, _MI,
         g=_MI_G, d=_MI_D)
for _res, _data, _k in ((32, "cifar10", 10), (128, "imagenet", 1000)):
    _add(f"mimicry-cgan-pd-{_res}", f"torch-mimicry cGAN-PD {_res} px as published (quirks included, for converted checkpoints)",
         f"kwotsin/mimicry nets/cgan_pd/cgan_pd_{_res}.py, modules/resblocks.py", _data, "resnet", _res, _k, _MI,
         g=_MI_G, d=_MI_D)

# PyTorch-StudioGAN's ResNet SNGAN at 32 px as published (targets of specnorm_gan.convert):
# src/models/resnet.py with g_conv_dim = d_conv_dim = 64 (src/config.py), src/utils/ops.py: BN eps 1e-4,
# cBN gamma = 1 + embedding, D hidden = out, head with bias, and in-place ReLUs that make the
# DiscBlock shortcut read ReLU(x). Training: src/config.py defaults (Adam 2e-4, 0.5, 0.999, 5 D steps
# first, batch 64, 100K steps, orthogonal init).
_SG = TrainHParams(betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=64, g_batch_size=64, iterations=100_000,
                   lr_decay="none", update_order="d_first")
_SG_G = {"bn_eps": 1e-4, "init": "orthogonal"}
_SG_D = {"hidden": "out", "head_bias": True, "shortcut_after_activation": True, "init": "orthogonal"}
_add("studiogan-sngan-32", "PyTorch-StudioGAN ResNet SNGAN, 32 px, unconditional (quirks included, for converted checkpoints)",
     "POSTECH-CVLab/PyTorch-StudioGAN src/models/resnet.py, src/utils/ops.py, src/config.py", "cifar10", "resnet", 32, 0,
     _SG, g=_SG_G, d=_SG_D)
_add("studiogan-projection-32", "PyTorch-StudioGAN ResNet SNGAN with cBN + projection D (configs/CIFAR10/SNGAN.yaml), 32 px",
     "POSTECH-CVLab/PyTorch-StudioGAN src/configs/CIFAR10/SNGAN.yaml (g_cond_mtd cBN, d_cond_mtd PD), src/models/resnet.py",
     "cifar10", "resnet", 32, 10, _SG, g=_SG_G, d=_SG_D)

# mmgeneration / mmagic SNGAN and SNGAN-Proj as published (targets of specnorm_gan.convert): configs/sngan_proj
# come "woReLUinplace" (the presets above) and "wReLUinplace", whose in-place ReLU makes the
# SNGANDiscResBlock shortcut read ReLU(x) (D only); unconditional SNGAN uses plain affine BN (use_cbn=False).
for _data in ("cifar10", "imagenet128"):
    _base = PRESETS[f"mmgen-{_data}-projection"]
    for _family, _k in (("projection", _base.num_classes), ("sngan", 0)):
        for _inplace in (False, True):
            _name = f"mmgen-{_data}-{_family}" + ("-inplace" if _inplace else "")
            if _name in PRESETS:
                continue
            _add(_name, f"mmgeneration {'SNGAN-Proj' if _k else 'SNGAN'} {_base.resolution} px as published"
                        f"{' (wReLUinplace: D shortcuts read ReLU(x))' if _inplace else ' (woReLUinplace)'}",
                 "open-mmlab/mmgeneration mmgen/models/architectures/sngan_proj/{generator_discriminator,modules}.py, "
                 f"configs/sngan_proj/*_{'w' if _inplace else 'wo'}ReLUinplace_*", _base.dataset, "resnet",
                 _base.resolution, _k, _base.hparams, g=dict(_base.g_kwargs),
                 d=dict(_base.d_kwargs, **({"shortcut_after_activation": True} if _inplace else {})))

# --------------------------------------------------------------------------------------------
# koshian2/SNGAN (seed 000) experiment grid, reference section 5.1
# --------------------------------------------------------------------------------------------
_K2_SRC = "koshian2/SNGAN (seed 000), reference section 5.1 row "
_CIFAR, _STL = 50_000, 13_000


def _k2_hp(loss: str, n_dis: int, betas: Tuple[float, float], n_images: int, epochs: int, lr_d: float = 2e-4) -> TrainHParams:
    return TrainHParams(
        n_dis=n_dis, lr_g=2e-4, lr_d=lr_d, betas_g=betas, betas_d=betas, batch_size=64, g_batch_size=64,
        iterations=_k2_iterations(n_images, epochs, n_dis), lr_decay="none", loss=loss,
    )


def _k2_g(cond: bool, **kw: Any) -> Dict[str, Any]:
    # koshian2's G: conditional BN everywhere, including the final pre-output BN, eps 1e-4.
    g: Dict[str, Any] = {"bn_eps": 1e-4}
    if cond:
        g["conditional_final_bn"] = True
    g.update(kw)
    return g


_K2_RESNET_D = {"first_block": "standard", "hidden": "out", "head_bias": True, "head_sn": False}
_K2_CNN_G = {"bn_eps": 1e-4}
_POSTACT_G = {"arch": "48-postact", "block_order": "post", "final_bn": False, "bn_eps": 1e-4}

for _i, (_loss, _cond) in enumerate([("bce", False), ("hinge", False), ("bce", True), ("hinge", True)]):
    _add(f"k2-c{_i}", f"K-C{_i}: standard CNN, CIFAR-10 32 px, {_loss}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-C{_i}", "cifar10", "cnn", 32, 10 if _cond else 0,
         _k2_hp(_loss, 5, (0.0, 0.9), _CIFAR, 321), g=_K2_CNN_G, d={"head_sn": False})
for _i, (_loss, _cond) in enumerate([("bce", False), ("hinge", False), ("bce", True), ("hinge", True)]):
    _add(f"k2-r{_i}", f"K-R{_i}: ResNet-32, CIFAR-10, {_loss}, {'conditional' if _cond else 'unconditional'}, beta1 0.5",
         _K2_SRC + f"K-R{_i}", "cifar10", "resnet", 32, 10 if _cond else 0,
         _k2_hp(_loss, 5, (0.5, 0.9), _CIFAR, 321), g=_k2_g(_cond), d=_K2_RESNET_D)
for _i, (_beta1, _cond) in enumerate([(0.5, False), (0.0, False), (0.5, True), (0.0, True)]):
    _add(f"k2-s{_i}", f"K-S{_i}: standard CNN (M_g=6), STL-10 48 px, hinge, beta1 {_beta1}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-S{_i}", "stl10", "cnn", 48, 10 if _cond else 0,
         _k2_hp("hinge", 5, (_beta1, 0.9), _STL, 1301), g=_K2_CNN_G, d={"head_sn": False})
for _i in range(8):
    _cond, _n_dis, _last = _i % 2 == 1, (5, 5, 1, 1)[_i % 4], 512 if _i < 4 else 1024
    _add(f"k2-sr{_i}", f"K-SR{_i}: ResNet-48, STL-10, D last width {_last}, n_dis {_n_dis}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-SR{_i}", "stl10", "resnet", 48, 10 if _cond else 0,
         _k2_hp("hinge", _n_dis, (0.5, 0.9), _STL, 1301 if _n_dis == 5 else 261), g=_k2_g(_cond),
         d=dict(_K2_RESNET_D, last_width=_last))
for _i in range(10):
    _cond = _i % 2 == 1
    _n_dis = 5 if _i < 2 else 1
    _beta2 = 0.9 if _i < 4 else 0.999
    _lr_d = 1e-3 if _i >= 8 else 2e-4
    _slope = 0.1 if _i < 6 else 0.2
    _add(f"k2-pa{_i}", f"K-PA{_i}: post-activation ResNet G + small CNN D (slope {_slope}), STL-10 48 px, "
         f"n_dis {_n_dis}, beta2 {_beta2}, D lr {_lr_d:g}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-PA{_i}", "stl10", "resnet", 48, 10 if _cond else 0,
         _k2_hp("hinge", _n_dis, (0.5, _beta2), _STL, 1301 if _n_dis == 5 else 261, lr_d=_lr_d),
         g=dict(_POSTACT_G), d={"variant": "small", "negative_slope": _slope, "head_sn": False}, d_arch="cnn")
for _i in range(6):
    _c0, _n_dis = (16, 16, 32, 32, 64, 64)[_i], (5, 1)[_i % 2]
    _add(f"k2-pb{_i}", f"K-PB{_i}: post-activation ResNet G + post-activation ResNet D (initial width {_c0}), "
         f"STL-10 48 px, n_dis {_n_dis}, conditional",
         _K2_SRC + f"K-PB{_i}", "stl10", "resnet", 48, 10,
         _k2_hp("hinge", _n_dis, (0.5, 0.999), _STL, 1301 if _n_dis == 5 else 261),
         g=dict(_POSTACT_G), d={"arch": "48-postact", "channels": [_c0 * m for m in (1, 1, 2, 2, 4, 4, 8, 8)], "head_sn": False})
for _i, _beta2 in enumerate((0.9, 0.999)):
    _add(f"k2-dc{_i}", f"K-DC{_i}: ResNet-48 G + small CNN D (slope 0.2), STL-10 48 px, conditional, beta2 {_beta2}",
         _K2_SRC + f"K-DC{_i}", "stl10", "resnet", 48, 10, _k2_hp("hinge", 5, (0.5, _beta2), _STL, 1301),
         g=_k2_g(True), d={"variant": "small", "negative_slope": 0.2, "head_sn": False}, d_arch="cnn")
for _i, _beta2 in enumerate((0.9, 0.999)):
    _add(f"k2-dc{_i + 2}", f"K-DC{_i + 2}: ResNet-48 G + strided ResNet D, STL-10 48 px, conditional, beta2 {_beta2}",
         _K2_SRC + f"K-DC{_i + 2}", "stl10", "resnet", 48, 10, _k2_hp("hinge", 5, (0.5, _beta2), _STL, 1301),
         g=_k2_g(True), d={"arch": "48-strided", "head_sn": False})
for _i, _cond in enumerate((False, True)):
    _add(f"k2-a{_i}", f"K-A{_i}: ResNet-96 G + 128 px design D at 96 px (koshian2 blocks), AnimeFace, "
         f"{'176 classes' if _cond else 'unconditional'}",
         _K2_SRC + f"K-A{_i}", "animeface", "resnet", 96, 176 if _cond else 0,
         _k2_hp("hinge", 5, (0.5, 0.9), 14_490, 1301), g=_k2_g(_cond), d=_K2_RESNET_D)
for _i, _cond in enumerate((False, True)):
    _add(f"k2-f{_i}", f"K-F{_i}: ResNet-96 G + 'light' D (SN conv4x4 s2 stem), Oxford Flowers 96 px, "
         f"{'102 classes' if _cond else 'unconditional'}",
         _K2_SRC + f"K-F{_i}", "flowers102", "resnet", 96, 102 if _cond else 0,
         _k2_hp("hinge", 5, (0.5, 0.9), 8_189, 1901), g=_k2_g(_cond), d={"arch": "96-light", "head_sn": False})

# --------------------------------------------------------------------------------------------
# Other seeds, reference section 5.2
# --------------------------------------------------------------------------------------------
_CK = dict(n_dis=5, lr_g=1e-4, lr_d=4e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=2048,
           g_batch_size=2048, lr_decay="none", loss="bce", loss_kwargs={"real_target": 0.9}, z_dim=100,
           update_order="d_first")
_CK_DATA = (("ck-mnist", "mnist", 1, 60_000), ("ck-fmnist", "fashion-mnist", 1, 60_000), ("ck-cifar10", "cifar10", 3, 50_000))
for _name, _data, _ch, _n in _CK_DATA:
    _add(_name, f"DCGAN-64 with SN D (ChenKaiXuSan), {_data} resized to 64 px, BCE with one-sided label smoothing 0.9",
         "ChenKaiXuSan/SNGAN_projection-PyTorch models/dcgan.py (seed 001), reference section 5.2; "
         "10,000 epochs of batch 2048 with a G step every 5th batch",
         _data, "cnn", 64, 0,
         TrainHParams(iterations=10_000 * math.ceil(math.ceil(_n / 2048) / 5), **_CK),  # type: ignore[arg-type]
         g={"variant": "ck", "bn_eps": 1e-5}, d={"variant": "ck"}, in_channels=_ch)

_XY = dict(n_dis=5, lr_g=8e-4, lr_d=8e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=512,
           g_batch_size=512, iterations=40_000, lr_decay="none", z_dim=100, update_order="d_first")
_XY_SRC = "xyfJASON/GANs-Implementations configs/{}_cifar10.yaml (seed 003), reference section 5.2"
_XY_G = {"variant": "xy", "bn_eps": 1e-5}
for _name, _cfg, _hp, _sn in (
    ("xy-dcgan", "dcgan", dict(loss="bce"), False),
    ("xy-dcgan-r1", "dcgan_r1", dict(loss="bce", r1_weight=5.0), False),
    ("xy-wgan", "wgan", dict(loss="wasserstein", optimizer_g="rmsprop", optimizer_d="rmsprop", lr_g=2e-4, lr_d=2e-4,
                             weight_clip=0.01), False),
    ("xy-wgan-gp", "wgan_gp", dict(loss="wasserstein", gp_weight=10.0, betas_g=(0.5, 0.9), betas_d=(0.5, 0.9)), False),
    ("xy-sngan-bce", "sngan", dict(loss="bce"), True),
    ("xy-sngan-hinge", "sngan_hinge", dict(loss="hinge"), True),
    ("xy-lsgan", "lsgan", dict(loss="least_squares"), False),
):
    _add(_name, f"SimpleCNN {_cfg} on CIFAR-10 32 px ({'SN' if _sn else 'no SN'} D with BN inside)",
         _XY_SRC.format(_cfg), "cifar10", "cnn", 32, 0, TrainHParams(**dict(_XY, **_hp)),  # type: ignore[arg-type]
         g=_XY_G, d={"variant": "xy", "sn": _sn})
_add("xy-sngan-proj", "SimpleCNN with cBN G and SN + projection D, CIFAR-10 32 px, 10 classes",
     "xyfJASON/GANs-Implementations (seed 003) SNGAN-proj row; its config was never committed: "
     "hyperparameters of the ACGAN config (Adam 8e-4, 0.5, 0.999, batch 512, 40K)",
     "cifar10", "cnn", 32, 10, TrainHParams(**dict(_XY, loss="hinge")),  # type: ignore[arg-type]
     g=_XY_G, d={"variant": "xy"})

_CT = dict(n_dis=5, lr_g=2e-4, lr_d=0.01, betas_g=(0.0, 0.9), batch_size=64, g_batch_size=64,
           iterations=200 * math.ceil(50_000 / 64), lr_decay="none", optimizer_d="sgd", momentum_d=0.9,
           update_order="d_first")
_CT_SRC = "ctjoy/deep-learning-project main.py, model/{}.py (seed 004), reference section 5.2; D: SGD 0.01, momentum 0.9"
for _loss in ("bce", "hinge", "wasserstein"):
    _add(f"ct-dcgan-{_loss}", f"ctjoy DCGAN (SN on every G layer, LeakyReLU 0.1) + paper std CNN D, CIFAR-10, {_loss}",
         _CT_SRC.format("dcgan"), "cifar10", "cnn", 32, 0, TrainHParams(**dict(_CT, loss=_loss)),  # type: ignore[arg-type]
         g={"variant": "ct", "sn": True, "negative_slope": 0.1, "bn_eps": 1e-5})
    _add(f"ct-resnet-{_loss}", f"ctjoy ResNet (128 ch G with identity shortcuts, mean-pooling D), CIFAR-10, {_loss}",
         _CT_SRC.format("resnet"), "cifar10", "resnet", 32, 0, TrainHParams(**dict(_CT, loss=_loss)),  # type: ignore[arg-type]
         g={"channels": (128, 128, 128, 128), "learnable_shortcut": False, "bn_eps": 1e-5, "init": "xavier"},
         d={"pooling": "mean", "head_bias": True,
            "init": functools.partial(init_weights, scheme="xavier", shortcut_gain=math.sqrt(2.0))})


# --------------------------------------------------------------------------------------------
# SAGAN / BigGAN family (TTUR, Adam beta1 0, EMA of G; see specnorm_gan.biggan)
# --------------------------------------------------------------------------------------------
_BG_TTUR = dict(n_dis=1, lr_g=1e-4, lr_d=4e-4, betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), lr_decay="none", ema_decay=0.9999)
_add("imagenet128-sagan", "SAGAN, ImageNet 128 px, 1000 classes (BigGAN-PyTorch's SAGAN: ch 64, shared embedding, attention at 64 px)",
     "ajbrock/BigGAN-PyTorch scripts/launch_SAGAN_bs128x2_ema.sh (batch 128 x 2 accumulations, G 1e-4 / D 4e-4, B2 0.999, "
     "1 D step, xavier init, EMA from 2000); iterations = train.py's 100 epochs at batch 256",
     "imagenet", "biggan", 128, 1000,
     TrainHParams(batch_size=256, g_batch_size=256, iterations=500_000, ema_start=2000, **_BG_TTUR),  # type: ignore[arg-type]
     {"arch": "sagan-128", "init": "xavier"}, {"arch": "sagan-128", "init": "xavier"})
_add("imagenet128-biggan", "BigGAN (ch 96), ImageNet 128 px, 1000 classes: shared embedding, hierarchical z (120 = 6 x 20), "
     "attention at 64 px, orthogonal init and regularization",
     "ajbrock/BigGAN-PyTorch scripts/launch_BigGAN_bs256x8.sh (batch 256 x 8 accumulations, G 1e-4 / D 4e-4, B2 0.999, 1 D step, "
     "EMA from 20000); ortho_weight 1e-4 from the BigGAN paper (section 3.1; the script sets --G_ortho 0.0)",
     "imagenet", "biggan", 128, 1000,
     TrainHParams(batch_size=2048, g_batch_size=2048, iterations=150_000, ema_start=20_000, ortho_weight=1e-4, z_dim=120, **_BG_TTUR),  # type: ignore[arg-type]
     {"arch": "biggan-128"}, {"arch": "biggan-128"})
_add("imagenet128-biggan-deep", "BigGAN-deep (ch 128, 2 blocks per stage), ImageNet 128 px, 1000 classes",
     "ajbrock/BigGAN-PyTorch scripts/launch_BigGAN_deep.sh (batch 256 x 8, G 1e-4 / D 4e-4, B2 0.999, 1 D step, z 128, "
     "shared 128, EMA from 20000); ortho_weight 1e-4 (paper; the script sets 0)",
     "imagenet", "biggan", 128, 1000,
     TrainHParams(batch_size=2048, g_batch_size=2048, iterations=150_000, ema_start=20_000, ortho_weight=1e-4, z_dim=128, **_BG_TTUR),  # type: ignore[arg-type]
     {"arch": "biggan-deep-128"}, {"arch": "biggan-deep-128"})
_add("cifar10-biggan", "BigGAN, CIFAR-10 32 px, 10 classes (StudioGAN: ch 96, z 80 = 4 x 20, shared 128, attention after G block 2 / D block 1)",
     "POSTECH-CVLab/PyTorch-StudioGAN src/configs/CIFAR10/BigGAN.json (batch 64, Adam 2e-4 (0.5, 0.999), 5 D steps, "
     "100K steps, ortho init, EMA 0.9999 from 1000, d_first) and src/models/big_resnet.py",
     "cifar10", "biggan", 32, 10,
     TrainHParams(n_dis=5, lr_g=2e-4, lr_d=2e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=64, g_batch_size=64,
                  iterations=100_000, lr_decay="none", update_order="d_first", ema_decay=0.9999, ema_start=1000, z_dim=80),
     {"arch": "biggan-32"}, {"arch": "biggan-32"})


# --------------------------------------------------------------------------------------------
# Training on little data (DiffAugment, Zhao et al. 2020, mit-han-lab/data-efficient-gans)
# --------------------------------------------------------------------------------------------
def _epoch_steps(epochs: int, images: int, batch: int, n_dis: int) -> int:
    """G updates of a BigGAN-PyTorch run with the multi-epoch sampler: each update consumes
    ``batch * n_dis`` real images, ``epochs * images`` in all."""
    return epochs * images // (batch * n_dis)


_DA = "mit-han-lab/data-efficient-gans "
_DA_CIFAR = dict(n_dis=4, lr_g=2e-4, lr_d=2e-4, betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), batch_size=50, g_batch_size=50,
                 lr_decay="none", update_order="d_first", ema_decay=0.9999, ema_start=1000, diffaugment="translation,cutout")
for _pct, _n in ((10, 5000), (20, 10_000)):
    _add(f"cifar10-{_pct}pct-diffaugment",
         f"BigGAN + DiffAugment (Zhao et al. 2020; translation, cutout), CIFAR-10 32 px, 10 classes, "
         f"{_pct}% of the training set ({_n:,} images)",
         _DA + f"DiffAugment-biggan-cifar/scripts/DiffAugment-biggan-cifar10-0.{_pct // 10}.sh and utils.py defaults "
         f"(Zhao et al. 2020, CIFAR-10 {_pct}% data: --DiffAugment translation,cutout, --num_samples {_n}, batch 50, "
         "4 D steps, G/D lr 2e-4, Adam betas (0, 0.999), hinge, EMA 0.9999 from 1000, D steps first, no ortho reg, "
         f"N(0, 0.02) init; G steps = 5000 epochs x {_n:,} images / (50 x 4)); architecture: this library's biggan-32 row "
         "(as cifar10-biggan, z 80; the script's BigGAN-PyTorch model has ch 64, z 128, no attention and non-shared cBN); "
         "its random horizontal flips of the data (--mirror_augment) are not reproduced",
         "cifar10", "biggan", 32, 10,
         TrainHParams(iterations=_epoch_steps(5000, _n, 50, 4), z_dim=80, max_images=_n, **_DA_CIFAR),  # type: ignore[arg-type]
         {"arch": "biggan-32", "init": "normal0.02"}, {"arch": "biggan-32", "init": "normal0.02"})

# 100-shot: the paper's few-shot runs are StyleGAN2 at 256 px (run_few_shot.py); these presets keep
# its data size, policy, batch and length (real images shown to D) with this library's SNGAN models at 64 px.
_FEW_SHOT_BATCH = 16  # DiffAugment-stylegan2/README.md: the few-shot models (updated 07/23/2020) use batch 16
_FEW_SHOT_IMAGES = 300_000  # run_few_shot.py --total-kimg default 300


def _few_shot(n_dis: int, **kw: Any) -> Dict[str, Any]:
    return dict(batch_size=_FEW_SHOT_BATCH, diffaugment="color,translation,cutout", max_images=100,
                iterations=_FEW_SHOT_IMAGES // (_FEW_SHOT_BATCH * n_dis), n_dis=n_dis, **kw)


_FEW_SHOT_SRC = (_DA + "DiffAugment-stylegan2/run_few_shot.py (the paper's 100-shot Obama / Grumpy cat / Panda runs: "
                 "--DiffAugment color,translation,cutout, 300 kimg) and README.md (batch 16); G steps = 300,000 real "
                 "images / (16 x n_dis); 64 px, the SNGAN model and its other hyperparameters ({}) are this library's choice")
_add("100shot-64-resnet",
     "ResNet SNGAN + DiffAugment (Zhao et al. 2020; color, translation, cutout), 100-shot image folder 64 px, unconditional",
     _FEW_SHOT_SRC.format("CH resnet_64 / snresnet_64; training of the official CIFAR config: hinge, n_dis 5, Adam 2e-4 "
                          "(0, 0.9), G batch 2x, linear decay"),
     "imagefolder", "resnet", 64, 0,
     TrainHParams(g_batch_size=2 * _FEW_SHOT_BATCH, **_few_shot(5)))  # type: ignore[arg-type]
# The paper's standard-CNN G at 64 px: the 32 px row with the dense layer to M_g x M_g = 8 x 8 (this library's extension).
_PAPER_G64 = replace(DCGAN_G_ARCHS["paper-32"], bottom_width=8, source="SNGAN paper Table 3 with M_g=8 (64 px; 100shot-64-cnn)")
_add("100shot-64-cnn",
     "Standard CNN SNGAN + DiffAugment (Zhao et al. 2020; color, translation, cutout), 100-shot image folder 64 px, unconditional",
     _FEW_SHOT_SRC.format("paper Table 3 standard CNN at 64 px: G the paper-32 row with M_g = 8, D the paper layers; "
                          "training as cifar10-cnn: hinge, setting C (Adam 2e-4 (0.5, 0.999), n_dis 1), no decay"),
     "imagefolder", "cnn", 64, 0,
     _setting("c", g_batch_size=_FEW_SHOT_BATCH, **_few_shot(1)),
     {"arch": _PAPER_G64}, {"arch": "paper"})


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
_DEFAULT_PRESETS = {
    ("resnet", 32): ("cifar10-resnet", "cifar10-projection"),
    ("resnet", 48): ("stl10-resnet48", "stl10-projection48"),
    ("resnet", 64): ("celeba64-resnet", "imagenet64-projection"),
    ("resnet", 96): ("animeface96-resnet", "animeface96-projection"),
    ("resnet", 128): ("imagenet128-resnet", "imagenet128-projection"),
    ("resnet", 256): ("dogcat256-projection", "dogcat256-projection"),
    ("cnn", 32): ("cifar10-cnn", "cifar10-cnn"),
    ("cnn", 48): ("stl10-cnn48", "stl10-cnn48"),
    ("cnn", 64): ("ck-cifar10", "ck-cifar10"),
    ("biggan", 32): ("cifar10-biggan", "cifar10-biggan"),
    ("biggan", 128): ("imagenet128-biggan", "imagenet128-biggan"),
}
_ARCH_ALIASES = {"cnn": "cnn", "dcgan": "cnn", "resnet": "resnet", "sndcgan": "cnn", "standard_cnn": "cnn", "biggan": "biggan"}


def list_presets() -> List[str]:
    """Names of all presets, sorted.

    Example::

        >>> "cifar10-resnet" in list_presets()
        True
    """
    return sorted(PRESETS)


def get_preset(name: str) -> Preset:
    """The :class:`Preset` record of ``name`` (model arguments, hyperparameters, source).

    Raises:
        ValueError: unknown name (the message suggests close names).

    Example::

        >>> get_preset("cifar10-resnet").hparams.n_dis
        5
    """
    if not isinstance(name, str):
        raise TypeError(f"preset name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in PRESETS:
        close = difflib.get_close_matches(key, PRESETS, n=5)
        hint = f"; did you mean {close}?" if close else ""
        raise ValueError(f"unknown preset {name!r}{hint} (list_presets() gives all {len(PRESETS)} names)")
    return PRESETS[key]


def _default_preset(arch: str, resolution: int, num_classes: int) -> Preset:
    key = _ARCH_ALIASES.get(str(arch).lower())
    if key is None:
        raise ValueError(f"unknown arch {arch!r}; expected one of {list(_ARCH_ALIASES)}")
    if (key, resolution) not in _DEFAULT_PRESETS:
        designs = sorted(r for a, r in _DEFAULT_PRESETS if a == key)
        raise ValueError(f"no {key} design for resolution {resolution!r}; expected one of {designs}")
    uncond, cond = _DEFAULT_PRESETS[(key, resolution)]
    return PRESETS[cond if num_classes > 0 else uncond]


_HPARAM_FIELDS = {f.name for f in fields(TrainHParams)} - {"preset", "z_dim"}
# Set by build_gan itself (positional arguments, width, image channels).
_RESERVED = {"self", "resolution", "num_classes", "z_dim", "width", "in_channels", "out_channels"}


def _constructor_options(cls: type) -> Set[str]:
    return set(inspect.signature(cls.__init__).parameters) - _RESERVED


def build_gan(
    preset: Optional[str] = None,
    *,
    arch: Optional[str] = None,
    resolution: Optional[int] = None,
    num_classes: Optional[int] = None,
    width: float = 1.0,
    in_channels: Optional[int] = None,
    **overrides: Any,
) -> GANSpec:
    """Builds ``G``, ``D`` and the published training hyperparameters.

    Either a preset name (:func:`list_presets`) or ``arch`` (``"resnet"`` or ``"cnn"``) and
    ``resolution``; ``num_classes`` then picks the unconditional or the conditional default preset
    of that design for the hyperparameters (e.g. ``arch="resnet", resolution=32, num_classes=10``
    uses ``cifar10-projection``).

    Args:
        preset: preset name.
        arch: ``"resnet"`` or ``"cnn"`` (aliases ``"dcgan"``, ``"sndcgan"``), without a preset.
        resolution: image size (must match the preset's if both are given).
        num_classes: overrides the number of classes (0 = unconditional).
        width: channel multiplier for G and D (e.g. 0.25 for CPU-scale runs).
        in_channels: image channels (default: the preset's, usually 3).
        **overrides: ``z_dim``; ``init`` and ``fold_resampling`` (both models); any :class:`TrainHParams` field (e.g.
            ``n_dis=1``, ``iterations=1000``); a constructor option of G or D (e.g.
            ``last_width=512`` goes to D, ``upsample_mode="bilinear"`` to G; prefix ``g_`` or ``d_``
            for options both have, e.g. ``d_negative_slope=0.2``); ``g_kwargs`` / ``d_kwargs``
            (dicts merged into the constructor arguments of G / D).

    Returns:
        :class:`GANSpec` with ``G``, ``D``, ``hparams`` and ``preset``.

    Raises:
        ValueError: unknown preset, arch, resolution or override.

    Example::

        >>> spec = build_gan("cifar10-resnet", width=0.125)
        >>> spec.G.resolution, spec.hparams.n_dis, spec.hparams.g_batch_size
        (32, 5, 128)
    """
    if preset is not None:
        record = get_preset(preset)
        if arch is not None and _ARCH_ALIASES.get(str(arch).lower()) != record.generator:
            raise ValueError(f"preset {record.name!r} is a {record.generator} model; got arch={arch!r}")
        if resolution is not None and resolution != record.resolution:
            raise ValueError(f"preset {record.name!r} is for resolution {record.resolution}; got resolution={resolution}")
    else:
        if arch is None or resolution is None:
            raise ValueError("build_gan needs a preset name, or arch ('resnet' or 'cnn') and resolution")
        record = _default_preset(arch, resolution, num_classes or 0)
    n_classes = record.num_classes if num_classes is None else num_classes
    channels = record.in_channels if in_channels is None else in_channels

    g_kwargs: Dict[str, Any] = dict(record.g_kwargs)
    d_kwargs: Dict[str, Any] = dict(record.d_kwargs)
    g_params = _constructor_options(_GENERATORS[record.generator])
    d_params = _constructor_options(_DISCRIMINATORS[record.discriminator])
    hp_updates: Dict[str, Any] = {}
    z_dim = record.hparams.z_dim
    for key, value in overrides.items():
        if key == "g_kwargs":
            g_kwargs.update(dict(value))
        elif key == "d_kwargs":
            d_kwargs.update(dict(value))
        elif key == "z_dim":
            z_dim = value
        elif key in ("init", "fold_resampling"):  # both sides (fold_resampling: where the architecture has it)
            for params, kwargs in ((g_params, g_kwargs), (d_params, d_kwargs)):
                if key in params:
                    kwargs[key] = value
        elif key in _HPARAM_FIELDS:
            hp_updates[key] = value
        elif key.startswith("g_") and key[2:] in g_params:
            g_kwargs[key[2:]] = value
        elif key.startswith("d_") and key[2:] in d_params:
            d_kwargs[key[2:]] = value
        elif key in g_params and key in d_params:
            raise ValueError(f"override {key!r} is an option of both G and D; pass g_{key}= or d_{key}=")
        elif key in g_params:
            g_kwargs[key] = value
        elif key in d_params:
            d_kwargs[key] = value
        else:
            raise ValueError(
                f"unknown override {key!r}; expected z_dim, init, fold_resampling, g_kwargs, d_kwargs, an option of "
                f"{_GENERATORS[record.generator].__name__} {sorted(g_params)} or "
                f"{_DISCRIMINATORS[record.discriminator].__name__} {sorted(d_params)} (prefix g_ / d_ when both have it), "
                f"or a TrainHParams field {sorted(_HPARAM_FIELDS)}"
            )
    hparams = replace(record.hparams, z_dim=z_dim, **hp_updates)
    if "z_dist" in hp_updates and "z_dist" not in g_kwargs:
        g_kwargs["z_dist"] = hp_updates["z_dist"]
    G = _GENERATORS[record.generator](
        record.resolution, n_classes, z_dim, width=width, out_channels=channels, **g_kwargs
    )
    D = _DISCRIMINATORS[record.discriminator](record.resolution, n_classes, width=width, in_channels=channels, **d_kwargs)
    return GANSpec(G=G, D=D, hparams=hparams, preset=record)
