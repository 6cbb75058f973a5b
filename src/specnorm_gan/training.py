"""The reference GAN training loop (official SNGAN updater) as library code.

:class:`Trainer` runs the update of the official Chainer code (``pfnet-research/sngan_projection``,
``updater.py``): each iteration is **one G step first** (fresh ``z``, uniformly drawn fake labels for
conditional models, D in training mode so its power iteration advances), then ``n_dis`` D steps,
each on a new real batch and a fresh fake batch. Iterations count G updates; both Adam learning
rates decay linearly to 0 between ``decay_start`` and ``iterations`` (Chainer ``LinearShift``).

What it does to be fast without changing the math:

- one concatenated ``real + fake`` D forward per D step (one sigma for both halves);
- fakes for D steps generated under ``torch.no_grad``; D's parameters frozen during the G step
  (no D weight gradients are computed that would be thrown away);
- ``zero_grad(set_to_none=True)``, fused (or foreach) Adam;
- the dataset lives on the device as ``uint8`` and batches are index gathers
  (:class:`~specnorm_gan.data.InMemoryLoader`);
- no host-device synchronisation inside a step: losses, D outputs and sigmas stay on the device
  and are read once every ``log_every`` iterations (which is also when non-finite losses are caught,
  with the exact iteration).

Opt-in: EMA of G (:func:`~specnorm_gan.layers.ema_update_`, buffers copied), bfloat16 autocast,
``channels_last``, ``torch.compile`` of the D and G step functions, DistributedDataParallel
(``torchrun``; gloo on CPU, NCCL on GPU).

Around the loop: a progress bar (tqdm, optional), a CSV metrics log (and TensorBoard when
installed), PNG sample grids from a fixed ``z``, optional periodic IS/FID evaluation
(:mod:`specnorm_gan.metrics`; ``eval_every``) that keeps the best-FID checkpoint, atomic checkpoints that load with
``torch.load(weights_only=True)`` and resume bit-identically on the CPU, SIGINT/SIGTERM handling
(checkpoint, then stop) and a clear stop on NaN/Inf losses.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import random
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from .data import ImageDataset, InMemoryLoader, to_float_images
from .layers import ema_update_, spectral_norms
from .losses import get_loss, gradient_penalty, r1_penalty

__all__ = [
    "TrainConfig",
    "Trainer",
    "train",
    "CheckpointError",
    "NonFiniteLossError",
    "TrainingInterrupted",
    "load_checkpoint",
    "find_checkpoint",
    "build_models",
    "models_from_checkpoint",
    "linear_decay",
    "init_distributed",
    "reexec_with_allocator_settings",
    "ALLOCATOR_SETTINGS",
    "CHECKPOINT_FORMAT",
]

logger = logging.getLogger("specnorm_gan.training")

#: Identifies checkpoints written by :class:`Trainer` (``checkpoint["format"]``).
CHECKPOINT_FORMAT = "specnorm_gan.checkpoint"
_CHECKPOINT_VERSION = 1

#: glibc settings the example launchers apply when the user has not set them: keep large freed
#: buffers in the heap instead of returning them to the OS after every step (on a 2-core CPU the
#: page faults of re-mapping them cost 20-30% of a step; measured-anchors.md).
ALLOCATOR_SETTINGS: Dict[str, str] = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
}
_REEXEC_MARK = "SPECNORM_GAN_ALLOCATOR_REEXEC"

# Config fields that define the model's structure: a checkpoint only loads into a run that
# agrees on all of them.
_STRUCTURAL_FIELDS = ("preset", "arch", "resolution", "num_classes", "width", "in_channels", "model_kwargs", "z_dim")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not match the run (nothing was overwritten)."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stopped (the last good checkpoint is kept).

    Attributes:
        iteration: the (1-based) iteration whose loss was not finite.
        checkpoint: path of the last checkpoint written (None if none).
    """

    def __init__(self, message: str, iteration: int, checkpoint: Optional[str]) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.checkpoint = checkpoint


class TrainingInterrupted(RuntimeError):
    """SIGINT or SIGTERM stopped training after a checkpoint was written.

    Attributes:
        signum: the signal number.
        iteration: iterations completed.
        checkpoint: path of the checkpoint written on the way out.
    """

    def __init__(self, signum: int, iteration: int, checkpoint: Optional[str]) -> None:
        name = signal.Signals(signum).name if signum in {s.value for s in signal.Signals} else str(signum)
        super().__init__(f"{name} received: stopped after iteration {iteration}; checkpoint: {checkpoint}")
        self.signum = signum
        self.iteration = iteration
        self.checkpoint = checkpoint


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
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
        weight_clip: clip D's parameters to ``[-c, c]`` after each D step (WGAN); 0: none.
        update_order: ``"g_first"`` (official: G step, then ``n_dis`` D steps) or ``"d_first"``.
        batch_size: D batch (real images per D step, the same number of fakes).
        g_batch_size: G batch per G step (2x the D batch in the official 32 px configs).
        iterations: G updates.
        lr_decay: ``"linear"`` (to 0 at ``iterations``) or ``"none"``.
        decay_start: iteration where the linear decay starts.
        ema: keep an exponential moving average of G (used for samples when on).
        ema_decay: EMA decay per G step.
        ema_start: iterations before which the EMA simply copies G.
        amp: ``"none"`` or ``"bf16"`` (``torch.autocast``; spectral norm stays float32).
        channels_last: use ``torch.channels_last`` for models and batches.
        compile: ``torch.compile`` the D and G step functions.
        compile_mode: ``mode`` argument of ``torch.compile``.
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
    weight_clip: Optional[float] = None
    update_order: Optional[str] = None
    batch_size: Optional[int] = None
    g_batch_size: Optional[int] = None
    iterations: Optional[int] = None
    lr_decay: Optional[str] = None
    decay_start: Optional[int] = None
    # options
    ema: bool = False
    ema_decay: float = 0.9999
    ema_start: int = 0
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
)

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
    "weight_clip": 0.0,
    "update_order": "g_first",
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
    if config.amp not in ("none", "bf16"):
        raise ValueError(f"amp must be 'none' or 'bf16', got {config.amp!r} (float16 needs a GradScaler, which is not supported)")
    if not 0.0 <= config.ema_decay <= 1.0:
        raise ValueError(f"ema_decay must be in [0, 1], got {config.ema_decay!r}")
    for name in ("optimizer_g", "optimizer_d"):
        if getattr(config, name) not in ("adam", "rmsprop", "sgd"):
            raise ValueError(f"{name} must be 'adam', 'rmsprop' or 'sgd', got {getattr(config, name)!r}")
    if config.update_order not in ("g_first", "d_first"):
        raise ValueError(f"update_order must be 'g_first' or 'd_first', got {config.update_order!r}")
    for name in ("momentum_d", "gp_weight", "r1_weight", "weight_clip"):
        v = getattr(config, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0 or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite float >= 0, got {v!r}")
    if not isinstance(config.loss_kwargs, dict):
        raise TypeError(f"loss_kwargs must be a dict, got {type(config.loss_kwargs).__name__}")
    if config.optimizer_impl not in ("auto", "fused", "foreach", "for-loop"):
        raise ValueError(f"optimizer_impl must be 'auto', 'fused', 'foreach' or 'for-loop', got {config.optimizer_impl!r}")
    if not (isinstance(config.width, (int, float)) and config.width > 0):
        raise ValueError(f"width must be a float > 0, got {config.width!r}")


def linear_decay(iteration: int, start: int, end: int) -> float:
    """Learning-rate factor of Chainer's ``LinearShift`` from 1 at ``start`` to 0 at ``end``.

    ``iteration`` counts completed G updates, so the first update uses factor 1 and the last
    (``end - 1``) uses ``1 / (end - start)``.

    Example::

        >>> [linear_decay(i, 0, 4) for i in range(5)]
        [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if iteration <= start:
        return 1.0
    if iteration >= end:
        return 0.0
    return 1.0 - (iteration - start) / (end - start)


class _LinearDecay:
    """Picklable-free callable for ``LambdaLR`` (its state_dict stores ``__dict__``: two ints)."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end

    def __call__(self, iteration: int) -> float:
        return linear_decay(iteration, self.start, self.end)


class _Constant:
    def __call__(self, iteration: int) -> float:
        return 1.0


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
def build_models(config: TrainConfig) -> Tuple[nn.Module, nn.Module, Any]:
    """Builds ``(G, D, hparams)`` for a config with ``specnorm_gan.build_gan``.

    Seeds torch's global generator with ``config.seed`` first, so initial weights are reproducible.

    Example::

        >>> G, D, hp = build_models(TrainConfig(preset="cifar10-resnet", width=0.125))  # doctest: +SKIP
    """
    from . import presets  # the models developer's module

    torch.manual_seed(config.seed)
    kwargs: Dict[str, Any] = dict(config.model_kwargs)
    for name in ("arch", "resolution", "num_classes", "in_channels", "z_dim"):
        value = getattr(config, name)
        if value is not None:
            kwargs[name] = value
    spec = presets.build_gan(config.preset, width=config.width, **kwargs)
    return spec.G, spec.D, spec.hparams


def _model_device(config: TrainConfig) -> torch.device:
    if config.device == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local)
        return torch.device("cpu")
    return torch.device(config.device)


