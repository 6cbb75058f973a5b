"""The truncation trick (BigGAN): latents drawn from a normal truncated at ``|z| <= truncation``."""

from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

__all__ = ["truncated_normal", "check_truncation", "truncate_latents", "check_sampling_args", "TruncatedGenerator"]


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


def check_sampling_args(truncation: Optional[float], standing_stats: int = 0, G: Optional[torch.nn.Module] = None) -> None:
    """Validates the sampling options of the example scripts (``--truncation``, ``--standing-stats``).

    Args:
        truncation: None (off) or a finite float > 0.
        standing_stats: batches of standing statistics (an int >= 0; 0 = off).
        G: when given, also checks that G can take them (truncation needs normal latents; standing
            statistics need ``G.sample``).

    Raises:
        ValueError: naming the option and the expected value.

    Example::

        >>> check_sampling_args(0.5, 16)
        >>> check_sampling_args(0.0)
        Traceback (most recent call last):
        ...
        ValueError: --truncation must be a finite float > 0 (the |z| threshold, e.g. 0.5), got 0.0
    """
    if truncation is not None:
        try:
            check_truncation(truncation)
        except ValueError as e:
            raise ValueError(f"--{e}") from None
    if isinstance(standing_stats, bool) or not isinstance(standing_stats, int) or standing_stats < 0:
        raise ValueError(f"--standing-stats must be an int >= 0 (batches; 0: off), got {standing_stats!r}")
    if G is None:
        return
    if truncation is not None and getattr(G, "z_dist", "normal") != "normal":
        raise ValueError(f"--truncation applies to normal latents; this generator draws z_dist={G.z_dist!r}")
    if standing_stats and not callable(getattr(G, "sample", None)):
        raise ValueError(f"--standing-stats needs a generator with sample(n, ...); {type(G).__name__} has none")


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


def truncate_latents(z: Tensor, truncation: float) -> Tensor:
    r"""Maps standard-normal latents to the normal truncated at :math:`|z| \le` ``truncation``, entry by entry.

    Inverse-CDF transform ``Phi^-1(Phi(-t) + (Phi(t) - Phi(-t)) Phi(z))`` (in float64): a deterministic function
    of ``z``, so a pipeline that draws its own ``N(0, I)`` latents from a seed (such as
    :class:`specnorm_gan.metrics.Evaluator`) gets exactly truncated-normal latents, reproducibly. Same
    distribution as :func:`truncated_normal` (which resamples), not the same draws.

    Args:
        z: standard-normal latents, any shape.
        truncation: threshold (> 0).

    Returns:
        A tensor like ``z`` with every entry in ``[-truncation, truncation]``.

    Example::

        >>> z = truncate_latents(torch.randn(1000, 8, generator=torch.Generator().manual_seed(0)), 0.5)
        >>> bool(z.abs().max() <= 0.5)
        True
    """
    t = check_truncation(truncation)
    lo = torch.special.ndtr(torch.tensor(-t, dtype=torch.float64))
    u = lo + (1 - 2 * lo) * torch.special.ndtr(z.double())
    return torch.special.ndtri(u).clamp_(-t, t).to(z.dtype)


class TruncatedGenerator(torch.nn.Module):
    r"""Wraps a generator so that the standard-normal ``z`` it is given is truncated first (:func:`truncate_latents`).

    For code that draws ``N(0, I)`` latents itself and calls ``G(z, y)``, such as
    :meth:`specnorm_gan.metrics.Evaluator.evaluate_generator`: the wrapper has G's interface attributes
    (``z_dim``, ``num_classes``, ``resolution``, ``out_channels``, ``z_dist``) and its train/eval mode.

    Args:
        G: a generator ``G(z, y=None)`` with normal latents.
        truncation: threshold (> 0).

    Shape:
        - z: :math:`(N, z\_dim)` standard normal; output: that of ``G``.

    Example::

        >>> from specnorm_gan import build_gan
        >>> G = build_gan("cifar10-biggan", width=0.125).G.eval()
        >>> TG = TruncatedGenerator(G, 0.5)
        >>> z = torch.randn(2, G.z_dim)
        >>> bool(torch.equal(TG(z, torch.tensor([0, 1])), G(truncate_latents(z, 0.5), torch.tensor([0, 1]))))
        True
    """

    def __init__(self, G: torch.nn.Module, truncation: float) -> None:
        super().__init__()
        if getattr(G, "z_dist", "normal") != "normal":
            raise ValueError(f"truncation applies to normal latents; this generator draws z_dist={G.z_dist!r}")
        self.G, self.truncation = G, check_truncation(truncation)
        for name in ("z_dim", "num_classes", "resolution", "out_channels", "z_dist"):
            if hasattr(G, name):
                setattr(self, name, getattr(G, name))

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        zt = truncate_latents(z, self.truncation)
        return self.G(zt) if y is None else self.G(zt, y)

    def extra_repr(self) -> str:
        return f"truncation={self.truncation}"
