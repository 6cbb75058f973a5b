"""A trainer's checkpoint contents: what is saved, how a run is restored from it (resume), and writing it."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence

import torch

from . import augmentation
from .checkpoint import _CHECKPOINT_VERSION, CHECKPOINT_FORMAT, _atomic_torch_save, _check_state_dict, _prune_checkpoints
from .config import _STRUCTURAL_FIELDS, TrainConfig, _norm
from .distributed import _gather_noise_states
from .errors import CheckpointError
from .loop import _follow_run_length
from .rng import _mix_seed, _rng_state, _set_rng_state

if TYPE_CHECKING:
    from .trainer import Trainer

logger = logging.getLogger("specnorm_gan.training")


def _trainer_state(trainer: "Trainer", gather: bool) -> Dict[str, Any]:
    """Everything needed to resume (plain tensors and containers)."""
    # gather=False: no collective (rank 0 alone, for best_fid.pt); only this rank's noise state is saved
    noise = trainer.noise_gen.get_state()
    states = _gather_noise_states(noise, trainer._ctrl_group if gather else None, trainer.world_size)
    run_start = trainer._log.run_start
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": _CHECKPOINT_VERSION,
        "torch_version": str(torch.__version__),
        "iteration": trainer.iteration,
        "elapsed_s": float(trainer.elapsed + (time.perf_counter() - run_start if run_start is not None else 0.0)),
        "config": trainer.config.to_dict(),
        "world_size": trainer.world_size,
        "dataset": {"name": trainer.data.name, "num_images": len(trainer.data), "num_classes": trainer.data.num_classes},
        "G": trainer.G.state_dict(),
        "D": trainer.D.state_dict(),
        "G_ema": trainer.G_ema.state_dict() if trainer.G_ema is not None else None,
        "opt_g": trainer.opt_g.state_dict(),
        "opt_d": trainer.opt_d.state_dict(),
        "sched_g": trainer.sched_g.state_dict(),
        "sched_d": trainer.sched_d.state_dict(),
        "data": trainer.loader.state_dict(),
        "rng": {**_rng_state(), "noise": states},
        "fixed_z": trainer.fixed_z.cpu(),
        "fixed_y": trainer.fixed_y.cpu() if trainer.fixed_y is not None else None,
        "extra": dict(trainer.extra),
        "eval": {"best_fid": dict(trainer.best_fid) if trainer.best_fid is not None else None},
    }
    if trainer.scaler_g is not None and trainer.scaler_d is not None and trainer.skipped_steps is not None:
        state["amp"] = {"scaler_g": trainer.scaler_g.state_dict(), "scaler_d": trainer.scaler_d.state_dict(),
                        "skipped_steps": trainer.skipped_steps.cpu()}
    if trainer.augment is not None:  # absent without augmentation (former format)
        state["augment"] = augmentation._augment_state(trainer.augment)
    if trainer.last_real is not None:  # the RpGAN G step's real batch
        state["last_real"] = augmentation._real_state(trainer.last_real)
    if trainer.loss_terms:  # absent when there are none: such checkpoints are byte-for-byte the former format
        state["regularizers"] = {t.name or type(t).__name__: t.state_dict() for t in trainer.loss_terms}
    return state


def _save_checkpoint(trainer: "Trainer") -> Optional[str]:
    """Writes ``out_dir/checkpoints/ckpt_<iteration>.pt`` atomically (rank 0), keeps the newest N.

    Call on every rank in distributed runs (the RNG states of all ranks are gathered).
    """
    state = _trainer_state(trainer, gather=True)
    if trainer._ctrl_group is not None:
        bad = trainer.replica_mismatches()
        if bad and trainer.is_main:
            logger.warning("replica check: ranks disagree on %d tensors (%s)", len(bad), ", ".join(bad[:5]))
        elif trainer.is_main:
            logger.info("replica check: ok (%d processes hold identical G/D weights and D spectral-norm vectors)", trainer.world_size)
    if not trainer.is_main or trainer.config.out_dir is None:
        return None
    folder = Path(trainer.config.out_dir) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ckpt_{trainer.iteration:08d}.pt"
    _atomic_torch_save(state, path)
    trainer.last_checkpoint = str(path)
    _prune_checkpoints(folder, trainer.config.keep_checkpoints)
    return str(path)


def _load_trainer_state(trainer: "Trainer", ckpt: Dict[str, Any], allow_changes: Sequence[str] = ()) -> None:
    """Restores a checkpoint (see :func:`load_checkpoint`); the model structure must match.

    Everything is validated before anything is changed; a mismatch raises
    :class:`CheckpointError`. Config fields that differ from the checkpoint's (other than
    output settings and ``allow_changes``) are logged as warnings.
    """
    file = ckpt.get("path", "<checkpoint>")
    saved = ckpt["config"]
    current = trainer.config.to_dict()
    diffs = [k for k in _STRUCTURAL_FIELDS if _norm(saved.get(k)) != _norm(current.get(k))]
    if diffs:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs run {current.get(k)!r}" for k in diffs)
        raise CheckpointError(f"{file} was trained with a different model ({detail})")
    _check_state_dict(trainer.G, ckpt["G"], "G", file)
    _check_state_dict(trainer.D, ckpt["D"], "D", file)
    if trainer.G_ema is not None and ckpt.get("G_ema") is not None:
        _check_state_dict(trainer.G_ema, ckpt["G_ema"], "G_ema", file)
    ds = ckpt.get("dataset", {})
    if int(ds.get("num_images", len(trainer.data))) != len(trainer.data):
        raise CheckpointError(
            f"{file} was trained on {ds.get('name')!r} with {ds.get('num_images')} images; this dataset "
            f"({trainer.data.name!r}) has {len(trainer.data)}"
        )
    if int(ckpt["data"].get("global_batch_size", trainer.config.batch_size)) != trainer.config.batch_size:
        logger.warning("batch size changed since the checkpoint: the data order will differ from an uninterrupted run")
    quiet = {"out_dir", "log_every", "sample_every", "ckpt_every", "keep_checkpoints", "progress", "tensorboard", "device"}
    quiet |= {f.name for f in dataclasses.fields(TrainConfig) if f.name.startswith("eval_")} | {"inception_weights"}
    saved = {**_defaults(), **saved}  # fields newer than the checkpoint count as their defaults
    changed = [k for k in current if k not in quiet and k not in allow_changes and _norm(saved.get(k)) != _norm(current[k])]
    if changed:
        logger.warning(
            "resuming with settings that differ from the checkpoint: %s",
            ", ".join(f"{k} {saved.get(k)!r} -> {current[k]!r}" for k in changed),
        )
    try:
        trainer.G.load_state_dict(ckpt["G"])
        trainer.D.load_state_dict(ckpt["D"])
        if trainer.G_ema is not None:
            trainer.G_ema.load_state_dict(ckpt["G_ema"] if ckpt.get("G_ema") is not None else ckpt["G"])
        trainer.opt_g.load_state_dict(ckpt["opt_g"])
        trainer.opt_d.load_state_dict(ckpt["opt_d"])
        trainer.sched_g.load_state_dict(ckpt["sched_g"])
        trainer.sched_d.load_state_dict(ckpt["sched_d"])
        trainer.loader.load_state_dict(ckpt["data"])
        _load_scalers(trainer, ckpt.get("amp"))
        augmentation._load_augment_state(trainer.augment, ckpt.get("augment"))
        trainer.last_real = augmentation._load_real_state(ckpt.get("last_real"), trainer.device)
        saved_terms = ckpt.get("regularizers") or {}
        for term in trainer.loss_terms:
            if (term.name or type(term).__name__) in saved_terms:
                term.load_state_dict(saved_terms[term.name or type(term).__name__])
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{file} does not match this run: {e}") from e
    for sched, lr in ((trainer.sched_g, trainer.config.lr_g), (trainer.sched_d, trainer.config.lr_d)):
        _follow_run_length(sched, lr, trainer.config.decay_start, trainer.config.iterations, int(ckpt["iteration"]))
    rng = ckpt["rng"]
    _set_rng_state(rng)
    noise_states = rng.get("noise") or []
    if len(noise_states) == trainer.world_size:
        trainer.noise_gen.set_state(noise_states[trainer.rank])
    else:
        logger.warning(
            "checkpoint written by %d processes, resuming on %d: noise streams re-seeded", len(noise_states), trainer.world_size
        )
        trainer.noise_gen.manual_seed(_mix_seed(trainer.config.seed, 2, trainer.rank, int(ckpt["iteration"])))
    if ckpt.get("fixed_z") is not None and tuple(ckpt["fixed_z"].shape) == tuple(trainer.fixed_z.shape):
        trainer.fixed_z = ckpt["fixed_z"].to(trainer.device)
    trainer.extra = dict(ckpt.get("extra") or {})
    best = (ckpt.get("eval") or {}).get("best_fid")
    trainer.best_fid = dict(best) if best is not None else None
    trainer.iteration = int(ckpt["iteration"])
    trainer._log.start_iteration = trainer.iteration
    trainer._log.last_iteration = trainer.iteration
    trainer.elapsed = float(ckpt.get("elapsed_s", 0.0))
    trainer.last_checkpoint = str(file)


def _defaults() -> Dict[str, Any]:
    return TrainConfig().to_dict()


def _load_scalers(trainer: "Trainer", amp: Optional[Dict[str, Any]]) -> None:
    """Restores the fp16 loss scalers and the skipped-step counts (a run without fp16 ignores them)."""
    if trainer.scaler_g is None or trainer.scaler_d is None or trainer.skipped_steps is None:
        return
    if not amp:
        logger.warning("the checkpoint was not trained with amp='fp16': the loss scalers start anew")
        return
    trainer.scaler_g.load_state_dict(amp["scaler_g"])
    trainer.scaler_d.load_state_dict(amp["scaler_d"])
    trainer.skipped_steps.copy_(amp["skipped_steps"])
