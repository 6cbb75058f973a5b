"""Filling a :class:`TrainConfig`'s ``None`` fields from the preset (:func:`_resolve`) and checking the result (:func:`_validate`)."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Dict

from torch import nn

from .config import _WEIGHT_TERMS, TrainConfig

# Used when neither the config nor the preset says: the official CIFAR-10 ResNet settings.
_FALLBACK_HPARAMS: Dict[str, Any] = {
    "loss": "hinge",
    "n_dis": 5,
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "betas_g": (0.0, 0.9),
    "betas_d": (0.0, 0.9),
    "batch_size": 64,
    "g_batch_size": 128,
    "iterations": 50000,
    "lr_decay": "linear",
    "decay_start": 0,
    "loss_kwargs": {},
    "optimizer_g": "adam",
    "optimizer_d": "adam",
    "momentum_d": 0.0,
    "gp_weight": 0.0,
    "r1_weight": 0.0,
    "ortho_weight": 0.0,
    "ema_decay": 0.9999,
    "ema_start": 0,
    "weight_clip": 0.0,
    "update_order": "g_first",
    "diffaugment": "",
    "r2_weight": 0.0,
    "lecam_weight": 0.0,
    "bcr_weight": 0.0,
    "zcr_weight": 0.0,
    "zcr_g_weight": 0.0,
}
# The fields filled in when None: from the preset's TrainHParams, else the fallback above (z_dim from G,
# ada_target stays None: ADA off).
_HPARAM_FIELDS = tuple(_FALLBACK_HPARAMS) + ("z_dim", "ada_target")


def _resolve(config: TrainConfig, hparams: Any, G: nn.Module) -> TrainConfig:
    """Fills the ``None`` fields of ``config`` from the preset's hparams (then from the fallback)."""
    updates: Dict[str, Any] = {}
    for name in _HPARAM_FIELDS:
        if getattr(config, name) is not None:
            continue
        value = getattr(hparams, name, None) if hparams is not None else None
        if value is None and name == "z_dim":
            value = getattr(G, "z_dim", None)
        if value is None:
            value = _FALLBACK_HPARAMS.get(name)
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, dict):
            value = dict(value)
        updates[name] = value
    if config.resolution is None and getattr(G, "resolution", None) is not None:
        updates["resolution"] = int(G.resolution)
    if config.num_classes is None:
        updates["num_classes"] = int(getattr(G, "num_classes", 0) or 0)
    if config.in_channels is None and getattr(G, "out_channels", None) is not None:
        updates["in_channels"] = int(G.out_channels)
    for name in ("eval_reference", "inception_weights"):  # plain str in checkpoints (weights_only loading)
        if isinstance(getattr(config, name), os.PathLike):
            updates[name] = os.fspath(getattr(config, name))
    if isinstance(config.eval_metrics, list):
        updates["eval_metrics"] = tuple(config.eval_metrics)
    if config.compile_mode and not config.compile:
        updates["compile"] = True
    return dataclasses.replace(config, **updates)


def _check_int(config: TrainConfig, name: str, minimum: int) -> None:
    v = getattr(config, name)
    if not (isinstance(v, int) and not isinstance(v, bool) and v >= minimum):
        raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}")


