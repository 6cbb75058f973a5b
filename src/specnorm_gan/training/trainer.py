"""The public face of the training loop: :class:`Trainer` composes the modules of the package."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from ..augment import AdaptiveAugment
from ..data import ImageDataset, InMemoryLoader, to_float_images
from ..losses import get_loss
from . import augmentation, evaluation, logs, loop, state, steps
from .build import _check_models_and_data, _make_optimizer, _maybe_to_device, _model_device, build_models
from .checkpoint import load_checkpoint
from .config import TrainConfig, _resolve, _validate
from .distributed import _process_info, _replica_mismatches, _wrap
from .ema import _make_ema
from .precision import Precision, _compiled, _warn_if_scaler_syncs
from .rng import _mix_seed

__all__ = ["Trainer", "train"]

logger = logging.getLogger("specnorm_gan.training")


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
        self.distributed, self.rank, self.world_size = _process_info()
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
        self.num_classes = _check_models_and_data(G, D, data)
        self.z_dim = int(G.z_dim)
        self._uniform_z = getattr(G, "z_dist", "normal") == "uniform"
        self._build_models(G, D)
        self._build_optimisation()
        self._build_data(data)
        #: Plain data (str/int/float/list/dict) saved with checkpoints, e.g. the launcher's data arguments.
        self.extra: Dict[str, Any] = {}
        self.iteration = 0
        self.elapsed = 0.0
        self.last_checkpoint: Optional[str] = None
        self._log = logs._MetricsLog(cfg.log_every, self.device, amp_columns=self.precision.scales_loss,
                                     ada_column=isinstance(self.augment, AdaptiveAugment))
        self._stop_signal: Optional[int] = None
        self._d_step_fn, self._g_step_fn = _compiled(self._d_forward, self._g_forward, cfg.compile, cfg.compile_mode)
        if self.is_main and cfg.out_dir is not None:
            logs._require_torchvision_for_samples()
        #: The :class:`specnorm_gan.metrics.Evaluator` of periodic evaluation (main rank, ``eval_every > 0``), else None.
        self.evaluator: Any = evaluation._build_evaluator(self) if cfg.eval_every and self.is_main else None
        #: Best FID so far: ``{"fid", "iteration", "key"}`` (``key``: protocol, feature extractor and reference
        #: it was measured with), or None. Saved with checkpoints.
        self.best_fid: Optional[Dict[str, Any]] = None
        self._warned_no_plot = False

    # ------------------------------------------------------------------ construction
    def _build_models(self, G: nn.Module, D: nn.Module) -> None:
        cfg = self.config
        #: Autocast dtype and memory format of the steps.
        self.precision = Precision(cfg.amp, cfg.channels_last, self.device.type,
                                   cudagraphs=cfg.compile and cfg.compile_mode == "reduce-overhead")
        mf = self.precision.memory_format
        self.G = G.to(self.device, memory_format=mf).train()
        self.D = D.to(self.device, memory_format=mf).train()
        self.G_ema: Optional[nn.Module] = _make_ema(self.G) if cfg.ema else None
        self.G_ddp, self.D_ddp, self._ctrl_group = _wrap(self.G, self.D, self.device, self.distributed)

    def _build_optimisation(self) -> None:
        cfg = self.config
        self.loss_fn = get_loss(cfg.loss, **cfg.loss_kwargs)
        #: The regularizers (:mod:`specnorm_gan.regularizers`) of the run, D-side and G-side.
        self.loss_terms = steps._loss_terms(cfg)
        #: DiffAugment / ADA module applied to D's inputs (training/augmentation.py), or None.
        self.augment = augmentation._build_augment(cfg, self.device)
        #: The last D step's real batch ``(x, y)``, reused by the RpGAN G step (None until a D step ran).
        self.last_real: Optional[tuple] = None
        self._d_terms = [t for t in self.loss_terms if t.side == "d"]
        self._g_terms = [t for t in self.loss_terms if t.side == "g"]
        impl = cfg.optimizer_impl
        self.opt_g = _make_optimizer(self.G.parameters(), cfg.optimizer_g, cfg.lr_g, cfg.betas_g, 0.0, impl)
        self.opt_d = _make_optimizer(self.D.parameters(), cfg.optimizer_d, cfg.lr_d, cfg.betas_d, cfg.momentum_d, impl)
        self.sched_g, self.sched_d = loop._schedulers(self.opt_g, self.opt_d, cfg.lr_decay, cfg.decay_start, cfg.iterations)
        #: fp16 loss scalers of G and D (``torch.amp.GradScaler``), None without ``amp="fp16"``.
        self.scaler_g = self.precision.grad_scaler()
        self.scaler_d = self.precision.grad_scaler()
        #: Skipped (overflowing) fp16 steps so far, ``[G, D]`` on the device (None without fp16); read at log time.
        self.skipped_steps: Optional[Tensor] = None
        if self.precision.scales_loss:
            self.skipped_steps = torch.zeros(2, dtype=torch.int64, device=self.device)
            _warn_if_scaler_syncs(self.opt_g, "G")
            _warn_if_scaler_syncs(self.opt_d, "D")

    def _build_data(self, data: ImageDataset) -> None:
        cfg = self.config
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

    # ------------------------------------------------------------------ the steps (training/steps.py)
    def _g_forward(self, z: Tensor, y: Optional[Tensor]) -> Tensor:
        return steps._g_loss(self.G, self.G_ddp, self.D, z, y, self.loss_fn, self._g_terms, self.precision, self.noise_gen,
                             self.augment, self.last_real)

    def _d_forward(self, x_real: Tensor, y_real: Optional[Tensor], z: Tensor, y_fake: Optional[Tensor]) -> Any:
        return steps._d_loss(self.G, self.D, self.D_ddp, x_real, y_real, z, y_fake, self.loss_fn, self._d_terms,
                             self.precision, self.noise_gen, self.augment)

    def _next_real(self) -> Any:
        x_u8, y_real = self.loader.next_batch()
        x_real = to_float_images(x_u8, self.config.dequantize, self.noise_gen, self.config.channels_last)
        return x_real, (y_real if self.num_classes else None)

    def g_step(self) -> Tensor:
        """One G update (D frozen, in training mode). Returns the detached loss (no host sync)."""
        z = steps._noise(self.g_batch_size, self.z_dim, self._uniform_z, self.noise_gen, self.device)
        y = steps._labels(self.g_batch_size, self.num_classes, self.noise_gen, self.device)
        skipped = self.skipped_steps[0] if self.skipped_steps is not None else None
        if self.loss_fn.needs_real_logits and self.last_real is None:  # first G step of a g_first run
            self.last_real = self._next_real()
        return steps._g_update(self._g_step_fn, self.D, self.opt_g, z, y, self.precision, self.scaler_g, skipped)

    def d_step(self, x_real: Optional[Tensor] = None, y_real: Optional[Tensor] = None) -> Tensor:
        """One D update on a real batch (next from the loader by default) and fresh fakes.

        Returns a detached tensor ``[loss_d, mean D(real), mean D(fake)]`` (no host sync).
        """
        if x_real is None:
            x_real, y_real = self._next_real()
        if not self.num_classes:
            y_real = None
        if self.loss_fn.needs_real_logits:
            self.last_real = (x_real, y_real)
        z = steps._noise(self.batch_size, self.z_dim, self._uniform_z, self.noise_gen, self.device)
        y_fake = steps._labels(self.batch_size, self.num_classes, self.noise_gen, self.device)
        skipped = self.skipped_steps[1] if self.skipped_steps is not None else None
        return steps._d_update(self._d_step_fn, self.D, self.opt_d, (x_real, y_real, z, y_fake), self.config.weight_clip,
                               self.precision, self.scaler_d, skipped)

    def train_iteration(self) -> None:
        """One iteration: G step, ``n_dis`` D steps (D steps first with ``update_order="d_first"``), EMA update, LR schedule."""
        loss_g, d_stats = loop._iteration(self)
        if self._log.full:  # called outside train() past a log interval
            self._flush_metrics()
        self._log.record(loss_g, d_stats / self.config.n_dis)
        self.iteration += 1

    # ------------------------------------------------------------------ logging, samples, evaluation
    def _flush_metrics(self) -> Optional[Dict[str, float]]:
        """Reads the metrics of the iterations since the last flush (one host sync); raises on non-finite losses."""
        lrs = {"lr_g": loop._lr_used(self.sched_g, self.iteration - 1), "lr_d": loop._lr_used(self.sched_d, self.iteration - 1)}
        ada_p = self.augment.p if isinstance(self.augment, AdaptiveAugment) else None
        return self._log.flush(self.iteration, self.D, lrs, self.config, self.elapsed, self.is_main, self._ctrl_group,
                               self.last_checkpoint, self.skipped_steps, ada_p)

    def generate_grid(self) -> Tensor:
        """Images from the fixed ``z`` (EMA G when on), one row per class for conditional models, in ``[-1, 1]``."""
        G = self.G_ema if self.G_ema is not None else self.G
        return logs._grid(G, self.fixed_z, self.fixed_y, self.batch_size, self.precision.autocast)

    def save_samples(self, path: Optional[Union[str, os.PathLike]] = None) -> Optional[str]:
        """Writes the fixed-``z`` grid as a PNG (rank 0); returns its path."""
        if (self.config.out_dir is None and path is None) or not self.is_main:
            return None
        images = self.generate_grid()
        if path is None:
            folder = Path(self.config.out_dir) / "samples"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"iter_{self.iteration:08d}.png"
        logs._save_grid(images, path, self.config.sample_cols)
        return str(path)

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
        return evaluation._evaluate(self)

    # ------------------------------------------------------------------ checkpoints (training/state.py)
    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume (plain tensors and containers)."""
        return state._trainer_state(self, gather=True)

    def replica_mismatches(self) -> List[str]:
        """Names of G/D parameters and D buffers (spectral-norm ``u``/``v``) that differ between ranks.

        Empty for one process. Collective: call on every rank. Compares exact bytes (a digest per
        tensor), so it is cheap enough to run at every checkpoint, where the trainer calls it.

        Example::

            >>> trainer.replica_mismatches()  # doctest: +SKIP
            []
        """
        return _replica_mismatches(self.G, self.D, self._ctrl_group, self.world_size)

    def save_checkpoint(self) -> Optional[str]:
        """Writes ``out_dir/checkpoints/ckpt_<iteration>.pt`` atomically (rank 0), keeps the newest N.

        Call on every rank in distributed runs (the RNG states of all ranks are gathered).
        """
        return state._save_checkpoint(self)

    def load_state_dict(self, ckpt: Dict[str, Any], allow_changes: Sequence[str] = ()) -> None:
        """Restores a checkpoint (see :func:`load_checkpoint`); the model structure must match.

        Everything is validated before anything is changed; a mismatch raises
        :class:`CheckpointError`. Config fields that differ from the checkpoint's (other than
        output settings and ``allow_changes``) are logged as warnings.
        """
        state._load_trainer_state(self, ckpt, allow_changes)

    def resume(self, path: Union[str, os.PathLike], allow_changes: Sequence[str] = ()) -> int:
        """Loads the checkpoint at ``path`` (file or run folder); returns the iteration reached."""
        self.load_state_dict(load_checkpoint(path), allow_changes=allow_changes)
        logger.info("resumed from %s at iteration %d", self.last_checkpoint, self.iteration)
        return self.iteration

    # ------------------------------------------------------------------ the loop (training/loop.py)
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
        end = self.config.iterations if stop_at is None else min(int(stop_at), self.config.iterations)
        return loop._run(self, end)


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