# --------------------------------------------------------------------------------------------
# Distributed helpers
# --------------------------------------------------------------------------------------------
def init_distributed(device: str = "auto") -> Tuple[int, int]:
    """Initialises ``torch.distributed`` from ``torchrun``'s environment (no-op for one process).

    NCCL when training on CUDA, gloo otherwise. Returns ``(rank, world_size)``.

    Example::

        >>> init_distributed("cpu")  # outside torchrun
        (0, 1)
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and (device == "auto" or str(device).startswith("cuda"))
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


class _StopVote:
    """Agrees across ranks on "stop now" without stalling the device.

    Each iteration every rank contributes its local flag to an asynchronous MAX all-reduce on a
    CPU (gloo) group and reads the result of the previous iteration's reduce, so every rank
    decides at the same iteration. Single process: the local flag directly.
    """

    def __init__(self, group: Any) -> None:
        self.group = group
        self.work: Any = None
        self.buf: Optional[Tensor] = None

    def poll(self, local: bool) -> bool:
        if self.group is None:
            return local
        decided = False
        if self.work is not None:
            self.work.wait()
            decided = bool(int(self.buf[0]) > 0)  # CPU tensor: no device synchronisation
        self.buf = torch.tensor([1 if local else 0], dtype=torch.int32)
        self.work = dist.all_reduce(self.buf, op=dist.ReduceOp.MAX, group=self.group, async_op=True)
        return decided

    def finish(self) -> None:
        if self.work is not None:
            self.work.wait()
            self.work = None


# --------------------------------------------------------------------------------------------
# RNG state (plain tensors and containers only, for weights_only loading)
# --------------------------------------------------------------------------------------------
def _rng_state() -> Dict[str, Any]:
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: Dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": int(py_state[0]), "state": torch.tensor(py_state[1], dtype=torch.int64), "gauss": py_state[2]},
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
    }
    return state


def _set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss"]))
    if state.get("cuda") is not None and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def _mix_seed(*values: int) -> int:
    h = 0x243F6A8885A308D3
    for v in values:
        h = (h * 0x100000001B3 + int(v) + 0x9E3779B9) % (2**63)
    return h


# --------------------------------------------------------------------------------------------
# Checkpoint files
# --------------------------------------------------------------------------------------------
_CKPT_RE = re.compile(r"^ckpt_(\d{8,})\.pt$")


def _atomic_torch_save(obj: Any, path: Path) -> None:
    """Writes ``obj`` to a temporary file in ``path``'s folder, fsyncs it, renames it over ``path``, fsyncs the folder."""
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=str(folder))
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):
        dfd = os.open(str(folder), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _list_checkpoints(folder: Path) -> List[Tuple[int, Path]]:
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and p.is_file():
            out.append((int(m.group(1)), p))
    return sorted(out)


def find_checkpoint(path: Union[str, os.PathLike]) -> Path:
    """Resolves a checkpoint file from a file path, a run folder or its ``checkpoints`` folder (newest).

    Raises:
        CheckpointError: nothing found.

    Example::

        >>> find_checkpoint("runs/cifar10")  # doctest: +SKIP
        PosixPath('runs/cifar10/checkpoints/ckpt_00050000.pt')
    """
    p = Path(path)
    if p.is_file():
        return p
    for folder in (p / "checkpoints", p):
        found = _list_checkpoints(folder)
        if found:
            return found[-1][1]
    raise CheckpointError(f"no checkpoint found at {p} (expected a .pt file or a run folder with checkpoints/ckpt_*.pt)")


def load_checkpoint(path: Union[str, os.PathLike], map_location: Any = "cpu") -> Dict[str, Any]:
    """Reads a :class:`Trainer` checkpoint safely (``torch.load(weights_only=True)``) and checks its format.

    Args:
        path: a checkpoint file, or a run folder (its newest checkpoint).
        map_location: passed to ``torch.load``.

    Returns:
        the checkpoint dict (``"config"``, ``"iteration"``, ``"G"``, ``"D"``, ``"G_ema"``, ...).

    Raises:
        CheckpointError: unreadable, truncated, corrupted, or not a specnorm_gan checkpoint.

    Example::

        >>> ckpt = load_checkpoint("runs/cifar10")  # doctest: +SKIP
        >>> ckpt["iteration"]  # doctest: +SKIP
        50000
    """
    file = find_checkpoint(path)
    try:
        ckpt = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as e:
        others = [str(p) for _, p in _list_checkpoints(file.parent) if p != file]
        hint = f" Other checkpoints in {file.parent}: {others}." if others else ""
        raise CheckpointError(
            f"cannot read checkpoint {file}: {type(e).__name__}: {e}. The file is truncated, corrupted, or not a "
            f"checkpoint that loads with torch.load(weights_only=True).{hint}"
        ) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{file} is not a specnorm_gan training checkpoint (missing format tag {CHECKPOINT_FORMAT!r})")
    if int(ckpt.get("version", 0)) > _CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{file} has checkpoint version {ckpt.get('version')}, newer than this specnorm_gan supports ({_CHECKPOINT_VERSION})"
        )
    required = ("config", "iteration", "G", "D", "opt_g", "opt_d", "sched_g", "sched_d", "data", "rng")
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise CheckpointError(f"{file} is missing entries {missing}; it is incomplete or corrupted")
    ckpt["path"] = str(file)
    return ckpt


