"""What a :class:`~specnorm_gan.training.Trainer` is made of: models, optimisation and data.

Each function fills in one group of the trainer's attributes (documented on the class), in this
order: :func:`_config`, :func:`_models`, :func:`_optimisation` (needs the models), :func:`_data`,
:func:`_run_state`.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import nn

from ..augment import AdaptiveAugment
from ..data import ImageDataset, InMemoryLoader
from ..losses import get_loss
from . import augmentation, evaluation, logs, loop, steps
from .build import _check_models_and_data, _make_optimizer, _maybe_to_device, _model_device, build_models
from .config import TrainConfig
from .distributed import _process_info, _wrap
from .ema import _make_ema
from .precision import Precision, _warn_if_scaler_syncs
from .resolve import _resolve, _validate
from .rng import _mix_seed


def _config(trainer: Any, config: TrainConfig, data: ImageDataset, G: Optional[nn.Module], D: Optional[nn.Module],
            hparams: Any) -> Tuple[nn.Module, nn.Module]:
    """Checks the arguments, finds the processes and the device, resolves the config; returns G and D."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(data, ImageDataset):
        raise TypeError(f"data must be a specnorm_gan.data.ImageDataset, got {type(data).__name__}")
    if (G is None) != (D is None):
        raise ValueError("pass both G and D, or neither (to build them from the config)")
    trainer.distributed, trainer.rank, trainer.world_size = _process_info()
    trainer.is_main = trainer.rank == 0
    trainer.device = _model_device(config)
    if trainer.device.type == "cuda" and trainer.device.index is not None:
        torch.cuda.set_device(trainer.device)
    if G is None or D is None:
        G, D, hparams = build_models(config)
    trainer.config = cfg = _resolve(config, hparams, G)
    _validate(cfg)
    for name in ("batch_size", "g_batch_size"):
        if getattr(cfg, name) % trainer.world_size:
            raise ValueError(f"{name} ({getattr(cfg, name)}) must be divisible by the number of processes "
                             f"({trainer.world_size})")
    trainer.batch_size = cfg.batch_size // trainer.world_size
    trainer.g_batch_size = cfg.g_batch_size // trainer.world_size
    trainer.num_classes = _check_models_and_data(G, D, data)
    trainer.z_dim = int(G.z_dim)
    trainer._uniform_z = getattr(G, "z_dist", "normal") == "uniform"
    return G, D


def _models(trainer: Any, G: nn.Module, D: nn.Module) -> None:
    """Precision settings, G, D and G_ema on the device, and their DDP wrappers."""
    cfg = trainer.config
    trainer.precision = Precision(cfg.amp, cfg.channels_last, trainer.device.type,
                                  cudagraphs=cfg.compile and cfg.compile_mode == "reduce-overhead")
    mf = trainer.precision.memory_format
    trainer.G = G.to(trainer.device, memory_format=mf).train()
    trainer.D = D.to(trainer.device, memory_format=mf).train()
    trainer.G_ema = _make_ema(trainer.G) if cfg.ema else None
    trainer.G_ddp, trainer.D_ddp, trainer._ctrl_group = _wrap(trainer.G, trainer.D, trainer.device, trainer.distributed)


def _optimisation(trainer: Any) -> None:
    """Loss, regularizers, augmentation, optimizers, schedules and fp16 scalers."""
    cfg = trainer.config
    trainer.loss_fn = get_loss(cfg.loss, **cfg.loss_kwargs)
    trainer.loss_terms = steps._loss_terms(cfg)
    trainer.augment = augmentation._build_augment(cfg, trainer.device)
    trainer.last_real = None  # set by the first D step
    trainer._d_terms = [t for t in trainer.loss_terms if t.side == "d"]
    trainer._g_terms = [t for t in trainer.loss_terms if t.side == "g"]
    impl = cfg.optimizer_impl
    trainer.opt_g = _make_optimizer(trainer.G.parameters(), cfg.optimizer_g, cfg.lr_g, cfg.betas_g, 0.0, impl)
    trainer.opt_d = _make_optimizer(trainer.D.parameters(), cfg.optimizer_d, cfg.lr_d, cfg.betas_d, cfg.momentum_d, impl)
    trainer.sched_g, trainer.sched_d = loop._schedulers(trainer.opt_g, trainer.opt_d, cfg.lr_decay, cfg.decay_start,
                                                        cfg.iterations)
    trainer.scaler_g = trainer.precision.grad_scaler()
    trainer.scaler_d = trainer.precision.grad_scaler()
    trainer.skipped_steps = None
    if trainer.precision.scales_loss:
        trainer.skipped_steps = torch.zeros(2, dtype=torch.int64, device=trainer.device)
        _warn_if_scaler_syncs(trainer.opt_g, "G")
        _warn_if_scaler_syncs(trainer.opt_d, "D")


def _data(trainer: Any, data: ImageDataset) -> None:
    """The data on the device, its loader, the noise generator and the sample grids' fixed latents."""
    cfg = trainer.config
    if data.device != trainer.device:
        data = _maybe_to_device(data, trainer.device)
    trainer.data = data
    trainer.loader = InMemoryLoader(data, trainer.batch_size, device=trainer.device, seed=_mix_seed(cfg.seed, 1),
                                    rank=trainer.rank, world_size=trainer.world_size)
    trainer.noise_gen = torch.Generator(device=trainer.device)
    trainer.noise_gen.manual_seed(_mix_seed(cfg.seed, 2, trainer.rank))
    n_rows = min(cfg.sample_rows, trainer.num_classes) if trainer.num_classes else cfg.sample_rows
    g = torch.Generator().manual_seed(_mix_seed(cfg.seed, 3))
    fixed_z = torch.randn(n_rows * cfg.sample_cols, trainer.z_dim, generator=g)
    if trainer._uniform_z:
        fixed_z = torch.rand(n_rows * cfg.sample_cols, trainer.z_dim, generator=g).mul_(2).sub_(1)
    trainer.fixed_z = fixed_z.to(trainer.device)
    trainer.fixed_y = (torch.arange(n_rows).repeat_interleave(cfg.sample_cols).to(trainer.device)
                       if trainer.num_classes else None)


def _run_state(trainer: Any) -> None:
    """Progress counters, the metrics log, the evaluator and the best FID so far."""
    cfg = trainer.config
    trainer.extra = {}
    trainer.iteration = 0
    trainer.elapsed = 0.0
    trainer.last_checkpoint = None
    trainer._log = logs._MetricsLog(cfg.log_every, trainer.device, amp_columns=trainer.precision.scales_loss,
                                    ada_column=isinstance(trainer.augment, AdaptiveAugment))
    trainer._stop_signal = None
    if trainer.is_main and cfg.out_dir is not None:
        logs._require_torchvision_for_samples()
    trainer.evaluator = evaluation._build_evaluator(trainer) if cfg.eval_every and trainer.is_main else None
    trainer.best_fid = None
    trainer._warned_no_plot = False
