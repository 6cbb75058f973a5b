"""Exponential moving average of G (:func:`specnorm_gan.layers.ema_update_`, buffers copied)."""

from __future__ import annotations

import copy

from torch import nn

from ..layers import ema_update_


def _make_ema(G: nn.Module) -> nn.Module:
    """A frozen copy of ``G`` in eval mode."""
    G_ema = copy.deepcopy(G).eval()
    for p in G_ema.parameters():
        p.requires_grad_(False)
    return G_ema


def _update_ema(G_ema: nn.Module, G: nn.Module, decay: float, iteration: int, start: int) -> None:
    """One EMA step; before ``start`` iterations the average simply copies ``G``."""
    ema_update_(G_ema, G, decay if iteration >= start else 0.0)
