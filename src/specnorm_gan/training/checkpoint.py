"""Checkpoint files: atomic writes, safe (``weights_only``) loading, retention, and models rebuilt from a file."""

from __future__ import annotations

import copy
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from .build import build_models
from .config import TrainConfig
from .errors import CheckpointError

__all__ = [
    "CHECKPOINT_FORMAT",
    "find_checkpoint",
    "load_checkpoint",
    "models_from_checkpoint",
    "generator_from_checkpoint",
]

#: Identifies checkpoints written by :class:`Trainer` (``checkpoint["format"]``).
CHECKPOINT_FORMAT = "specnorm_gan.checkpoint"
_CHECKPOINT_VERSION = 1


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


def _prune_checkpoints(folder: Path, keep: int) -> None:
    """Deletes all but the newest ``keep`` ``ckpt_*.pt`` files of ``folder``."""
    for _, old in _list_checkpoints(folder)[:-keep]:
        try:
            old.unlink()
        except OSError:
            pass


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
        if isinstance(e, pickle.UnpicklingError):
            # torch's own text advises loading the file unsafely; say what happened instead.
            raise CheckpointError(
                f"{file} is not a safe checkpoint and was not loaded: it holds objects that a safe load refuses "
                f"({_refusal_reason(str(e))}). A specnorm_gan checkpoint holds only tensors and plain containers; this "
                f"file is corrupted or was written by other code, which may run anything when unpickled, so specnorm_gan "
                f"cannot read it.{hint}"
            ) from None
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


def _refusal_reason(message: str) -> str:
    """The unpickler's own finding from torch's weights_only error text, without its advice."""
    skip = ("weights_only", "weights only", "documentation", "trusted source", "pytorch")
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    kept = [ln.replace("WeightsUnpickler error:", "").strip() for ln in lines if not any(k in ln.lower() for k in skip)]
    return "; ".join(k for k in kept if k) or "unsupported pickle content"


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
