"""The statistics and distances: feature mean/covariance, Fréchet distance (FID, intra-FID), Inception Score, KID.

Each function is a thin, validating wrapper around torch-fidelity's own implementation (float64), so the numbers
are torch-fidelity's. They take features, not images: :mod:`~specnorm_gan.metrics.features` makes those.
"""

from __future__ import annotations

import warnings
from typing import Dict, Mapping, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .backend import _require_fidelity

__all__ = ["feature_statistics", "frechet_distance", "inception_score", "kernel_inception_distance"]


def _warn_few_samples(n: int, dim: int, what: str) -> None:
    if n <= dim:
        warnings.warn(
            f"{what}: FID statistics from {n} samples of {dim}-dimensional features: the covariance has rank at "
            f"most {n - 1} < {dim}, so the FID is biased (too high) and not comparable with published values; "
            f"use more than {dim} samples (the protocols use 5000 to 50000).",
            UserWarning,
            stacklevel=3,
        )


def feature_statistics(features: Union[Tensor, np.ndarray], *, what: str = "features") -> Dict[str, np.ndarray]:
    """Mean and covariance of features, with torch-fidelity's ``fid_features_to_statistics`` (in float64).

    Args:
        features: ``(N, D)`` features.
        what: Name used in the warning.

    Returns:
        ``{"mu": (D,) float64, "sigma": (D, D) float64}``.

    Warns:
        UserWarning: when ``N <= D`` (rank-deficient covariance), naming both numbers.

    Shape:
        - features: :math:`(N, D)`

    Example:
        >>> s = feature_statistics(torch.randn(100, 4, dtype=torch.float64))
        >>> s["mu"].shape, s["sigma"].shape
        ((4,), (4, 4))
    """
    _require_fidelity()
    from torch_fidelity.metric_fid import fid_features_to_statistics

    f = torch.as_tensor(features)
    if f.dim() != 2:
        raise ValueError(f"{what} must have shape (N, D), got {tuple(f.shape)}")
    n, d = f.shape
    if n < 2:
        raise ValueError(f"{what}: FID statistics need at least 2 samples, got {n}")
    _warn_few_samples(n, d, what)
    stats = fid_features_to_statistics(f.detach().cpu().double())
    return {"mu": np.asarray(stats["mu"], dtype=np.float64), "sigma": np.asarray(stats["sigma"], dtype=np.float64)}


def frechet_distance(
    mu1: Union[np.ndarray, Tensor],
    sigma1: Union[np.ndarray, Tensor],
    mu2: Union[np.ndarray, Tensor],
    sigma2: Union[np.ndarray, Tensor],
) -> float:
    """Fréchet distance between two Gaussians, with torch-fidelity's ``fid_statistics_to_metric`` (float64).

    :math:`\\|\\mu_1-\\mu_2\\|^2 + \\mathrm{tr}(\\Sigma_1 + \\Sigma_2 - 2(\\Sigma_1\\Sigma_2)^{1/2})`.

    Args:
        mu1: ``(D,)`` mean of the first set.
        sigma1: ``(D, D)`` covariance of the first set.
        mu2: ``(D,)`` mean of the second set.
        sigma2: ``(D, D)`` covariance of the second set.

    Returns:
        The distance as a Python float.

    Shape:
        - mu: :math:`(D,)`; sigma: :math:`(D, D)`

    Example:
        >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)
        4.0
    """
    _require_fidelity()
    from torch_fidelity.metric_fid import fid_statistics_to_metric, KEY_METRIC_FID

    m1, m2 = (np.asarray(torch.as_tensor(m).detach().cpu().double().numpy()) for m in (mu1, mu2))
    s1, s2 = (np.asarray(torch.as_tensor(s).detach().cpu().double().numpy()) for s in (sigma1, sigma2))
    if m1.ndim != 1 or m1.shape != m2.shape:
        raise ValueError(f"means must be (D,) vectors of the same size, got {m1.shape} and {m2.shape}")
    d = m1.shape[0]
    if s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"covariances must be ({d}, {d}) to match the means, got {s1.shape} and {s2.shape}")
    out = fid_statistics_to_metric({"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}, False)
    return float(out[KEY_METRIC_FID])


def inception_score(logits: Union[Tensor, np.ndarray], splits: int = 10) -> Tuple[float, float]:
    """Inception Score from classifier logits, with torch-fidelity's ``isc_features_to_metric``.

    The samples are split into ``splits`` contiguous chunks (no shuffling, as in the OpenAI reference code);
    each chunk's score is ``exp(E_x KL(p(y|x) || p(y)))``.

    Args:
        logits: ``(N, K)`` unnormalised class scores (Inception: torch-fidelity's ``logits_unbiased``).
        splits: Number of chunks.

    Returns:
        ``(mean, std)`` over the chunks.

    Shape:
        - logits: :math:`(N, K)`

    Example:
        >>> inception_score(torch.zeros(10, 5), splits=2)
        (1.0, 0.0)
    """
    _require_fidelity()
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    f = torch.as_tensor(logits).detach().cpu()
    if f.dim() != 2:
        raise ValueError(f"logits must have shape (N, K), got {tuple(f.shape)}")
    if not isinstance(splits, int) or splits < 1 or splits > f.shape[0]:
        raise ValueError(f"splits must be an int in [1, N={f.shape[0]}], got {splits!r}")
    out = isc_features_to_metric(f, splits=splits, shuffle=False)
    return float(out[KEY_METRIC_ISC_MEAN]), float(out[KEY_METRIC_ISC_STD])


def kernel_inception_distance(
    features1: Union[Tensor, np.ndarray],
    features2: Union[Tensor, np.ndarray],
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
) -> Tuple[float, float]:
    """Kernel Inception Distance with torch-fidelity's ``kid_features_to_metric`` (cubic polynomial kernel).

    Unbiased MMD² estimates on ``subsets`` random subsets of ``subset_size`` samples from each set (reduced to the
    smaller set's size if needed).

    Args:
        features1: ``(N1, D)`` features (generated).
        features2: ``(N2, D)`` features (reference).
        subsets: Number of random subsets.
        subset_size: Samples per subset.
        seed: Seed of the subset selection.

    Returns:
        ``(mean, std)`` over the subsets.

    Shape:
        - features1: :math:`(N_1, D)`; features2: :math:`(N_2, D)`

    Example:
        >>> m, s = kernel_inception_distance(torch.randn(50, 3), torch.randn(60, 3), subsets=5, subset_size=40)
    """
    _require_fidelity()
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    f1 = torch.as_tensor(features1).detach().cpu()
    f2 = torch.as_tensor(features2).detach().cpu()
    if f1.dim() != 2 or f2.dim() != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"features must be (N1, D) and (N2, D), got {tuple(f1.shape)} and {tuple(f2.shape)}")
    size = min(subset_size, f1.shape[0], f2.shape[0])
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples in each set, got {f1.shape[0]} and {f2.shape[0]}")
    out = kid_features_to_metric(
        f1.double(), f2.double(), kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, verbose=False
    )
    return float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD])


def _fid_to(features: Tensor, reference: Mapping[str, np.ndarray], what: str) -> float:
    """FID of ``features`` against reference statistics ``{"mu", "sigma"}`` (one class of intra-FID, or all)."""
    s = feature_statistics(features, what=what)
    return frechet_distance(s["mu"], s["sigma"], reference["mu"], reference["sigma"])


def _intra_fid(per_class: Mapping[int, float]) -> float:
    """Intra-FID: the mean of the per-class FIDs."""
    return float(np.mean(list(per_class.values())))
