"""Helpers the blocks and the architectures share: activations, argument and label checks, the conv factory."""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import SNConv2d, _is_compiling

#: Batch-norm epsilon of the official Chainer code (``L.BatchNormalization`` default).
CHAINER_BN_EPS = 2e-5



def _activation(x: Tensor, negative_slope: float) -> Tensor:
    # Not in place: the input of a block is also the input of its shortcut.
    return F.relu(x) if negative_slope == 0.0 else F.leaky_relu(x, negative_slope)


def _activation_(x: Tensor, negative_slope: float) -> Tensor:
    # In place, only on a fresh BN or convolution output that nothing else holds (neither layer
    # saves its output for backward): saves one allocation and one pass over the activation.
    return F.relu_(x) if negative_slope == 0.0 else F.leaky_relu_(x, negative_slope)


def _check_slope(negative_slope: float) -> float:
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)) or not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"negative_slope must be a float in [0, 1) (0 = ReLU), got {negative_slope!r}")
    return float(negative_slope)


def _check_channels(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _check_choice(name: str, value: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _check_labels(y: Tensor, num_classes: int, batch_size: int, owner: str, allow_soft: bool = False) -> None:
    """Validates class labels without a host synchronization on accelerators.

    Shapes and dtypes are metadata checks. The range check raises ``ValueError`` on CPU before any
    computation; on other devices it is an asynchronous device assert (``torch._assert_async``),
    so the host never waits for the device.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"{owner}: y must be a tensor of class indices, got {type(y).__name__}")
    if y.is_floating_point():
        if not allow_soft:
            raise TypeError(f"{owner}: y must hold integer class indices in [0, {num_classes}), got dtype {y.dtype}")
        if y.shape != (batch_size, num_classes):
            raise ValueError(
                f"{owner}: soft labels y must have shape ({batch_size}, {num_classes}), got {tuple(y.shape)}"
            )
        return
    if y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"{owner}: y must hold integer class indices in [0, {num_classes}), got dtype {y.dtype}")
    if y.shape != (batch_size,):
        raise ValueError(f"{owner}: y must have shape ({batch_size},) (one class index per sample), got {tuple(y.shape)}")
    if y.numel() == 0 or _is_compiling():
        return
    if y.device.type == "cpu":
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"{owner}: class indices must be in [0, {num_classes}) (num_classes={num_classes}), "
                f"got values in [{low}, {high}]"
            )
    elif y.device.type != "meta":
        torch._assert_async(
            ((y >= 0) & (y < num_classes)).all(),
            f"{owner}: class indices must be in [0, {num_classes}) (num_classes={num_classes})",
        )



def _conv(sn: bool, *args, **kwargs) -> nn.Conv2d:  # type: ignore[no-untyped-def]
    return SNConv2d(*args, **kwargs) if sn else nn.Conv2d(*args, **kwargs)
