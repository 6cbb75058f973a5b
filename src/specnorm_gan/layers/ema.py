"""Exponential moving average of a model's weights, spectral-norm buffers copied."""

from __future__ import annotations

import torch
from torch import nn

from .power_iteration import _copy_all_


@torch.no_grad()
def ema_update_(ema_model: nn.Module, model: nn.Module, decay: float) -> None:
    """Updates ``ema_model`` in place: ``p_ema = decay * p_ema + (1 - decay) * p`` for parameters.

    Buffers (BatchNorm running statistics, ``num_batches_tracked``, spectral-norm ``u``/``v``) are
    copied, never averaged: averaged unit vectors shrink, so an averaged ``u``/``v`` underestimates
    sigma and the EMA model's outputs blow up (see the SNGAN reference notes, trap 2).

    Args:
        ema_model: a copy of ``model`` (``copy.deepcopy(model)``) with the same structure.
        model: the live model.
        decay: in ``[0, 1]``; 0 copies the model, 1 leaves the EMA unchanged.

    Example::

        >>> import copy
        >>> g = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        >>> g_ema = copy.deepcopy(g)
        >>> ema_update_(g_ema, g, decay=0.999)
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    ema_params = list(ema_model.parameters())
    params = list(model.parameters())
    ema_buffers = list(ema_model.buffers())
    buffers = list(model.buffers())
    if len(ema_params) != len(params) or len(ema_buffers) != len(buffers):
        raise ValueError(
            f"ema_model and model differ in structure: {len(ema_params)} vs {len(params)} parameters, "
            f"{len(ema_buffers)} vs {len(buffers)} buffers"
        )
    if params:
        torch._foreach_lerp_(ema_params, [p.detach() for p in params], 1.0 - decay)
    if buffers:
        _copy_all_(ema_buffers, buffers)
