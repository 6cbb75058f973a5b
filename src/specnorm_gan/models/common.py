"""Helpers every architecture shares: argument checks, design lookup, the input-check hook and the end of ``__init__``."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..blocks.common import _check_channels
from ..blocks.conditional import ConditionalBatchNorm2d, ProjectionHead
from ..blocks.model_setup import _apply_init
from ..layers import fuse_spectral_norm

InitArg = Union[str, Callable[[nn.Module], object]]


def _scale(c: int, width: float) -> int:
    return max(1, int(round(c * width)))


def _check_width(width: float) -> float:
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(f"width must be a positive float (channel multiplier), got {width!r}")
    return float(width)


def _check_num_classes(num_classes: int) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes must be an int >= 0 (0 = unconditional), got {num_classes!r}")
    return num_classes


def _override_channels(default: Tuple[int, ...], channels: Optional[Sequence[int]], what: str) -> Tuple[int, ...]:
    if channels is None:
        return tuple(default)
    channels = tuple(channels)
    if len(channels) != len(default):
        raise ValueError(f"{what}: channels must have {len(default)} entries (like {list(default)}), got {list(channels)}")
    for c in channels:
        _check_channels("channel width", c)
    return channels


def _lookup(table: Dict[str, object], key: str, what: str) -> object:
    if key not in table:
        raise ValueError(f"no {what} design {key!r}; expected one of {sorted(table)}")
    return table[key]


def _model_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _model_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


def _disable_inner_label_checks(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (ConditionalBatchNorm2d, ProjectionHead)):
            m.check_labels = False


def _input_check_hook(module: nn.Module, args: Tuple, kwargs: Dict) -> None:
    # Runs as the first forward pre-hook, i.e. before the fused spectral-norm hook, so bad input
    # is rejected before any computation (no power iteration, no BN statistics update).
    first = args[0] if args else kwargs.get("z", kwargs.get("x"))
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if first is not None:
        module._check_inputs(first, y)  # type: ignore[operator]


def _finish_init(module: nn.Module, init: InitArg) -> None:
    """Common end of every architecture's ``__init__``: checks, init, SN warm-up, fusion."""
    _disable_inner_label_checks(module)
    _apply_init(module, init)
    module.register_forward_pre_hook(_input_check_hook, with_kwargs=True)
    fuse_spectral_norm(module)
