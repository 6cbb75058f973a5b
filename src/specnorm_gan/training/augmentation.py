"""The run's augmentation of D's inputs (DiffAugment or ADA) and the real batch the RpGAN G step reuses.

* :func:`_build_augment`: ``TrainConfig.diffaugment`` -> :class:`~specnorm_gan.augment.DiffAugment`,
  ``TrainConfig.ada_target`` -> :class:`~specnorm_gan.augment.AdaptiveAugment`; the steps
  (training/steps.py) apply it to the real + fake batch of every D step and to the fakes of every G
  step, drawing its randomness from the run's noise generator (so seeded runs and resumes repeat).
  ADA's controller is updated in the D step from D's outputs on the reals, on the device.
* A loss whose G side needs D's outputs on reals (``loss="rpgan"``) reuses the **last D step's real
  batch** in the G step (no extra data fetch). Only the very first G step of a ``g_first`` run, which
  comes before any D step, draws one batch from the loader itself. The batch is kept in checkpoints
  so that a resumed run repeats the uninterrupted one exactly.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from ..augment import AdaptiveAugment, DiffAugment
from .config import TrainConfig


def _build_augment(config: TrainConfig, device: torch.device) -> Optional[nn.Module]:
    """The augmentation a (resolved, validated) config asks for, on ``device``, or None."""
    if config.ada_target is not None:
        aug: nn.Module = AdaptiveAugment(config.ada_transforms, p=config.ada_p, target=config.ada_target,
                                         speed_images=config.ada_speed_images, interval=config.ada_interval)
        return aug.to(device)
    if config.diffaugment:
        return DiffAugment(config.diffaugment)
    return None


def _augment_state(augment: Optional[nn.Module]) -> Optional[Dict[str, Any]]:
    return augment.state_dict_aug() if augment is not None else None


def _load_augment_state(augment: Optional[nn.Module], state: Optional[Dict[str, Any]]) -> None:
    if augment is not None and state:
        augment.load_state_dict_aug(state)


RealBatch = Tuple[Tensor, Optional[Tensor]]


def _real_state(real: Optional[RealBatch]) -> Optional[Dict[str, Any]]:
    if real is None:
        return None
    return {"x": real[0].detach().cpu().clone(), "y": real[1].cpu().clone() if real[1] is not None else None}


def _load_real_state(state: Optional[Dict[str, Any]], device: torch.device) -> Optional[RealBatch]:
    if not state:
        return None
    return state["x"].to(device), state["y"].to(device) if state.get("y") is not None else None
