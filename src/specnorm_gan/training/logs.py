"""What a run reports: the per-iteration metrics buffer and its periodic read (CSV, TensorBoard, log
lines, non-finite check), the progress bar, and the sample grids."""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from torch import Tensor, nn

from ..layers import spectral_norms
from .config import TrainConfig
from .distributed import _first_bad_iteration
from .errors import NonFiniteLossError

logger = logging.getLogger("specnorm_gan.training")

_METRICS = ("loss_g", "loss_d", "d_real", "d_fake")
_COLUMNS = ("iteration", "time_s", *_METRICS, "lr_g", "lr_d", "sigma_max", "sigma_min", "it_per_s", "images_per_s")
# With amp="fp16": optimizer steps skipped so far because the scaled gradients overflowed (G, D).
_AMP_COLUMNS = ("skipped_g", "skipped_d")
# With adaptive augmentation (ada_target): the augmentation probability at the log step.
_ADA_COLUMNS = ("ada_p",)


class _MetricsLog:
    """Per-iteration metrics kept on the device and read every ``log_every`` iterations (one host sync).

    Holds at most 4096 rows: a longer log interval just reads them more often.
    """

    def __init__(self, log_every: int, device: torch.device, amp_columns: bool = False, ada_column: bool = False) -> None:
        self.columns = _COLUMNS + (_AMP_COLUMNS if amp_columns else ()) + (_ADA_COLUMNS if ada_column else ())
        self.hist = torch.zeros(min(log_every, 4096), len(_METRICS), device=device)
        self.count = 0
        self.start_iteration = 0
        self.last_time = time.perf_counter()
        self.last_iteration = 0
        self.run_start: Optional[float] = None
        self._csv_file: Any = None
        self._csv: Any = None
        self.tb: Any = None

    @property
    def full(self) -> bool:
        return self.count == self.hist.shape[0]

    def record(self, loss_g: Tensor, d_stats: Tensor) -> None:
        """Adds one iteration's row (device copies, no sync)."""
        row = self.hist[self.count]
        row[0].copy_(loss_g)
        row[1:].copy_(d_stats)
        self.count += 1

    def start(self, iteration: int) -> None:
        """Marks the start of a :meth:`Trainer.train` call."""
        self.run_start = time.perf_counter()
        self.last_time = self.run_start
        self.last_iteration = iteration
        self.count, self.start_iteration = 0, iteration

    def open(self, cfg: TrainConfig, is_main: bool) -> None:
        """Opens ``metrics.csv`` (appending), TensorBoard when asked and installed, and writes ``config.json``."""
        if not is_main or cfg.out_dir is None or self._csv is not None:
            return
        out = Path(cfg.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "metrics.csv"
        new = not path.exists() or path.stat().st_size == 0
        self._csv_file = open(path, "a", newline="")
        self._csv = csv.writer(self._csv_file)
        if new:
            self._csv.writerow(list(self.columns))
            self._csv_file.flush()
        if cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out / "tensorboard"))
            except Exception:  # tensorboard not installed
                self.tb = None
        with open(out / "config.json", "w") as f:
            json.dump(cfg.to_dict(), f, indent=2, default=str)

    def close(self) -> None:
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = self._csv = None
        if self.tb is not None:
            self.tb.close()
            self.tb = None

    def flush(
        self, iteration: int, D: nn.Module, lrs: Dict[str, float], cfg: TrainConfig, elapsed: float, is_main: bool,
        ctrl_group: Any, last_checkpoint: Optional[str], skipped: Optional[Tensor] = None,
        ada_p: Optional[Tensor] = None,
    ) -> Optional[Dict[str, float]]:
        """Reads the rows since the last flush; raises :class:`NonFiniteLossError` on a non-finite loss."""
        count = self.count
        if count == 0:
            return None
        values = self.hist[:count].cpu().numpy().astype(np.float64)
        start = self.start_iteration
        finite = np.isfinite(values).all(axis=1)
        bad_local = int(start + np.argmin(finite) + 1) if not finite.all() else 0
        bad = _first_bad_iteration(bad_local, ctrl_group)
        self.count = 0
        self.start_iteration = iteration
        if bad:
            row = values[bad - start - 1] if bad_local == bad else None
            detail = ", ".join(f"{k}={v:.4g}" for k, v in zip(_METRICS, row)) if row is not None else "on another rank"
            raise NonFiniteLossError(
                f"non-finite loss at iteration {bad} ({detail}); training stopped. The last good checkpoint is "
                f"{last_checkpoint or '(none written yet)'}. Lower the learning rates, check the data, or turn off amp.",
                bad,
                last_checkpoint,
            )
        now = time.perf_counter()
        dt = max(now - self.last_time, 1e-9)
        its = (iteration - self.last_iteration) / dt
        self.last_time, self.last_iteration = now, iteration
        smax, smin = _sigma_range(D)
        metrics = {k: float(v) for k, v in zip(_METRICS, values.mean(axis=0))}
        metrics.update(lr_g=lrs["lr_g"], lr_d=lrs["lr_d"], sigma_max=smax, sigma_min=smin, it_per_s=its,
                       images_per_s=its * cfg.n_dis * cfg.batch_size)
        if skipped is not None:
            metrics.update(zip(_AMP_COLUMNS, (float(v) for v in skipped.cpu())))
        if ada_p is not None:
            metrics["ada_p"] = float(ada_p)
        if is_main:
            total = elapsed + (now - self.run_start if self.run_start is not None else 0.0)
            self._write(iteration, total, metrics, cfg.iterations)
        return metrics

    def _write(self, iteration: int, elapsed: float, metrics: Dict[str, float], iterations: int) -> None:
        if self._csv is not None:
            self._csv.writerow([iteration, f"{elapsed:.3f}"] + [f"{metrics[k]:.6g}" for k in list(metrics)])
            self._csv_file.flush()
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, iteration)
        logger.info(
            "it %d/%d  loss_d %.4f  loss_g %.4f  D(real) %.3f  D(fake) %.3f  sigma %.3f..%.3f  lr %.2e  %.2f it/s  %.0f img/s",
            iteration, iterations, metrics["loss_d"], metrics["loss_g"], metrics["d_real"], metrics["d_fake"],
            metrics["sigma_min"], metrics["sigma_max"], metrics["lr_g"], metrics["it_per_s"], metrics["images_per_s"],
        )
        if "skipped_g" in metrics:
            logger.info("it %d  fp16: skipped steps so far G %d, D %d", iteration, metrics["skipped_g"], metrics["skipped_d"])

    def progress_bar(self, end: int, initial: int, enabled: bool) -> Any:
        """A tqdm bar when enabled and tqdm is installed, else None."""
        if not enabled:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(total=end, initial=initial, unit="it", dynamic_ncols=True, smoothing=0.05)