def _check_state_dict(module: nn.Module, state: Dict[str, Any], what: str, file: str) -> None:
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and isinstance(state[k], Tensor) and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append(f"shape mismatches {shapes[:5]}{'...' if len(shapes) > 5 else ''}")
        raise CheckpointError(f"{file}: {what} does not match this model ({'; '.join(parts)})")


def models_from_checkpoint(
    path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu"
) -> Tuple[nn.Module, nn.Module, Optional[nn.Module], TrainConfig, Dict[str, Any]]:
    """Rebuilds ``(G, D, G_ema or None, config, checkpoint)`` from a checkpoint, in eval mode.

    The models are rebuilt with ``build_gan`` from the saved config and loaded strictly.

    Example::

        >>> G, D, G_ema, cfg, ckpt = models_from_checkpoint("runs/cifar10")  # doctest: +SKIP
        >>> images = (G_ema or G).sample(16)  # doctest: +SKIP
    """
    ckpt = load_checkpoint(path)
    try:
        config = TrainConfig.from_dict(ckpt["config"])
    except Exception as e:
        raise CheckpointError(f"{ckpt['path']}: invalid saved config: {e}") from e
    G, D, _ = build_models(config)
    _check_state_dict(G, ckpt["G"], "G", ckpt["path"])
    _check_state_dict(D, ckpt["D"], "D", ckpt["path"])
    G.load_state_dict(ckpt["G"])
    D.load_state_dict(ckpt["D"])
    G_ema = None
    if ckpt.get("G_ema") is not None:
        G_ema = copy.deepcopy(G)
        _check_state_dict(G_ema, ckpt["G_ema"], "G_ema", ckpt["path"])
        G_ema.load_state_dict(ckpt["G_ema"])
        G_ema.to(device).eval()
    return G.to(device).eval(), D.to(device).eval(), G_ema, config, ckpt


def generator_from_checkpoint(
    path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu", ema: bool = True
) -> Tuple[nn.Module, bool, Dict[str, Any]]:
    """The generator to sample from: ``(G, is_ema, checkpoint)``, in eval mode.

    The EMA generator when ``ema`` is true and the checkpoint has one, else the raw ``G``.

    Example::

        >>> G, is_ema, ckpt = generator_from_checkpoint("runs/cifar10")  # doctest: +SKIP
    """
    G, _, G_ema, _, ckpt = models_from_checkpoint(path, device=device)
    if ema and G_ema is not None:
        return G_ema, True, ckpt
    return G, False, ckpt


# --------------------------------------------------------------------------------------------
# Allocator launcher helper
# --------------------------------------------------------------------------------------------
def reexec_with_allocator_settings(disable: bool = False) -> str:
    """Re-executes the current Python program with :data:`ALLOCATOR_SETTINGS` when the user has not set them.

    For launcher scripts (``examples/train.py``): glibc's malloc returns large freed buffers to
    the OS and maps them again on the next step; on a small CPU the page faults cost 20-30% of a
    GAN step. The variables only take effect at process start, hence the re-exec (same pid, so it
    works under ``torchrun``). Does nothing when disabled, when either variable is already set,
    off glibc, or after the re-exec. Returns a message for the log.

    Example::

        >>> msg = reexec_with_allocator_settings(disable=True)
        >>> msg.startswith("allocator")
        True
    """
    settings = " ".join(f"{k}={v}" for k, v in ALLOCATOR_SETTINGS.items())
    if os.environ.get(_REEXEC_MARK) == "1":
        return f"allocator: re-executed with {settings} (disable with --no-allocator-tuning)"
    user = {k: os.environ[k] for k in ALLOCATOR_SETTINGS if k in os.environ}
    if user:
        return f"allocator: using the user's settings {' '.join(f'{k}={v}' for k, v in user.items())}"
    if disable:
        return "allocator: glibc defaults (tuning disabled)"
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return "allocator: not glibc, settings left alone"
    env = dict(os.environ)
    env.update(ALLOCATOR_SETTINGS)
    env[_REEXEC_MARK] = "1"
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable] + sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
    return "unreachable"  # pragma: no cover


# --------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------
_METRICS = ("loss_g", "loss_d", "d_real", "d_fake")
# Columns of eval.csv taken from the evaluator's result (empty when a metric is not evaluated).
_EVAL_COLUMNS = ("is_mean", "is_std", "fid", "kid_mean", "kid_std", "intra_fid")


def _eval_key(result: Dict[str, Any]) -> str:
    # What an evaluation was measured with: results are comparable only under equal keys.
    pipeline = result["pipeline"]
    return f"{result['protocol']} | {pipeline['feature_extractor']} | {pipeline['reference']}"


