"""The truncation trick (BigGAN): latents drawn from a normal truncated at ``|z| <= truncation``."""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

__all__ = ["truncated_normal", "check_truncation"]


def check_truncation(truncation: float) -> float:
    """Returns ``truncation`` as a float after checking that it is a finite number > 0.

    Example::

        >>> check_truncation(1)
        1.0
        >>> check_truncation(0)
        Traceback (most recent call last):
        ...
        ValueError: truncation must be a finite float > 0 (the |z| threshold, e.g. 0.5), got 0
    """
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not math.isfinite(truncation) or truncation <= 0:
        raise ValueError(f"truncation must be a finite float > 0 (the |z| threshold, e.g. 0.5), got {truncation!r}")
    return float(truncation)


def truncated_normal(
    shape: Union[int, Sequence[int]],
    truncation: float,
    generator: Optional[torch.Generator] = None,
    device: Optional[Union[str, torch.device]] = None,
    dtype: Optional[torch.dtype] = None,
) -> Tensor:
    r"""Standard normal samples with every entry resampled until :math:`|z| \le` ``truncation``.

    Resampling (as BigGAN's truncation trick) gives exactly the truncated normal. Meant for sampling and
    evaluation, not training steps (each round checks on the host whether entries are left).

    Args:
        shape: output shape.
        truncation: threshold (> 0; BigGAN samples at 0.02 ... 2, 1 is a common choice).
        generator: random generator (on ``device``).
        device, dtype: of the output.

    Example::

        >>> z = truncated_normal((1000, 8), 0.5, generator=torch.Generator().manual_seed(0))
        >>> bool(z.abs().max() <= 0.5)
        True
    """
    t = check_truncation(truncation)
    z = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    bad = z.abs() > t
    while bool(bad.any()):
        fresh = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        z = torch.where(bad, fresh, z)
        bad = z.abs() > t
    return z
