"""The preset records: :class:`TrainHParams`, :class:`Preset`, :class:`GANSpec`, and the registry ``PRESETS`` that the tables fill with ``_add``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from torch import nn

from ..augment import DIFFAUGMENT_POLICIES, parse_policy
from ..biggan import BigGANDiscriminator, BigGANGenerator
from ..models import SNDCGANDiscriminator, SNDCGANGenerator, SNResNetDiscriminator, SNResNetGenerator


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

        >>> from specnorm_gan.presets import get_preset
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

        >>> from specnorm_gan.presets import get_preset
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

        >>> from specnorm_gan.presets import build_gan
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
