"""The run's settings: :class:`TrainConfig` (``training/resolve.py`` fills its ``None`` fields from a preset and checks it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

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


# The regularizer each weight field adds (training/steps.py builds them in this order).
_WEIGHT_TERMS = (("gp", "gp_weight"), ("r1", "r1_weight"), ("r2", "r2_weight"), ("lecam", "lecam_weight"),
                 ("bcr", "bcr_weight"), ("zcr", "zcr_weight"), ("zcr_g", "zcr_g_weight"),
                 ("ortho", "ortho_weight"))


def _norm(v: Any) -> Any:
    """A config value in the form checkpoints compare (tuples as lists, ints as floats)."""
    if isinstance(v, tuple):
        return [_norm(x) for x in v]
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v