def _sigma_range(D: nn.Module) -> "tuple[float, float]":
    sig = list(spectral_norms(D).values())
    if not sig:
        return float("nan"), float("nan")
    s = torch.stack([v.float() for v in sig])
    smax, smin = (float(v) for v in torch.stack([s.max(), s.min()]).cpu())
    return smax, smin


@torch.no_grad()
def _grid(G: nn.Module, z: Tensor, y: Optional[Tensor], batch_size: int, autocast: Any) -> Tensor:
    """``G(z, y)`` in eval mode in batches, float32, in ``[-1, 1]``."""
    was_training = G.training
    G.eval()
    try:
        out = []
        for i in range(0, z.shape[0], max(batch_size, 1)):
            yi = y[i : i + batch_size] if y is not None else None
            with autocast():
                out.append(G(z[i : i + batch_size], yi).float())
        return torch.cat(out)
    finally:
        G.train(was_training)


def _save_grid(images: Tensor, path: Union[str, os.PathLike], ncol: int) -> None:
    from torchvision.utils import save_image

    save_image(images.cpu(), str(path), nrow=ncol, normalize=True, value_range=(-1, 1))


def _require_torchvision_for_samples() -> None:
    try:
        import torchvision.utils  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "writing sample grids needs torchvision; install `pip install specnorm-gan[examples]` or set out_dir=None"
        ) from e


def _save_samples(trainer: Any, path: Optional[Union[str, os.PathLike]]) -> Optional[str]:
    """Writes the trainer's fixed-``z`` grid as a PNG (rank 0; by default ``out_dir/samples/iter_N.png``)."""
    if (trainer.config.out_dir is None and path is None) or not trainer.is_main:
        return None
    images = trainer.generate_grid()
    if path is None:
        folder = Path(trainer.config.out_dir) / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"iter_{trainer.iteration:08d}.png"
    _save_grid(images, path, trainer.config.sample_cols)
    return str(path)


def _flush(trainer: Any) -> Optional[Dict[str, float]]:
    """Reads the trainer's metrics since the last flush (one host sync); raises on non-finite losses."""
    from ..augment import AdaptiveAugment
    from .loop import _lr_used

    step = trainer.iteration - 1
    lrs = {"lr_g": _lr_used(trainer.sched_g, step), "lr_d": _lr_used(trainer.sched_d, step)}
    ada_p = trainer.augment.p if isinstance(trainer.augment, AdaptiveAugment) else None
    return trainer._log.flush(trainer.iteration, trainer.D, lrs, trainer.config, trainer.elapsed, trainer.is_main,
                              trainer._ctrl_group, trainer.last_checkpoint, trainer.skipped_steps, ada_p)
