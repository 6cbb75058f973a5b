"""The run's settings: :class:`TrainConfig`, filling its ``None`` fields from a preset, and validating it."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from torch import nn

__all__ = ["TrainConfig"]

# Config fields that define the model's structure: a checkpoint only loads into a run that
# agrees on all of them.
_STRUCTURAL_FIELDS = ("preset", "arch", "resolution", "num_classes", "width", "in_channels", "model_kwargs", "z_dim")


@dataclass
class TrainConfig:
    """Everything a training run needs (saved in every checkpoint).

    Fields left at ``None`` are taken from the preset's hyperparameters
    (``build_gan(preset).hparams``) when the :class:`Trainer` is built; the resolved values are
    what :attr:`Trainer.config` and checkpoints hold. Batch sizes are **global** (summed over
    distributed ranks) and must be divisible by the number of ranks.

    Args:
        preset: a preset name (``specnorm_gan.list_presets()``); None with ``arch`` to build by hand.
        arch: architecture override passed to ``build_gan``.
        resolution: image side length (None: the preset's).
        num_classes: 0 for unconditional, the number of classes for conditional models (None: the preset's).
        width: channel multiplier for every network (e.g. 0.25 for CPU-scale runs).
        in_channels: image channels (None: the preset's, usually 3).
        model_kwargs: other keyword arguments of ``build_gan`` (e.g. D's last width, block variant).
        z_dim: latent size (None: the preset's).
        loss: ``"hinge"``, ``"bce"``, ``"wasserstein"``, ``"least_squares"`` (None: the preset's).
        loss_kwargs: options of the loss (e.g. ``{"real_target": 0.9}``).
        n_dis: D steps per G step.
        lr_g, lr_d: learning rates.
        betas_g, betas_d: Adam betas.
        optimizer_g, optimizer_d: ``"adam"`` (all official configs), ``"rmsprop"`` or ``"sgd"``.
        momentum_d: SGD momentum of D (``optimizer_d="sgd"``).
        gp_weight: weight of the WGAN-GP gradient penalty added to the D loss (0: none).
        r1_weight: factor of the R1 penalty added to the D loss (``gamma / 2``; 0: none).
        ortho_weight: weight of BigGAN's orthogonal regularization added to the G loss (the ``"ortho"``
            regularizer; default: the preset's, 1e-4 for the ImageNet BigGAN presets, else 0).
        weight_clip: clip D's parameters to ``[-c, c]`` after each D step (WGAN); 0: none.
        update_order: ``"g_first"`` (official: G step, then ``n_dis`` D steps) or ``"d_first"``.
        batch_size: D batch (real images per D step, the same number of fakes).
        g_batch_size: G batch per G step (2x the D batch in the official 32 px configs).
        iterations: G updates.
        lr_decay: ``"linear"`` (to 0 at ``iterations``) or ``"none"``.
        decay_start: iteration where the linear decay starts.
        ema: keep an exponential moving average of G (used for samples when on).
        ema_decay: EMA decay per G step (default: the preset's, else 0.9999).
        ema_start: iterations before which the EMA simply copies G (default: the preset's, else 0).
        amp: ``"none"``, ``"bf16"`` or ``"fp16"`` (``torch.autocast``; spectral norm stays float32). ``"fp16"``
            scales each loss with its own ``torch.amp.GradScaler`` (one for G, one for D): steps whose
            gradients overflow are skipped, counted in ``metrics.csv`` (``skipped_g``, ``skipped_d``).
        channels_last: use ``torch.channels_last`` for models and batches.
        compile: ``torch.compile`` the D and G step functions.
        compile_mode: ``mode`` argument of ``torch.compile``; ``"reduce-overhead"`` records the D and G steps
            as CUDA graphs on CUDA (plain compilation elsewhere). Giving a mode turns ``compile`` on.
        dequantize: map images with the official ``x / 128 - 1 + U(0, 1/128)`` instead of ``x / 127.5 - 1``.
        seed: seeds model initialisation, data order and noise.
        device: ``"auto"`` (CUDA when available, else CPU), or a torch device string.
        out_dir: run folder (metrics, samples, checkpoints); None writes nothing.
        log_every: iterations between metric reads (the only host synchronisation of the loop).
        sample_every: iterations between sample grids (0: only at the end).
        ckpt_every: iterations between checkpoints (0: only at the end).
        keep_checkpoints: how many recent checkpoints to keep.
        sample_rows: rows of the sample grid (classes for conditional models).
        sample_cols: columns of the sample grid.
        tensorboard: also log to TensorBoard when it is installed.
        progress: show a tqdm progress bar when tqdm is installed.
        optimizer_impl: ``"auto"`` (fused if available, else foreach), ``"fused"``, ``"foreach"``, ``"for-loop"``.
        eval_every: iterations between evaluations of G (the EMA G when on) with
            :class:`specnorm_gan.metrics.Evaluator` (0: never; needs the ``metrics`` extra). Results go to
            ``eval.csv``, ``eval.jsonl``, TensorBoard and the log; the best-FID generator is kept in
            ``checkpoints/best_fid.pt`` and the curves are drawn in ``eval_curves.png``.
        eval_samples: generated images per evaluation (IS and FID; protocol renamed ``"<protocol>-n<N>"``).
        eval_metrics: some of ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"``.
        eval_reference: real images for FID/KID: a torch-fidelity registered input (``"cifar10-train"``) or an
            ``.npz`` path; None: the training data.
        eval_protocol: ``"paper"`` or ``"50k"`` (:data:`specnorm_gan.metrics.PROTOCOLS`).
        eval_feature_extractor: a torch-fidelity feature extractor name (None: ``"inception-v3-compat"``).
        inception_weights: path of the feature extractor's weights file (None: torch-fidelity's cache).
        regularizers: further loss terms by registered name (:mod:`specnorm_gan.regularizers`) with their
            constructor arguments, e.g. ``{"r1": {"weight": 5.0}}``; applied in this order after the
            ``gp_weight`` and ``r1_weight`` terms (which are the ``"gp"`` and ``"r1"`` entries; give each once).
        diffaugment: DiffAugment policy applied to D's inputs in the D and G steps, e.g.
            ``"color,translation,cutout"`` (:class:`specnorm_gan.augment.DiffAugment`); ``""``: none (None: the preset's).
        ada_target: turns on adaptive augmentation (:class:`specnorm_gan.augment.AdaptiveAugment`) with this
            target of ``E[sign(D(x_real))]`` (0.6 in Karras et al.); None: off (or the preset's).
        ada_speed_images: real images for ADA's probability to go from 0 to 1 (500k in the paper).
        ada_interval: D steps between ADA controller updates.
        ada_p: ADA's initial probability.
        ada_transforms: ADA's transforms (names of :data:`specnorm_gan.augment.ADA_TRANSFORMS`).
        r2_weight: factor of the R2 penalty on fakes (``gamma / 2``; with ``loss="rpgan"`` and ``r1_weight``: R3GAN).
        lecam_weight: weight of LeCam regularization (``"lecam"``).
        bcr_weight: weight of balanced consistency regularization (``"bcr"``).
        zcr_weight: D-side weight of latent consistency regularization (``"zcr"``).
        zcr_g_weight: G-side weight of latent consistency regularization (``"zcr_g"``).

    Example::

        >>> cfg = TrainConfig(preset="cifar10-resnet", width=0.25, iterations=100, out_dir=None)
        >>> cfg.n_dis is None  # filled in from the preset by the Trainer
        True
    """

    # model
    preset: Optional[str] = None
    arch: Optional[str] = None
    resolution: Optional[int] = None
    num_classes: Optional[int] = None
    width: float = 1.0
    in_channels: Optional[int] = None
    model_kwargs: Dict[str, Any] = field(default_factory=dict)
    z_dim: Optional[int] = None
    # objective and optimisation
    loss: Optional[str] = None
    loss_kwargs: Optional[Dict[str, Any]] = None
    n_dis: Optional[int] = None
    lr_g: Optional[float] = None
    lr_d: Optional[float] = None
    betas_g: Optional[Tuple[float, float]] = None
    betas_d: Optional[Tuple[float, float]] = None
    optimizer_g: Optional[str] = None
    optimizer_d: Optional[str] = None
    momentum_d: Optional[float] = None
    gp_weight: Optional[float] = None
    r1_weight: Optional[float] = None
    ortho_weight: Optional[float] = None
    weight_clip: Optional[float] = None
    update_order: Optional[str] = None
    batch_size: Optional[int] = None
    g_batch_size: Optional[int] = None
    iterations: Optional[int] = None
    lr_decay: Optional[str] = None
    decay_start: Optional[int] = None
    # options
    ema: bool = False
    ema_decay: Optional[float] = None
    ema_start: Optional[int] = None
    amp: str = "none"
    channels_last: bool = False
    compile: bool = False
    compile_mode: Optional[str] = None
    dequantize: bool = False
    seed: int = 0
    device: str = "auto"
    # output
    out_dir: Optional[str] = "runs/sngan"
    log_every: int = 100
    sample_every: int = 1000
    ckpt_every: int = 1000
    keep_checkpoints: int = 3
    sample_rows: int = 10
    sample_cols: int = 10
    tensorboard: bool = True
    progress: bool = True
    optimizer_impl: str = "auto"
    # evaluation during training
    eval_every: int = 0
    eval_samples: int = 5000
    eval_metrics: Tuple[str, ...] = ("is", "fid")
    eval_reference: Optional[str] = None
    eval_protocol: str = "paper"
    eval_feature_extractor: Optional[str] = None
    inception_weights: Optional[str] = None
    # further loss terms (specnorm_gan.regularizers)
    regularizers: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    # training on little data (specnorm_gan.augment, specnorm_gan.data_efficient)
    diffaugment: Optional[str] = None
    ada_target: Optional[float] = None
    ada_speed_images: float = 500_000.0
    ada_interval: int = 4
    ada_p: float = 0.0
    ada_transforms: str = "flip,rot90,translation,brightness,contrast,saturation,cutout"
    r2_weight: Optional[float] = None
    lecam_weight: Optional[float] = None
    bcr_weight: Optional[float] = None
    zcr_weight: Optional[float] = None
    zcr_g_weight: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain-container form (tuples as lists) for checkpoints and JSON."""
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {unknown}")
        kw = dict(d)
        for k in ("betas_g", "betas_d"):
            if kw.get(k) is not None:
                kw[k] = tuple(float(b) for b in kw[k])
        if isinstance(kw.get("eval_metrics"), list):
            kw["eval_metrics"] = tuple(kw["eval_metrics"])
        return cls(**kw)

_HPARAM_FIELDS = (
    "loss",
    "loss_kwargs",
    "optimizer_g",
    "optimizer_d",
    "momentum_d",
    "gp_weight",
    "r1_weight",
    "ortho_weight",
    "ema_decay",
    "ema_start",
    "weight_clip",
    "update_order",
    "n_dis",
    "lr_g",
    "lr_d",
    "betas_g",
    "betas_d",
    "batch_size",
    "g_batch_size",
    "iterations",
    "lr_decay",
    "decay_start",
    "z_dim",
    "diffaugment",
    "ada_target",
    "r2_weight",
    "lecam_weight",
    "bcr_weight",
    "zcr_weight",
    "zcr_g_weight",
)
# The regularizer each weight field adds (training/steps.py builds them in this order).
_WEIGHT_TERMS = (("gp", "gp_weight"), ("r1", "r1_weight"), ("r2", "r2_weight"), ("lecam", "lecam_weight"),
                 ("bcr", "bcr_weight"), ("zcr", "zcr_weight"), ("zcr_g", "zcr_g_weight"),
                 ("ortho", "ortho_weight"))

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
    if config.preset is None and hparams is not None and getattr(hparams, "preset", None):
        pass  # keep None: the model was built from explicit arguments
    for name in ("eval_reference", "inception_weights"):  # plain str in checkpoints (weights_only loading)
        if isinstance(getattr(config, name), os.PathLike):
            updates[name] = os.fspath(getattr(config, name))
    if isinstance(config.eval_metrics, list):
        updates["eval_metrics"] = tuple(config.eval_metrics)
    if config.compile_mode and not config.compile:
        updates["compile"] = True
    return dataclasses.replace(config, **updates)


def _validate(config: TrainConfig) -> None:
    def positive_int(name: str, allow_zero: bool = False) -> None:
        v = getattr(config, name)
        ok = isinstance(v, int) and not isinstance(v, bool) and (v >= 0 if allow_zero else v >= 1)
        if not ok:
            raise ValueError(f"{name} must be an int {'>= 0' if allow_zero else '>= 1'}, got {v!r}")

    for name in ("n_dis", "batch_size", "g_batch_size", "iterations", "log_every", "keep_checkpoints", "sample_rows", "sample_cols"):
        positive_int(name)
    for name in ("decay_start", "sample_every", "ckpt_every", "ema_start", "eval_every"):
        positive_int(name, allow_zero=True)
    if not (isinstance(config.eval_samples, int) and not isinstance(config.eval_samples, bool) and config.eval_samples >= 2):
        raise ValueError(f"eval_samples must be an int >= 2, got {config.eval_samples!r}")
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
    if not (isinstance(config.ada_interval, int) and not isinstance(config.ada_interval, bool) and config.ada_interval >= 1):
        raise ValueError(f"ada_interval must be an int >= 1, got {config.ada_interval!r}")
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


def _norm(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_norm(x) for x in v]
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v

