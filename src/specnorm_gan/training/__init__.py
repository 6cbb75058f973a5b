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

The package, one job per module (``docs/architecture.md`` draws the picture):

- :mod:`~specnorm_gan.training.config`: :class:`TrainConfig`; :mod:`~specnorm_gan.training.resolve`: filling it
  from the preset, validation;
- :mod:`~specnorm_gan.training.steps`: the D and G losses and updates (the one place to read the update);
- :mod:`~specnorm_gan.training.loop`: iteration order, learning-rate decay, the run loop;
- :mod:`~specnorm_gan.training.checkpoint`: checkpoint files (atomic save, safe load, retention, models from a file);
- :mod:`~specnorm_gan.training.state`: what a trainer saves and how it resumes;
- :mod:`~specnorm_gan.training.precision`, :mod:`~specnorm_gan.training.ema`,
  :mod:`~specnorm_gan.training.logs`, :mod:`~specnorm_gan.training.distributed`,
  :mod:`~specnorm_gan.training.evaluation`, :mod:`~specnorm_gan.training.build`,
  :mod:`~specnorm_gan.training.allocator`, :mod:`~specnorm_gan.training.errors`;
- :mod:`~specnorm_gan.training.trainer`: :class:`Trainer`, which composes them.

Loss terms beyond the adversarial loss (GP, R1, ...) are :mod:`specnorm_gan.regularizers`.
"""

from __future__ import annotations

from .allocator import ALLOCATOR_SETTINGS, reexec_with_allocator_settings
from .build import build_models
from .checkpoint import CHECKPOINT_FORMAT, find_checkpoint, generator_from_checkpoint, load_checkpoint, models_from_checkpoint
from .config import TrainConfig
from .distributed import init_distributed
from .errors import CheckpointError, NonFiniteLossError, TrainingInterrupted
from .loop import linear_decay
from .trainer import Trainer, train

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
    "generator_from_checkpoint",
    "linear_decay",
    "init_distributed",
    "reexec_with_allocator_settings",
    "ALLOCATOR_SETTINGS",
    "CHECKPOINT_FORMAT",
]