def _validate(config: TrainConfig) -> None:
    for name in ("n_dis", "batch_size", "g_batch_size", "iterations", "log_every", "keep_checkpoints", "sample_rows", "sample_cols"):
        _check_int(config, name, 1)
    for name in ("decay_start", "sample_every", "ckpt_every", "ema_start", "eval_every"):
        _check_int(config, name, 0)
    _check_int(config, "eval_samples", 2)
    em = config.eval_metrics
    if not (isinstance(em, (list, tuple)) and em and all(isinstance(k, str) for k in em)):
        raise TypeError(f"eval_metrics must be a non-empty list of metric names ('is', 'fid', 'kid', 'intra_fid'), got {em!r}")
    if not isinstance(config.eval_protocol, str):
        raise TypeError(f"eval_protocol must be 'paper' or '50k', got {config.eval_protocol!r}")
    for name in ("lr_g", "lr_d"):
        v = getattr(config, name)
        if not isinstance(v, (int, float)) or not v >= 0 or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite float >= 0, got {v!r}")
    for name in ("betas_g", "betas_d"):
        v = getattr(config, name)
        if len(v) != 2 or not all(0.0 <= float(b) < 1.0 for b in v):
            raise ValueError(f"{name} must be two floats in [0, 1), got {v!r}")
    if config.lr_decay not in ("linear", "none"):
        raise ValueError(f"lr_decay must be 'linear' or 'none', got {config.lr_decay!r}")
    if config.lr_decay == "linear" and config.decay_start >= config.iterations:
        raise ValueError(f"decay_start ({config.decay_start}) must be < iterations ({config.iterations}) for a linear decay")
    if config.amp not in ("none", "bf16", "fp16"):
        raise ValueError(f"amp must be 'none', 'bf16' or 'fp16', got {config.amp!r}")
    if config.compile_mode is not None and not isinstance(config.compile_mode, str):
        raise TypeError(f"compile_mode must be a torch.compile mode name (e.g. 'reduce-overhead') or None, got {config.compile_mode!r}")
    if not 0.0 <= config.ema_decay <= 1.0:
        raise ValueError(f"ema_decay must be in [0, 1], got {config.ema_decay!r}")
    for name in ("optimizer_g", "optimizer_d"):
        if getattr(config, name) not in ("adam", "rmsprop", "sgd"):
            raise ValueError(f"{name} must be 'adam', 'rmsprop' or 'sgd', got {getattr(config, name)!r}")
    if config.update_order not in ("g_first", "d_first"):
        raise ValueError(f"update_order must be 'g_first' or 'd_first', got {config.update_order!r}")
    for name in ("momentum_d", "weight_clip") + tuple(f for _, f in _WEIGHT_TERMS):
        v = getattr(config, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0 or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite float >= 0, got {v!r}")
    if not isinstance(config.loss_kwargs, dict):
        raise TypeError(f"loss_kwargs must be a dict, got {type(config.loss_kwargs).__name__}")
    if config.optimizer_impl not in ("auto", "fused", "foreach", "for-loop"):
        raise ValueError(f"optimizer_impl must be 'auto', 'fused', 'foreach' or 'for-loop', got {config.optimizer_impl!r}")
    if not (isinstance(config.width, (int, float)) and config.width > 0):
        raise ValueError(f"width must be a float > 0, got {config.width!r}")
    _validate_regularizers(config)
    _validate_augmentation(config)


def _validate_augmentation(config: TrainConfig) -> None:
    from ..augment import ADA_TRANSFORMS, DIFFAUGMENT_POLICIES, parse_policy

    if not isinstance(config.diffaugment, str):
        raise TypeError(f"diffaugment must be a comma-separated policy string such as 'color,translation,cutout', "
                        f"got {config.diffaugment!r}")
    if config.diffaugment:
        parse_policy(config.diffaugment, DIFFAUGMENT_POLICIES, "DiffAugment policy")
    if config.ada_target is None:
        return
    if config.diffaugment:
        raise ValueError("diffaugment and ada_target both ask for an augmentation of D's inputs; give one")
    for name in ("ada_target", "ada_p"):
        v = getattr(config, name)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0):
            raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
    if not (isinstance(config.ada_speed_images, (int, float)) and math.isfinite(config.ada_speed_images)
            and config.ada_speed_images > 0):
        raise ValueError(f"ada_speed_images must be a finite number > 0, got {config.ada_speed_images!r}")
    _check_int(config, "ada_interval", 1)
    parse_policy(config.ada_transforms, ADA_TRANSFORMS, "ADA transform")


def _validate_regularizers(config: TrainConfig) -> None:
    from ..regularizers import list_regularizers

    regs = config.regularizers
    if not isinstance(regs, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in regs.items()):
        raise TypeError(f"regularizers must be a dict {{name: {{argument: value}}}}, got {regs!r}")
    unknown = [k for k in regs if k not in list_regularizers()]
    if unknown:
        raise ValueError(f"unknown regularizers {unknown}; registered: {list_regularizers()}")
    for name, weight_field in _WEIGHT_TERMS:
        if name in regs and getattr(config, weight_field):
            raise ValueError(f"{weight_field}={getattr(config, weight_field)!r} and regularizers[{name!r}] both ask for the "
                             f"{name} term; give it once")
