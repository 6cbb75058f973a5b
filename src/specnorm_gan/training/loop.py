"""The iteration schedule: the official updater's order, the learning-rate decay, and the run loop."""

from __future__ import annotations

import copy
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

import torch

from .distributed import _StopVote
from .ema import _update_ema
from .errors import TrainingInterrupted

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["linear_decay"]

logger = logging.getLogger("specnorm_gan.training")


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




def _schedulers(
    opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, lr_decay: str, start: int, end: int
) -> Tuple[Any, Any]:
    """``LambdaLR`` schedulers of G and D (linear decay from ``start`` to 0 at ``end``, or constant)."""
    schedule: Callable[[int], float] = _LinearDecay(start, end) if lr_decay == "linear" else _Constant()
    return torch.optim.lr_scheduler.LambdaLR(opt_g, schedule), torch.optim.lr_scheduler.LambdaLR(opt_d, copy.copy(schedule))


def _follow_run_length(sched: Any, lr: float, start: int, end: int, iteration: int) -> None:
    """After a resume: the schedule follows the (possibly changed) learning rate and length of the run."""
    sched.base_lrs = [lr for _ in sched.base_lrs]
    fn = sched.lr_lambdas[0]
    if isinstance(fn, _LinearDecay):
        fn.start, fn.end = start, end
    for group, base in zip(sched.optimizer.param_groups, sched.base_lrs):
        group["lr"] = base * fn(iteration)
    sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]


def _lr_used(sched: Any, iteration: int) -> float:
    """Learning rate of the first parameter group in (0-based) ``iteration``."""
    return float(sched.base_lrs[0] * sched.lr_lambdas[0](max(iteration, 0)))



def _iteration(trainer: "Trainer") -> Tuple[torch.Tensor, torch.Tensor]:
    """One iteration's updates: G step, ``n_dis`` D steps (D steps first with ``update_order="d_first"``),
    EMA, learning-rate schedules. Returns ``(loss_g, summed D stats)`` (device tensors)."""
    cfg = trainer.config
    d_first = cfg.update_order == "d_first"
    if d_first:
        d_stats = _d_steps(trainer)
    loss_g = trainer.g_step()
    if not d_first:
        d_stats = _d_steps(trainer)
    if trainer.G_ema is not None:
        # After the D steps: G's parameters only change in the G step, but its BN running statistics
        # also move when the D steps generate fakes (train mode, as in the official code).
        _update_ema(trainer.G_ema, trainer.G, cfg.ema_decay, trainer.iteration, cfg.ema_start)
    trainer.sched_g.step()
    trainer.sched_d.step()
    return loss_g, d_stats


def _d_steps(trainer: "Trainer") -> torch.Tensor:
    d_stats = trainer.d_step()
    for _ in range(trainer.config.n_dis - 1):
        d_stats = d_stats + trainer.d_step()
    return d_stats


def _run(trainer: "Trainer", end: int) -> Dict[str, float]:
    """Trains until iteration ``end`` with the periodic logs, samples, evaluations and checkpoints."""
    cfg = trainer.config
    log = trainer._log
    log.open(cfg, trainer.is_main)
    bar = log.progress_bar(end, trainer.iteration, cfg.progress and trainer.is_main)
    handlers: Dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            handlers[s] = signal.signal(s, trainer._on_signal)
    vote = _StopVote(trainer._ctrl_group)
    log.start(trainer.iteration)
    metrics: Optional[Dict[str, float]] = None
    try:
        while trainer.iteration < end:
            if vote.poll(trainer._stop_signal is not None):
                metrics = trainer._flush_metrics() or metrics
                path = trainer.save_checkpoint()
                raise TrainingInterrupted(trainer._stop_signal or signal.SIGTERM, trainer.iteration, path or trainer.last_checkpoint)
            trainer.train_iteration()
            it = trainer.iteration
            if bar is not None:
                bar.update(1)
            last = it == end
            do_log = it % cfg.log_every == 0 or last
            do_sample = (cfg.sample_every and it % cfg.sample_every == 0) or last
            do_ckpt = (cfg.ckpt_every and it % cfg.ckpt_every == 0) or last
            if do_log or do_sample or do_ckpt:
                metrics = trainer._flush_metrics() or metrics
                if bar is not None and metrics is not None:
                    bar.set_postfix(loss_d=f"{metrics['loss_d']:.3f}", loss_g=f"{metrics['loss_g']:.3f}", refresh=False)
            if do_sample and cfg.out_dir is not None:
                trainer.save_samples()
            if cfg.eval_every and it % cfg.eval_every == 0 and trainer.evaluator is not None:
                trainer.evaluate()
            if do_ckpt:
                trainer.save_checkpoint()
    finally:
        vote.finish()
        for s, h in handlers.items():
            signal.signal(s, h)
        if bar is not None:
            bar.close()
        trainer.elapsed += time.perf_counter() - log.run_start
        log.run_start = None
        log.close()
    return metrics or {}


def _on_signal(trainer: "Trainer", signum: int) -> None:
    """SIGINT/SIGTERM handler: the first asks the loop to checkpoint and stop, a second stops at once."""
    if trainer._stop_signal is not None:
        raise KeyboardInterrupt
    trainer._stop_signal = signum
    if trainer.is_main:
        logger.warning("%s received: writing a checkpoint and stopping", signal.Signals(signum).name)
