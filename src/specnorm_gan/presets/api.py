"""The public functions over the registry: :func:`list_presets`, :func:`get_preset`, :func:`build_gan`."""

from __future__ import annotations

import difflib
import inspect
from dataclasses import fields, replace
from typing import Any, Dict, List, Optional, Set

from .spec import _DISCRIMINATORS, _GENERATORS, PRESETS, GANSpec, Preset, TrainHParams


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
