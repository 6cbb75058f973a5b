"""Toy data for mode-collapse tests: mixtures of isotropic Gaussians and the mode-coverage metric.

The classic 2-D benchmarks of mode collapse (Metz et al. 2017, "Unrolled GANs"; Srivastava et al.
2017, "VEEGAN"; Lin et al. 2018, "PacGAN") train a GAN on an equal-weight mixture of Gaussians
with well-separated means and count how many mixture components ("modes") the generator reaches
and how many of its samples land close to a mode:

* :func:`ring_of_gaussians`: ``n_modes`` means evenly spaced on a circle (default 8 modes,
  radius 2, standard deviation 0.02, as in Unrolled GAN and VEEGAN);
* :func:`grid_of_gaussians`: ``size x size`` means on a square lattice centred at the origin
  (default 5 x 5 with spacing 2, i.e. means in ``{-4, -2, 0, 2, 4}^2``, standard deviation 0.05,
  as in VEEGAN and PacGAN);
* :func:`mode_coverage`: the share of *high-quality* samples (within ``threshold`` standard
  deviations, 3 by default, of their nearest mean) and the number of modes that received at least
  ``min_count`` of them.

Example::

    >>> mix = ring_of_gaussians(8, radius=2.0, std=0.02)
    >>> x = mix.sample(1000, generator=torch.Generator().manual_seed(0))
    >>> cov = mix.mode_coverage(x)
    >>> cov.modes_covered, cov.high_quality > 0.95
    (8, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import torch
from torch import Tensor

__all__ = ["GaussianMixture", "ModeCoverage", "ring_of_gaussians", "grid_of_gaussians", "mode_coverage"]

# Rows of samples compared with all means at once in mode_coverage (bounds its memory to
# _CHUNK * n_modes float64 distances).
_CHUNK = 65536


class ModeCoverage(NamedTuple):
    """Result of :func:`mode_coverage`.

    Attributes:
        modes_covered: number of modes with at least ``min_count`` high-quality samples.
        high_quality: share of all samples (in ``[0, 1]``) within ``threshold * std`` of their
            nearest mode.
        counts: ``(n_modes,)`` int64 tensor, the number of high-quality samples assigned to each mode.

    Example::

        >>> cov = mode_coverage(torch.tensor([[0.0, 0.05], [3.0, 0.0]]), torch.zeros(1, 2), std=0.1)
        >>> cov
        ModeCoverage(modes_covered=1, high_quality=0.5, counts=tensor([1]))
        >>> modes, share, counts = cov
    """

    modes_covered: int
    high_quality: float
    counts: Tensor


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive float, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite float, got {value!r}")
    return float(value)


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def _check_points(name: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, D) with N, D >= 1, got {tuple(x.shape)}")


def mode_coverage(
    samples: Tensor,
    centers: Tensor,
    std: float,
    *,
    threshold: float = 3.0,
    min_count: int = 1,
) -> ModeCoverage:
    """Modes covered and share of high-quality samples of a mixture of isotropic Gaussians.

    Each sample is assigned to its nearest mean (Euclidean distance, computed in float64). A
    sample is *high quality* when that distance is at most ``threshold * std`` (the boundary
    counts as inside). A mode is *covered* when at least ``min_count`` high-quality samples are
    assigned to it. With ``min_count=1`` this is the protocol of VEEGAN (2,500 samples, 3
    standard deviations); a larger ``min_count`` keeps a few stray samples from counting as a
    covered mode.

    For samples drawn from the mixture itself (well-separated modes) the expected high-quality
    share is ``P(chi2_D <= threshold^2)``, ``1 - exp(-threshold^2 / 2) = 0.98889`` in 2-D.

    Args:
        samples: generated points.
        centers: the means of the mixture.
        std: the standard deviation of every component (isotropic).
        threshold: radius of the high-quality ball, in standard deviations (default 3).
        min_count: high-quality samples a mode needs to count as covered (default 1).

    Returns:
        :class:`ModeCoverage` ``(modes_covered, high_quality, counts)``.

    Shape:
        - samples: :math:`(N, D)`; centers: :math:`(K, D)`, on any device and float dtype.
        - counts: :math:`(K,)`, int64, on ``samples``' device.

    Raises:
        TypeError: non-tensor or non-float inputs, non-numeric options.
        ValueError: bad shapes, ``std`` or ``threshold`` not positive, ``min_count < 1``.

    Example::

        >>> centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> samples = torch.tensor([[0.1, 0.0], [0.0, 0.5], [9.9, 0.0], [5.0, 5.0]])
        >>> cov = mode_coverage(samples, centers, std=0.1)
        >>> cov.modes_covered, cov.high_quality, cov.counts.tolist()
        (2, 0.5, [1, 1])
    """
    _check_points("samples", samples)
    _check_points("centers", centers)
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples and centers must have the same number of coordinates, got samples {tuple(samples.shape)} "
            f"and centers {tuple(centers.shape)}"
        )
    std = _check_positive("std", std)
    threshold = _check_positive("threshold", threshold)
    min_count = _check_count("min_count", min_count, 1)
    c = centers.detach().to(device=samples.device, dtype=torch.float64)
    nearest_parts = []
    dist_parts = []
    for chunk in samples.detach().split(_CHUNK):
        x = chunk.to(torch.float64)
        # Exact squared distances (no cdist matmul shortcut, whose cancellation errors would
        # move points across the threshold).
        d2 = (x.unsqueeze(1) - c.unsqueeze(0)).pow(2).sum(-1)
        d2_min, idx = d2.min(dim=1)
        nearest_parts.append(idx)
        dist_parts.append(d2_min)
    nearest = torch.cat(nearest_parts)
    d2_min = torch.cat(dist_parts)
    radius = threshold * std
    hq = d2_min <= radius * radius
    counts = torch.bincount(nearest[hq], minlength=c.shape[0])
    modes_covered = int((counts >= min_count).sum().item())
    high_quality = float(hq.to(torch.float64).mean().item())
    return ModeCoverage(modes_covered, high_quality, counts)


@dataclass(frozen=True, eq=False)  # eq on tensor fields would be ambiguous: identity equality
class GaussianMixture:
    """An equal-weight mixture of isotropic Gaussians ``N(centers[k], std^2 I)``.

    Build one with :func:`ring_of_gaussians` or :func:`grid_of_gaussians`, or directly from
    any ``(K, D)`` tensor of means.

    Args:
        centers: the means of the components.
        std: the standard deviation of every component.

    Shape:
        - centers: :math:`(K, D)`.

    Example::

        >>> mix = GaussianMixture(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), std=0.1)
        >>> mix.n_modes, mix.sample(5).shape
        (2, torch.Size([5, 2]))
    """

    centers: Tensor
    std: float

    def __post_init__(self) -> None:
        _check_points("centers", self.centers)
        object.__setattr__(self, "std", _check_positive("std", self.std))

    @property
    def n_modes(self) -> int:
        """Number of mixture components ``K``."""
        return int(self.centers.shape[0])

    def sample(self, n: int, *, generator: Optional[torch.Generator] = None) -> Tensor:
        """Draws ``n`` points: a uniformly chosen component, plus ``std``-scaled Gaussian noise.

        Args:
            n: number of points.
            generator: random generator (on the device of ``centers``) for reproducible draws.

        Returns:
            Points of the dtype and device of ``centers``.

        Shape:
            - Output: :math:`(n, D)`.

        Example::

            >>> g = torch.Generator().manual_seed(0)
            >>> grid_of_gaussians().sample(3, generator=g).shape
            torch.Size([3, 2])
        """
        n = _check_count("n", n, 1)
        c = self.centers
        idx = torch.randint(c.shape[0], (n,), device=c.device, generator=generator)
        noise = torch.randn(n, c.shape[1], device=c.device, dtype=c.dtype, generator=generator)
        return c[idx] + self.std * noise

    def mode_coverage(self, samples: Tensor, *, threshold: float = 3.0, min_count: int = 1) -> ModeCoverage:
        """:func:`mode_coverage` of ``samples`` against this mixture's means and ``std``.

        Args:
            samples: generated points.
            threshold: radius of the high-quality ball, in standard deviations (default 3).
            min_count: high-quality samples a mode needs to count as covered (default 1).

        Returns:
            :class:`ModeCoverage` ``(modes_covered, high_quality, counts)``.

        Shape:
            - samples: :math:`(N, D)`.

        Example::

            >>> mix = ring_of_gaussians(4, radius=1.0, std=0.01)
            >>> mix.mode_coverage(torch.zeros(3, 2)).modes_covered  # the centre is no mode
            0
        """
        return mode_coverage(samples, self.centers, self.std, threshold=threshold, min_count=min_count)


def ring_of_gaussians(
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.02,
    *,
    device: Any = None,
    dtype: Optional[torch.dtype] = None,
) -> GaussianMixture:
    """``n_modes`` Gaussians with means evenly spaced on a circle about the origin.

    Mean ``k`` is ``radius * (cos(2 pi k / n_modes), sin(2 pi k / n_modes))``. The defaults (8
    modes, radius 2, std 0.02) are the ring of Unrolled GAN (Metz et al. 2017) and VEEGAN.

    Args:
        n_modes: number of components (>= 1).
        radius: radius of the circle (> 0).
        std: standard deviation of every component (> 0).
        device: device of the means (and of samples drawn from the mixture).
        dtype: floating dtype of the means (default: torch's default dtype).

    Returns:
        :class:`GaussianMixture` with ``centers`` of shape ``(n_modes, 2)``.

    Example::

        >>> ring = ring_of_gaussians(8, radius=2.0)
        >>> ring.centers.shape, ring.centers[1]
        (torch.Size([8, 2]), tensor([1.4142, 1.4142]))
        >>> ring.centers.norm(dim=1)
        tensor([2.0000, 2.0000, 2.0000, 2.0000, 2.0000, 2.0000, 2.0000, 2.0000])
    """
    n_modes = _check_count("n_modes", n_modes, 1)
    radius = _check_positive("radius", radius)
    angles = torch.arange(n_modes, dtype=torch.float64) * (2.0 * math.pi / n_modes)
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    dtype = dtype if dtype is not None else torch.get_default_dtype()
    return GaussianMixture(centers.to(device=device, dtype=dtype), std)


def grid_of_gaussians(
    size: int = 5,
    spacing: float = 2.0,
    std: float = 0.05,
    *,
    device: Any = None,
    dtype: Optional[torch.dtype] = None,
) -> GaussianMixture:
    """``size x size`` Gaussians with means on a square lattice centred at the origin.

    Means are ``spacing * (i - (size - 1) / 2, j - (size - 1) / 2)`` for ``i, j`` in
    ``range(size)``, row-major in ``i``. The defaults (5 x 5, spacing 2, i.e. means in
    ``{-4, -2, 0, 2, 4}^2``, std 0.05) are the grid of VEEGAN and PacGAN.

    Args:
        size: number of means per axis (>= 1).
        spacing: distance between neighbouring means (> 0).
        std: standard deviation of every component (> 0).
        device: device of the means (and of samples drawn from the mixture).
        dtype: floating dtype of the means (default: torch's default dtype).

    Returns:
        :class:`GaussianMixture` with ``centers`` of shape ``(size * size, 2)``.

    Example::

        >>> grid_of_gaussians(2, spacing=2.0).centers
        tensor([[-1., -1.],
                [-1.,  1.],
                [ 1., -1.],
                [ 1.,  1.]])
    """
    size = _check_count("size", size, 1)
    spacing = _check_positive("spacing", spacing)
    axis = (torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0) * spacing
    centers = torch.cartesian_prod(axis, axis).reshape(size * size, 2)
    dtype = dtype if dtype is not None else torch.get_default_dtype()
    return GaussianMixture(centers.to(device=device, dtype=dtype), std)