class Trainer:
    """The reference SNGAN training loop.

    Args:
        config: the run's :class:`TrainConfig` (``None`` fields come from the preset).
        data: the training images (:class:`~specnorm_gan.data.ImageDataset`), already at the
            model's resolution and channel count; moved to the training device if it is not there.
        G, D: models to train instead of ``build_gan(config...)`` (they must follow the library's
            contract: ``G(z, y)``, ``G.z_dim``, ``G.num_classes``, ``D(x, y) -> (N,)``).
        hparams: the preset hyperparameters matching custom ``G``/``D`` (optional).

    Example::

        >>> data = load_dataset("cifar10_train.npz")  # doctest: +SKIP
        >>> trainer = Trainer(TrainConfig(preset="cifar10-resnet", width=0.25, iterations=1000), data)  # doctest: +SKIP
        >>> trainer.train()  # doctest: +SKIP
    """

    def __init__(
        self,
        config: TrainConfig,
        data: ImageDataset,
        G: Optional[nn.Module] = None,
        D: Optional[nn.Module] = None,
        hparams: Any = None,
    ) -> None:
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        if not isinstance(data, ImageDataset):
            raise TypeError(f"data must be a specnorm_gan.data.ImageDataset, got {type(data).__name__}")
        if (G is None) != (D is None):
            raise ValueError("pass both G and D, or neither (to build them from the config)")
        self.distributed = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.distributed else 0
        self.world_size = dist.get_world_size() if self.distributed else 1
        self.is_main = self.rank == 0
        self.device = _model_device(config)
        if self.device.type == "cuda" and self.device.index is not None:
            torch.cuda.set_device(self.device)

        if G is None:
            G, D, hparams = build_models(config)
        assert D is not None
        self.config = _resolve(config, hparams, G)
        _validate(self.config)
        cfg = self.config
        for name in ("batch_size", "g_batch_size"):
            if getattr(cfg, name) % self.world_size:
                raise ValueError(f"{name} ({getattr(cfg, name)}) must be divisible by the number of processes ({self.world_size})")
        self.batch_size = cfg.batch_size // self.world_size
        self.g_batch_size = cfg.g_batch_size // self.world_size

        # ---- models ----
        self.num_classes = int(getattr(G, "num_classes", 0) or 0)
        self.z_dim = int(G.z_dim)
        self._uniform_z = getattr(G, "z_dist", "normal") == "uniform"
        d_classes = int(getattr(D, "num_classes", self.num_classes) or 0)
        if d_classes != self.num_classes:
            raise ValueError(f"G is conditional on {self.num_classes} classes but D on {d_classes}")
        if self.num_classes:
            if data.num_classes == 0:
                raise ValueError(
                    f"the model is conditional ({self.num_classes} classes) but dataset {data.name!r} has no labels; "
                    f"train unconditionally (num_classes=0) or use a labelled dataset"
                )
            if data.num_classes != self.num_classes:
                raise ValueError(
                    f"the model is conditional on {self.num_classes} classes but dataset {data.name!r} has {data.num_classes}"
                )
        res = getattr(G, "resolution", None)
        if res is not None and (data.images.shape[2] != res or data.images.shape[3] != res):
            raise ValueError(
                f"dataset {data.name!r} has {tuple(data.images.shape[2:])} images but the model makes {res}x{res}; "
                f"load it with resolution={res}"
            )
        ch = getattr(G, "out_channels", None)
        if ch is not None and data.channels != ch:
            raise ValueError(f"dataset {data.name!r} has {data.channels} channels but the model has {ch}; load it with channels={ch}")

        mf = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G = G.to(self.device, memory_format=mf).train()
        self.D = D.to(self.device, memory_format=mf).train()
        self.G_ema: Optional[nn.Module] = None
        if cfg.ema:
            self.G_ema = copy.deepcopy(self.G).eval()
            for p in self.G_ema.parameters():
                p.requires_grad_(False)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            # broadcast_buffers=True: rank 0's SN u/v (and BN statistics) are sent to every rank at
            # each forward, so all ranks use the same sigma (trap 3 of the reference notes). Newer
            # torch spells it forward_sync_buffers.
            import inspect

            sync = (
                {"forward_sync_buffers": True}
                if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
                else {"broadcast_buffers": True}
            )
            self.G_ddp: nn.Module = DDP(self.G, device_ids=ids, **sync)
            self.D_ddp: nn.Module = DDP(self.D, device_ids=ids, **sync)
            self._ctrl_group = dist.new_group(backend="gloo")
        else:
            self.G_ddp, self.D_ddp = self.G, self.D
            self._ctrl_group = None

        # ---- optimisation ----
        self.loss_fn = get_loss(cfg.loss, **cfg.loss_kwargs)
        self.opt_g = self._make_optimizer(self.G.parameters(), cfg.optimizer_g, cfg.lr_g, cfg.betas_g, 0.0)
        self.opt_d = self._make_optimizer(self.D.parameters(), cfg.optimizer_d, cfg.lr_d, cfg.betas_d, cfg.momentum_d)
        schedule: Callable[[int], float] = (
            _LinearDecay(cfg.decay_start, cfg.iterations) if cfg.lr_decay == "linear" else _Constant()
        )
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, schedule)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, copy.copy(schedule))

        # ---- data and noise ----
        if data.device != self.device:
            data = _maybe_to_device(data, self.device)
        self.data = data
        self.loader = InMemoryLoader(
            data, self.batch_size, device=self.device, seed=_mix_seed(cfg.seed, 1), rank=self.rank, world_size=self.world_size
        )
        self.noise_gen = torch.Generator(device=self.device)
        self.noise_gen.manual_seed(_mix_seed(cfg.seed, 2, self.rank))
        n_rows = min(cfg.sample_rows, self.num_classes) if self.num_classes else cfg.sample_rows
        g = torch.Generator().manual_seed(_mix_seed(cfg.seed, 3))
        self.fixed_z = torch.randn(n_rows * cfg.sample_cols, self.z_dim, generator=g)
        if self._uniform_z:
            self.fixed_z = torch.rand(n_rows * cfg.sample_cols, self.z_dim, generator=g).mul_(2).sub_(1)
        self.fixed_z = self.fixed_z.to(self.device)
        self.fixed_y: Optional[Tensor] = (
            torch.arange(n_rows).repeat_interleave(cfg.sample_cols).to(self.device) if self.num_classes else None
        )

        #: Plain data (str/int/float/list/dict) saved with checkpoints, e.g. the launcher's data arguments.
        self.extra: Dict[str, Any] = {}
        self.iteration = 0
        self.elapsed = 0.0
        self.last_checkpoint: Optional[str] = None
        self._autocast_dtype = torch.bfloat16 if cfg.amp == "bf16" else None
        # Per-iteration metrics stay on the device until the next log read (at most 4096 rows: a
        # longer log interval just reads them more often).
        self._hist = torch.zeros(min(cfg.log_every, 4096), len(_METRICS), device=self.device)
        self._hist_count = 0
        self._hist_start = 0
        self._stop_signal: Optional[int] = None
        self._csv_file: Any = None
        self._csv: Any = None
        self._tb: Any = None
        self._last_log_time = time.perf_counter()
        self._last_log_iter = 0
        self._run_start: Optional[float] = None
        self._d_step_fn = self._d_forward
        self._g_step_fn = self._g_forward
        if cfg.compile:
            kw = {"mode": cfg.compile_mode} if cfg.compile_mode else {}
            self._d_step_fn = torch.compile(self._d_forward, **kw)
            self._g_step_fn = torch.compile(self._g_forward, **kw)
        if self.is_main and cfg.out_dir is not None:
            _require_torchvision_for_samples()
        #: The :class:`specnorm_gan.metrics.Evaluator` of periodic evaluation (main rank, ``eval_every > 0``), else None.
        self.evaluator: Any = self._build_evaluator() if cfg.eval_every and self.is_main else None
        #: Best FID so far: ``{"fid", "iteration", "key"}`` (``key``: protocol, feature extractor and reference
        #: it was measured with), or None. Saved with checkpoints.
        self.best_fid: Optional[Dict[str, Any]] = None
        self._warned_no_plot = False

    # ------------------------------------------------------------------ construction helpers
    def _make_optimizer(
        self, params: Any, kind: str, lr: float, betas: Tuple[float, float], momentum: float
    ) -> torch.optim.Optimizer:
        impl = self.config.optimizer_impl
        cls: Any
        if kind == "adam":
            cls, kw = torch.optim.Adam, {"lr": lr, "betas": tuple(betas)}
        elif kind == "rmsprop":
            cls, kw = torch.optim.RMSprop, {"lr": lr}
        else:
            cls, kw = torch.optim.SGD, {"lr": lr, "momentum": momentum}
        params = list(params)
        if impl in ("auto", "fused"):
            try:
                return cls(params, fused=True, **kw)
            except (RuntimeError, TypeError, ValueError):
                if impl == "fused":
                    raise
        if impl in ("auto", "foreach"):
            return cls(params, foreach=True, **kw)
        return cls(params, foreach=False, **kw)

    def _autocast(self) -> Any:
        if self._autocast_dtype is None:
            return _nullcontext()
        return torch.autocast(self.device.type, dtype=self._autocast_dtype)

    # ------------------------------------------------------------------ the steps
    def _labels(self, n: int) -> Optional[Tensor]:
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (n,), generator=self.noise_gen, device=self.device)

    def _noise(self, n: int) -> Tensor:
        if self._uniform_z:
            return torch.rand(n, self.z_dim, generator=self.noise_gen, device=self.device).mul_(2).sub_(1)
        return torch.randn(n, self.z_dim, generator=self.noise_gen, device=self.device)

    def _g_forward(self, z: Tensor, y: Optional[Tensor]) -> Tensor:
        with self._autocast():
            fake = self.G_ddp(z, y)
            logits = self.D(fake, y)  # D in training mode (its power iteration advances), parameters frozen
        return self.loss_fn.g_loss(logits.float())

    def _d_forward(self, x_real: Tensor, y_real: Optional[Tensor], z: Tensor, y_fake: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        with self._autocast():
            with torch.no_grad():
                fake = self.G(z, y_fake)
            if self.config.channels_last:
                fake = fake.contiguous(memory_format=torch.channels_last)
            x = torch.cat([x_real, fake.to(x_real.dtype)])
            y = torch.cat([y_real, y_fake]) if y_fake is not None and y_real is not None else None
            logits = self.D_ddp(x, y)
        logits = logits.float().view(-1)
        n = x_real.shape[0]
        real, fake_logits = logits[:n], logits[n:]
        loss = self.loss_fn.d_loss(real, fake_logits)
        stats = torch.stack([loss.detach(), real.detach().mean(), fake_logits.detach().mean()])
        # Penalties run an extra D forward on the raw module (gradients still reach DDP's hooks once).
        if self.config.gp_weight:
            with self._autocast():
                gp = gradient_penalty(self.D, x_real, fake.to(x_real.dtype), y_real, generator=self.noise_gen)
            loss = loss + self.config.gp_weight * gp.float()
        if self.config.r1_weight:
            with self._autocast():
                r1 = r1_penalty(self.D, x_real, y_real)
            loss = loss + self.config.r1_weight * r1.float()
        return loss, stats

    def g_step(self) -> Tensor:
        """One G update (D frozen, in training mode). Returns the detached loss (no host sync)."""
        z = self._noise(self.g_batch_size)
        y = self._labels(self.g_batch_size)
        self.D.requires_grad_(False)
        try:
            loss = self._g_step_fn(z, y)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.D.requires_grad_(True)
        self.opt_g.step()
        return loss.detach()

    def d_step(self, x_real: Optional[Tensor] = None, y_real: Optional[Tensor] = None) -> Tensor:
        """One D update on a real batch (next from the loader by default) and fresh fakes.

        Returns a detached tensor ``[loss_d, mean D(real), mean D(fake)]`` (no host sync).
        """
        if x_real is None:
            x_u8, y_real = self.loader.next_batch()
            x_real = to_float_images(x_u8, self.config.dequantize, self.noise_gen, self.config.channels_last)
        if not self.num_classes:
            y_real = None
        z = self._noise(self.batch_size)
        y_fake = self._labels(self.batch_size)
        loss, stats = self._d_step_fn(x_real, y_real, z, y_fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.config.weight_clip:
            with torch.no_grad():
                c = self.config.weight_clip
                for p in self.D.parameters():
                    p.clamp_(-c, c)
        return stats

    def _d_steps(self) -> Tensor:
        d_stats = self.d_step()
        for _ in range(self.config.n_dis - 1):
            d_stats = d_stats + self.d_step()
        return d_stats

    def train_iteration(self) -> None:
        """One iteration: G step, ``n_dis`` D steps (D steps first with ``update_order="d_first"``), EMA update, LR schedule."""
        cfg = self.config
        d_first = cfg.update_order == "d_first"
        if d_first:
            d_stats = self._d_steps()
        loss_g = self.g_step()
        if not d_first:
            d_stats = self._d_steps()
        if self.G_ema is not None:
            # After the D steps: G's parameters only change in the G step, but its BN running statistics
            # also move when the D steps generate fakes (train mode, as in the official code).
            ema_update_(self.G_ema, self.G, cfg.ema_decay if self.iteration >= cfg.ema_start else 0.0)
        self.sched_g.step()
        self.sched_d.step()
        if self._hist_count == self._hist.shape[0]:  # called outside train() past a log interval
            self._flush_metrics()
        row = self._hist[self._hist_count]
        row[0].copy_(loss_g)
        row[1:].copy_(d_stats / cfg.n_dis)
        self._hist_count += 1
        self.iteration += 1

    # ------------------------------------------------------------------ logging
    def _open_logs(self) -> None:
        cfg = self.config
        if not self.is_main or cfg.out_dir is None or self._csv is not None:
            return
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "metrics.csv"
        new = not path.exists() or path.stat().st_size == 0
        self._csv_file = open(path, "a", newline="")
        self._csv = csv.writer(self._csv_file)
        if new:
            self._csv.writerow(
                ["iteration", "time_s", *_METRICS, "lr_g", "lr_d", "sigma_max", "sigma_min", "it_per_s", "images_per_s"]
            )
            self._csv_file.flush()
        if cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(out / "tensorboard"))
            except Exception:  # tensorboard not installed
                self._tb = None
        with open(out / "config.json", "w") as f:
            json.dump(cfg.to_dict(), f, indent=2, default=str)

    def _close_logs(self) -> None:
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = self._csv = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def _flush_metrics(self) -> Optional[Dict[str, float]]:
        """Reads the metrics of the iterations since the last flush (one host sync); raises on non-finite losses."""
        count = self._hist_count
        if count == 0:
            return None
        values = self._hist[:count].cpu().numpy().astype(np.float64)
        start = self._hist_start
        finite = np.isfinite(values).all(axis=1)
        bad_local = int(start + np.argmin(finite) + 1) if not finite.all() else 0
        bad = bad_local
        if self._ctrl_group is not None:
            t = torch.tensor([bad_local if bad_local else 2**62], dtype=torch.int64)
            dist.all_reduce(t, op=dist.ReduceOp.MIN, group=self._ctrl_group)
            bad = int(t[0]) if int(t[0]) < 2**62 else 0
        self._hist_count = 0
        self._hist_start = self.iteration
        if bad:
            row = values[bad - start - 1] if bad_local == bad else None
            detail = ", ".join(f"{k}={v:.4g}" for k, v in zip(_METRICS, row)) if row is not None else "on another rank"
            raise NonFiniteLossError(
                f"non-finite loss at iteration {bad} ({detail}); training stopped. The last good checkpoint is "
                f"{self.last_checkpoint or '(none written yet)'}. Lower the learning rates, check the data, or turn off amp.",
                bad,
                self.last_checkpoint,
            )
        now = time.perf_counter()
        dt = max(now - self._last_log_time, 1e-9)
        its = (self.iteration - self._last_log_iter) / dt
        self._last_log_time, self._last_log_iter = now, self.iteration
        means = values.mean(axis=0)
        sig = list(spectral_norms(self.D).values())
        if sig:
            s = torch.stack([v.float() for v in sig])
            smax, smin = (float(v) for v in torch.stack([s.max(), s.min()]).cpu())
        else:
            smax = smin = float("nan")
        metrics = {k: float(v) for k, v in zip(_METRICS, means)}
        metrics.update(
            lr_g=_lr_used(self.sched_g, self.iteration - 1),
            lr_d=_lr_used(self.sched_d, self.iteration - 1),
            sigma_max=smax,
            sigma_min=smin,
            it_per_s=its,
            images_per_s=its * self.config.n_dis * self.config.batch_size,
        )
        if self.is_main:
            elapsed = self.elapsed + (now - self._run_start if self._run_start is not None else 0.0)
            if self._csv is not None:
                self._csv.writerow([self.iteration, f"{elapsed:.3f}"] + [f"{metrics[k]:.6g}" for k in list(metrics)])
                self._csv_file.flush()
            if self._tb is not None:
                for k, v in metrics.items():
                    self._tb.add_scalar(k, v, self.iteration)
            logger.info(
                "it %d/%d  loss_d %.4f  loss_g %.4f  D(real) %.3f  D(fake) %.3f  sigma %.3f..%.3f  lr %.2e  %.2f it/s  %.0f img/s",
                self.iteration,
                self.config.iterations,
                metrics["loss_d"],
                metrics["loss_g"],
                metrics["d_real"],
                metrics["d_fake"],
                smin,
                smax,
                metrics["lr_g"],
                its,
                metrics["images_per_s"],
            )
        return metrics

    # ------------------------------------------------------------------ samples
    @torch.no_grad()
    def generate_grid(self) -> Tensor:
        """Images from the fixed ``z`` (EMA G when on), one row per class for conditional models, in ``[-1, 1]``."""
        G = self.G_ema if self.G_ema is not None else self.G
        was_training = G.training
        G.eval()
        try:
            out = []
            for i in range(0, self.fixed_z.shape[0], max(self.batch_size, 1)):
                y = self.fixed_y[i : i + self.batch_size] if self.fixed_y is not None else None
                with self._autocast():
                    out.append(G(self.fixed_z[i : i + self.batch_size], y).float())
            return torch.cat(out)
        finally:
            G.train(was_training)

    def save_samples(self, path: Optional[Union[str, os.PathLike]] = None) -> Optional[str]:
        """Writes the fixed-``z`` grid as a PNG (rank 0); returns its path."""
        if (self.config.out_dir is None and path is None) or not self.is_main:
            return None
        images = self.generate_grid()
        if path is None:
            folder = Path(self.config.out_dir) / "samples"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"iter_{self.iteration:08d}.png"
        from torchvision.utils import save_image

        save_image(images.cpu(), str(path), nrow=self.config.sample_cols, normalize=True, value_range=(-1, 1))
        return str(path)

    # ------------------------------------------------------------------ evaluation
    def _build_evaluator(self) -> Any:
        """The periodic evaluator (``specnorm_gan.metrics``, imported here: it is an optional extra)."""
        from . import metrics  # imports no optional package itself

        cfg = self.config
        reference: Any = cfg.eval_reference if cfg.eval_reference is not None else self.data
        try:
            evaluator = metrics.Evaluator(
                reference,
                metrics=tuple(cfg.eval_metrics),
                protocol=cfg.eval_protocol,
                feature_extractor=cfg.eval_feature_extractor or metrics.DEFAULT_FEATURE_EXTRACTOR,
                inception_weights=cfg.inception_weights,
                device=self.device,
                batch_size=max(self.g_batch_size, self.batch_size),
                seed=cfg.seed,
            )
        except ImportError as e:
            raise ImportError(
                f"eval_every={cfg.eval_every} (--eval-every) evaluates G with torch-fidelity: install the metrics "
                f"extra with `pip install specnorm-gan[metrics]`, or set eval_every=0 ({e})"
            ) from e
        ref, n_ref = evaluator.reference, evaluator.protocol.fid_reference_samples
        uses_ref = any(k in evaluator.metrics for k in ("fid", "kid"))
        if uses_ref and ref is not None and ref.kind == "array" and n_ref is not None and len(ref) < n_ref:
            raise ValueError(
                f"eval_protocol {cfg.eval_protocol!r} compares with {n_ref} reference images but the reference "
                f"{ref.name!r} has {len(ref)}; use eval_protocol='50k' (the whole reference set) or a larger eval_reference"
            )
        if "intra_fid" in evaluator.metrics and (not self.num_classes or cfg.eval_samples // self.num_classes < 2):
            raise ValueError(
                f"eval_metrics intra_fid needs a conditional model and eval_samples >= 2 per class "
                f"(num_classes={self.num_classes}, eval_samples={cfg.eval_samples})"
            )
        return evaluator

    def evaluate(self) -> Optional[Dict[str, Any]]:
        """Evaluates the EMA G (G when EMA is off) now, on the main rank, and records the result.

        Writes a row of ``out_dir/eval.csv`` and a line of ``out_dir/eval.jsonl`` (the full result with its
        pipeline), logs to TensorBoard and the log, writes ``checkpoints/best_fid.pt`` when the FID improved and
        redraws ``eval_curves.png``. The random-number generators of training are left as they were (the
        evaluator draws its latents from its own seeded generator), so evaluating does not change the run.
        Other ranks return None at once: nothing here is collective.

        Returns:
            The :meth:`specnorm_gan.metrics.Evaluator.evaluate_generator` result, or None off the main rank or
            when ``eval_every`` is 0.

        Example::

            >>> trainer = Trainer(TrainConfig(preset="cifar10-resnet", eval_every=1000), data)  # doctest: +SKIP
            >>> trainer.evaluate()["fid"]  # doctest: +SKIP
        """
        if self.evaluator is None:
            return None
        cfg = self.config
        G = self.G_ema if self.G_ema is not None else self.G  # the raw module, never the DDP wrapper
        kw: Dict[str, Any] = {}
        if "intra_fid" in self.evaluator.metrics:
            kw["intra_fid_samples_per_class"] = cfg.eval_samples // self.num_classes
        start = time.perf_counter()
        rng = _rng_state()
        try:
            result = self.evaluator.evaluate_generator(G, num_samples=cfg.eval_samples, step=self.iteration, **kw)
        finally:
            _set_rng_state(rng)
        seconds = time.perf_counter() - start
        self._last_log_time += seconds  # it/s measures training only
        pipeline = result["pipeline"]
        key = _eval_key(result)
        improved = False
        if "fid" in result:
            if self.best_fid is not None and self.best_fid.get("key") != key:
                logger.info("eval: best FID so far was measured with %s; starting anew with %s", self.best_fid.get("key"), key)
                self.best_fid = None
            if self.best_fid is None or result["fid"] < self.best_fid["fid"]:
                self.best_fid = {"fid": float(result["fid"]), "iteration": self.iteration, "key": key}
                improved = True
        columns = {k: result.get(k, "") for k in _EVAL_COLUMNS}
        parts = []
        if "is_mean" in result:
            parts.append(f"IS {result['is_mean']:.3f} ± {result['is_std']:.3f}")
        for k, label in (("fid", "FID"), ("kid_mean", "KID"), ("intra_fid", "intra-FID")):
            if k in result:
                parts.append(f"{label} {result[k]:.4g}")
        if self.best_fid is not None:
            parts.append(f"best FID {self.best_fid['fid']:.4g} @ {self.best_fid['iteration']}")
        logger.info("eval it %d (%s, %s): %s  %.1f s", self.iteration, result["protocol"], pipeline["feature_extractor"],
                    "  ".join(parts), seconds)
        if self._tb is not None:
            for k in _EVAL_COLUMNS:
                if isinstance(columns[k], float):
                    self._tb.add_scalar(f"eval/{k}", columns[k], self.iteration)
        if cfg.out_dir is None:
            return result
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "eval.csv"
        new = not path.exists() or path.stat().st_size == 0
        with open(path, "a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["iteration", *_EVAL_COLUMNS, "protocol", "feature_extractor", "reference", "eval_s"])
            writer.writerow([self.iteration, *(repr(v) if isinstance(v, float) else v for v in columns.values()),
                             result["protocol"], pipeline["feature_extractor"], pipeline["reference"], f"{seconds:.3f}"])
        with open(out / "eval.jsonl", "a") as f:
            f.write(json.dumps(result) + "\n")
        if improved:
            folder = out / "checkpoints"
            folder.mkdir(parents=True, exist_ok=True)
            _atomic_torch_save(self._state(gather=False), folder / "best_fid.pt")
        self._plot_eval_curves(out, result, key)
        return result

    def _plot_eval_curves(self, out: Path, result: Dict[str, Any], key: str) -> None:
        """Redraws ``eval_curves.png`` from ``eval.jsonl`` (the evaluations measured like ``result``)."""
        from . import metrics

        rows = []
        with open(out / "eval.jsonl") as f:
            for line in f:
                r = json.loads(line) if line.strip() else None
                if r and _eval_key(r) == key:
                    rows.append(r)
        try:
            metrics.plot_metric_curves(rows, out / "eval_curves.png", title=key)
        except ImportError as e:
            if not self._warned_no_plot:
                logger.info("eval: not drawing eval_curves.png (%s)", e)
                self._warned_no_plot = True

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume (plain tensors and containers)."""
        return self._state(gather=True)

    def _state(self, gather: bool) -> Dict[str, Any]:
        # gather=False: no collective (rank 0 alone, for best_fid.pt); only this rank's noise state is saved
        noise = self.noise_gen.get_state()
        if gather and self._ctrl_group is not None:
            states: List[Any] = [None] * self.world_size
            dist.all_gather_object(states, noise.cpu(), group=self._ctrl_group)
        else:
            states = [noise.cpu()]
        return {
            "format": CHECKPOINT_FORMAT,
            "version": _CHECKPOINT_VERSION,
            "torch_version": str(torch.__version__),
            "iteration": self.iteration,
            "elapsed_s": float(self.elapsed + (time.perf_counter() - self._run_start if self._run_start is not None else 0.0)),
            "config": self.config.to_dict(),
            "world_size": self.world_size,
            "dataset": {"name": self.data.name, "num_images": len(self.data), "num_classes": self.data.num_classes},
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "data": self.loader.state_dict(),
            "rng": {**_rng_state(), "noise": states},
            "fixed_z": self.fixed_z.cpu(),
            "fixed_y": self.fixed_y.cpu() if self.fixed_y is not None else None,
            "extra": dict(self.extra),
            "eval": {"best_fid": dict(self.best_fid) if self.best_fid is not None else None},
        }

    def replica_mismatches(self) -> List[str]:
        """Names of G/D parameters and D buffers (spectral-norm ``u``/``v``) that differ between ranks.

        Empty for one process. Collective: call on every rank. Compares exact bytes (a digest per
        tensor), so it is cheap enough to run at every checkpoint, where the trainer calls it.

        Example::

            >>> trainer.replica_mismatches()  # doctest: +SKIP
            []
        """
        if self._ctrl_group is None:
            return []
        digests: Dict[str, str] = {}
        named = [("G." + n, t) for n, t in self.G.named_parameters()]
        named += [("D." + n, t) for n, t in self.D.named_parameters()]
        named += [("D." + n, t) for n, t in self.D.named_buffers()]
        for name, t in named:
            data = t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy()
            digests[name] = hashlib.sha1(data.tobytes()).hexdigest()
        everyone: List[Any] = [None] * self.world_size
        dist.all_gather_object(everyone, digests, group=self._ctrl_group)
        return sorted(k for k in digests if any(other.get(k) != digests[k] for other in everyone))

    def save_checkpoint(self) -> Optional[str]:
        """Writes ``out_dir/checkpoints/ckpt_<iteration>.pt`` atomically (rank 0), keeps the newest N.

        Call on every rank in distributed runs (the RNG states of all ranks are gathered).
        """
        state = self.state_dict()
        if self._ctrl_group is not None:
            bad = self.replica_mismatches()
            if bad and self.is_main:
                logger.warning("replica check: ranks disagree on %d tensors (%s)", len(bad), ", ".join(bad[:5]))
            elif self.is_main:
                logger.info("replica check: ok (%d processes hold identical G/D weights and D spectral-norm vectors)", self.world_size)
        if not self.is_main or self.config.out_dir is None:
            return None
        folder = Path(self.config.out_dir) / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ckpt_{self.iteration:08d}.pt"
        _atomic_torch_save(state, path)
        self.last_checkpoint = str(path)
        for _, old in _list_checkpoints(folder)[: -self.config.keep_checkpoints]:
            try:
                old.unlink()
            except OSError:
                pass
        return str(path)

    def load_state_dict(self, ckpt: Dict[str, Any], allow_changes: Sequence[str] = ()) -> None:
        """Restores a checkpoint (see :func:`load_checkpoint`); the model structure must match.

        Everything is validated before anything is changed; a mismatch raises
        :class:`CheckpointError`. Config fields that differ from the checkpoint's (other than
        output settings and ``allow_changes``) are logged as warnings.
        """
        file = ckpt.get("path", "<checkpoint>")
        saved = ckpt["config"]
        current = self.config.to_dict()
        diffs = [k for k in _STRUCTURAL_FIELDS if _norm(saved.get(k)) != _norm(current.get(k))]
        if diffs:
            detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs run {current.get(k)!r}" for k in diffs)
            raise CheckpointError(f"{file} was trained with a different model ({detail})")
        _check_state_dict(self.G, ckpt["G"], "G", file)
        _check_state_dict(self.D, ckpt["D"], "D", file)
        if self.G_ema is not None and ckpt.get("G_ema") is not None:
            _check_state_dict(self.G_ema, ckpt["G_ema"], "G_ema", file)
        ds = ckpt.get("dataset", {})
        if int(ds.get("num_images", len(self.data))) != len(self.data):
            raise CheckpointError(
                f"{file} was trained on {ds.get('name')!r} with {ds.get('num_images')} images; this dataset "
                f"({self.data.name!r}) has {len(self.data)}"
            )
        if int(ckpt["data"].get("global_batch_size", self.config.batch_size)) != self.config.batch_size:
            logger.warning("batch size changed since the checkpoint: the data order will differ from an uninterrupted run")
        quiet = {"out_dir", "log_every", "sample_every", "ckpt_every", "keep_checkpoints", "progress", "tensorboard", "device"}
        quiet |= {f.name for f in dataclasses.fields(TrainConfig) if f.name.startswith("eval_")} | {"inception_weights"}
        changed = [k for k in current if k not in quiet and k not in allow_changes and _norm(saved.get(k)) != _norm(current[k])]
        if changed:
            logger.warning(
                "resuming with settings that differ from the checkpoint: %s",
                ", ".join(f"{k} {saved.get(k)!r} -> {current[k]!r}" for k in changed),
            )
        try:
            self.G.load_state_dict(ckpt["G"])
            self.D.load_state_dict(ckpt["D"])
            if self.G_ema is not None:
                self.G_ema.load_state_dict(ckpt["G_ema"] if ckpt.get("G_ema") is not None else ckpt["G"])
            self.opt_g.load_state_dict(ckpt["opt_g"])
            self.opt_d.load_state_dict(ckpt["opt_d"])
            self.sched_g.load_state_dict(ckpt["sched_g"])
            self.sched_d.load_state_dict(ckpt["sched_d"])
            self.loader.load_state_dict(ckpt["data"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{file} does not match this run: {e}") from e
        # the schedule follows the (possibly changed) length of the run
        for sched, lr in ((self.sched_g, self.config.lr_g), (self.sched_d, self.config.lr_d)):
            sched.base_lrs = [lr for _ in sched.base_lrs]
            fn = sched.lr_lambdas[0]
            if isinstance(fn, _LinearDecay):
                fn.start, fn.end = self.config.decay_start, self.config.iterations
            for group, base in zip(sched.optimizer.param_groups, sched.base_lrs):
                group["lr"] = base * fn(int(ckpt["iteration"]))
            sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]
        rng = ckpt["rng"]
        _set_rng_state(rng)
        noise_states = rng.get("noise") or []
        if len(noise_states) == self.world_size:
            self.noise_gen.set_state(noise_states[self.rank])
        else:
            logger.warning(
                "checkpoint written by %d processes, resuming on %d: noise streams re-seeded", len(noise_states), self.world_size
            )
            self.noise_gen.manual_seed(_mix_seed(self.config.seed, 2, self.rank, int(ckpt["iteration"])))
        if ckpt.get("fixed_z") is not None and tuple(ckpt["fixed_z"].shape) == tuple(self.fixed_z.shape):
            self.fixed_z = ckpt["fixed_z"].to(self.device)
        self.extra = dict(ckpt.get("extra") or {})
        best = (ckpt.get("eval") or {}).get("best_fid")
        self.best_fid = dict(best) if best is not None else None
        self.iteration = int(ckpt["iteration"])
        self._hist_start = self.iteration
        self._last_log_iter = self.iteration
        self.elapsed = float(ckpt.get("elapsed_s", 0.0))
        self.last_checkpoint = str(file)

    def resume(self, path: Union[str, os.PathLike], allow_changes: Sequence[str] = ()) -> int:
        """Loads the checkpoint at ``path`` (file or run folder); returns the iteration reached."""
        self.load_state_dict(load_checkpoint(path), allow_changes=allow_changes)
        logger.info("resumed from %s at iteration %d", self.last_checkpoint, self.iteration)
        return self.iteration

    # ------------------------------------------------------------------ the loop
    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop_signal is not None:  # second signal: stop right away
            raise KeyboardInterrupt
        self._stop_signal = signum
        if self.is_main:
            logger.warning("%s received: writing a checkpoint and stopping", signal.Signals(signum).name)

    def train(self, stop_at: Optional[int] = None) -> Dict[str, float]:
        """Runs until ``config.iterations`` (or until ``stop_at``) and returns the last logged metrics.

        Writes metrics every ``log_every``, samples every ``sample_every``, checkpoints every
        ``ckpt_every`` iterations and at the end (also when stopped by ``stop_at`` or a signal).

        Args:
            stop_at: stop after this iteration (with a checkpoint), e.g. to split a run into jobs;
                the learning-rate schedule still follows ``config.iterations``.

        Raises:
            NonFiniteLossError: a loss became NaN/Inf (no checkpoint is written after it).
            TrainingInterrupted: SIGINT/SIGTERM (after writing a checkpoint).
        """
        cfg = self.config
        end = cfg.iterations if stop_at is None else min(int(stop_at), cfg.iterations)
        self._open_logs()
        bar = self._progress_bar(end)
        handlers: Dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                handlers[s] = signal.signal(s, self._on_signal)
        vote = _StopVote(self._ctrl_group)
        self._run_start = time.perf_counter()
        self._last_log_time = self._run_start
        self._last_log_iter = self.iteration
        self._hist_count, self._hist_start = 0, self.iteration
        metrics: Optional[Dict[str, float]] = None
        try:
            while self.iteration < end:
                if vote.poll(self._stop_signal is not None):
                    metrics = self._flush_metrics() or metrics
                    path = self.save_checkpoint()
                    raise TrainingInterrupted(self._stop_signal or signal.SIGTERM, self.iteration, path or self.last_checkpoint)
                self.train_iteration()
                it = self.iteration
                if bar is not None:
                    bar.update(1)
                last = it == end
                do_log = it % cfg.log_every == 0 or last
                do_sample = (cfg.sample_every and it % cfg.sample_every == 0) or last
                do_ckpt = (cfg.ckpt_every and it % cfg.ckpt_every == 0) or last
                if do_log or do_sample or do_ckpt:
                    metrics = self._flush_metrics() or metrics
                    if bar is not None and metrics is not None:
                        bar.set_postfix(
                            loss_d=f"{metrics['loss_d']:.3f}", loss_g=f"{metrics['loss_g']:.3f}", refresh=False
                        )
                if do_sample and self.config.out_dir is not None:
                    self.save_samples()
                if cfg.eval_every and it % cfg.eval_every == 0 and self.evaluator is not None:
                    self.evaluate()
                if do_ckpt:
                    self.save_checkpoint()
        finally:
            vote.finish()
            for s, h in handlers.items():
                signal.signal(s, h)
            if bar is not None:
                bar.close()
            self.elapsed += time.perf_counter() - self._run_start
            self._run_start = None
            self._close_logs()
        return metrics or {}

    def _progress_bar(self, end: int) -> Any:
        if not (self.config.progress and self.is_main):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=end, initial=self.iteration, unit="it", dynamic_ncols=True, smoothing=0.05)


def _lr_used(sched: Any, iteration: int) -> float:
    """Learning rate of the first parameter group in (0-based) ``iteration``."""
    return float(sched.base_lrs[0] * sched.lr_lambdas[0](max(iteration, 0)))


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


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


def _maybe_to_device(data: ImageDataset, device: torch.device) -> ImageDataset:
    """Moves the dataset to ``device`` when it fits comfortably (CUDA: under half the free memory)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if data.images.numel() > free // 2:
            logger.warning(
                "dataset %s (%.1f GiB) kept in host memory: batches are gathered on the CPU and copied to the GPU",
                data.name,
                data.images.numel() / 2**30,
            )
            return data
    return data.to(device)


def _require_torchvision_for_samples() -> None:
    try:
        import torchvision.utils  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "writing sample grids needs torchvision; install `pip install specnorm-gan[examples]` or set out_dir=None"
        ) from e


def train(
    config: TrainConfig,
    data: ImageDataset,
    G: Optional[nn.Module] = None,
    D: Optional[nn.Module] = None,
    resume: Optional[Union[str, os.PathLike]] = None,
) -> Trainer:
    """Builds a :class:`Trainer`, optionally resumes it, trains, and returns it.

    Example::

        >>> trainer = train(TrainConfig(preset="cifar10-resnet", width=0.25, iterations=200),
        ...                 load_dataset("cifar10_train.npz"))  # doctest: +SKIP
    """
    trainer = Trainer(config, data, G=G, D=D)
    if resume is not None:
        trainer.resume(resume)
    trainer.train()
    return trainer
