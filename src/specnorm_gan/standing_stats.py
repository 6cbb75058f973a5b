"""BigGAN's "standing statistics": BN running statistics of G re-estimated from many forwards before sampling.

An EMA of G averages the weights but not the BN statistics that go with them; BigGAN-PyTorch
(``utils.accumulate_standing_stats``) resets every BN's statistics, runs G in training mode over a
number of batches with cumulative averaging (``momentum=None``), then samples in eval mode.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

__all__ = ["accumulate_standing_stats"]


@torch.no_grad()
def accumulate_standing_stats(
    G: nn.Module, num_batches: int = 16, batch_size: int = 64, truncation: Optional[float] = None,
    generator: Optional[torch.Generator] = None,
) -> nn.Module:
    """Replaces the running statistics of every BN in ``G`` by their average over ``num_batches`` G forwards.

    Spectral norms are left as they are (their power iteration does not advance during these forwards).
    Returns ``G`` in eval mode.

    Args:
        G: a generator with ``sample(n, generator=..., truncation=...)``.
        num_batches: forwards to average over (BigGAN-PyTorch ``num_standing_accumulations``, 16).
        batch_size: samples per forward.
        truncation: truncation of the latents (None = plain normal).
        generator: random generator for the latents.

    Example::

        >>> from specnorm_gan import build_gan
        >>> G = build_gan("cifar10-biggan", width=0.125).G
        >>> G = accumulate_standing_stats(G, num_batches=2, batch_size=4)
        >>> G.training
        False
    """
    if isinstance(num_batches, bool) or not isinstance(num_batches, int) or num_batches < 1:
        raise ValueError(f"num_batches must be an int >= 1, got {num_batches!r}")
    bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    sn_modes = [(m, m.training) for m in G.modules() if hasattr(m, "_sn_weight")]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    G.train()
    for m, _ in sn_modes:
        m.eval()  # no power-iteration step
    try:
        for _ in range(num_batches):
            G.sample(batch_size, generator=generator, truncation=truncation)  # type: ignore[operator]
    finally:
        for bn, mom in zip(bns, momenta):
            bn.momentum = mom
    return G.eval()
