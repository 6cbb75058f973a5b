"""The public face of the training loop: :class:`Trainer` composes the modules of the package."""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from torch import Tensor, nn

from ..data import ImageDataset
from . import evaluation, logs, loop, setup, state, steps
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .distributed import _replica_mismatches
from .precision import _compiled

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

    Attributes (built by ``training/setup.py``):
        G, D, G_ema: the models on the training device (``G_ema`` None without EMA); ``G_ddp``,
            ``D_ddp`` their DDP wrappers (the models themselves in one process).
        precision: autocast dtype and memory format of the steps (:class:`Precision`).
        loss_fn, loss_terms: the adversarial loss and the regularizers (:mod:`specnorm_gan.regularizers`).
        augment: the DiffAugment / ADA module applied to D's inputs, or None.
        opt_g, opt_d, sched_g, sched_d: optimizers and learning-rate schedules.
        scaler_g, scaler_d: fp16 ``GradScaler``s (None without ``amp="fp16"``); ``skipped_steps``:
            overflowing fp16 steps so far, ``[G, D]`` on the device, read at log time.
        loader, noise_gen, fixed_z, fixed_y: the data loader, the noise generator and the fixed
            latents of the sample grids.
        last_real: the last D step's real batch ``(x, y)``, reused by the RpGAN G step.
        iteration, elapsed, last_checkpoint: progress (G updates done, seconds trained, newest checkpoint).
        extra: plain data (str/int/float/list/dict) saved with checkpoints, e.g. the launcher's data arguments.
        evaluator: the :class:`specnorm_gan.metrics.Evaluator` of periodic evaluation (main rank,
            ``eval_every > 0``), else None.
        best_fid: best FID so far, ``{"fid", "iteration", "key"}`` (``key``: protocol, feature extractor
            and reference it was measured with), or None; saved with checkpoints.

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
        G, D = setup._config(self, config, data, G, D, hparams)
        setup._models(self, G, D)
        setup._optimisation(self)
        setup._data(self, data)
        setup._run_state(self)
        self._d_step_fn, self._g_step_fn = _compiled(self._d_forward, self._g_forward, self.config.compile,
                                                     self.config.compile_mode)

    # ------------------------------------------------------------------ the steps (training/steps.py)
    def _g_forward(self, z: Tensor, y: Optional[Tensor]) -> Tensor:
        return steps._g_loss(self.G, self.G_ddp, self.D, z, y, self.loss_fn, self._g_terms, self.precision, self.noise_gen,
                             self.augment, self.last_real)

    def _d_forward(self, x_real: Tensor, y_real: Optional[Tensor], z: Tensor, y_fake: Optional[Tensor]) -> Any:
        return steps._d_loss(self.G, self.D, self.D_ddp, x_real, y_real, z, y_fake, self.loss_fn, self._d_terms,
                             self.precision, self.noise_gen, self.augment)

    def _next_real(self) -> Any:
        return steps._next_real(self)

    def g_step(self) -> Tensor:
        """One G update (D frozen, in training mode). Returns the detached loss (no host sync)."""
        return steps._trainer_g_step(self)

    def d_step(self, x_real: Optional[Tensor] = None, y_real: Optional[Tensor] = None) -> Tensor:
        """One D update on a real batch (next from the loader by default) and fresh fakes.

        Returns a detached tensor ``[loss_d, mean D(real), mean D(fake)]`` (no host sync).
        """
        return steps._trainer_d_step(self, x_real, y_real)

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
        return logs._flush(self)

    def generate_grid(self) -> Tensor:
        """Images from the fixed ``z`` (EMA G when on), one row per class for conditional models, in ``[-1, 1]``."""
        G = self.G_ema if self.G_ema is not None else self.G
        return logs._grid(G, self.fixed_z, self.fixed_y, self.batch_size, self.precision.autocast)

    def save_samples(self, path: Optional[Union[str, os.PathLike]] = None) -> Optional[str]:
        """Writes the fixed-``z`` grid as a PNG (rank 0); returns its path."""
        return logs._save_samples(self, path)

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
        loop._on_signal(self, signum)

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
