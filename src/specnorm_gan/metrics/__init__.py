"""Evaluation of generators: Inception Score, FID, KID and intra-FID through torch-fidelity.

This module is an optional extra (``pip install specnorm-gan[metrics]``). It is not imported by
``import specnorm_gan``; use ``from specnorm_gan import metrics`` or ``import specnorm_gan.metrics``.

Every number is produced by `torch-fidelity <https://github.com/toshas/torch-fidelity>`_'s feature extractor
(by default ``"inception-v3-compat"``, its port of the TF Inception-v3 used by the IS/FID reference code) and
by torch-fidelity's own statistics, Fréchet-distance, Inception-Score and KID functions, with its on-disk cache
for reference statistics. What this module adds is the glue the SNGAN protocols need:

* sampling ``N`` images straight from ``G`` in batches (class-balanced labels for conditional models, fixed seed,
  ``G`` in eval mode), converted to ``uint8`` exactly as ``torchvision.utils.save_image`` would write them to PNG,
  without the PNG round trip;
* the two evaluation protocols (:data:`PROTOCOLS`): ``"paper"`` (IS over 10 splits x 5K = 50K samples; FID 5K
  generated vs 10K real) and ``"50k"`` (IS and FID on 50K generated; FID against the full reference set), named in
  every result;
* intra-FID for conditional models (mean of the per-class FIDs, each 5K generated images of class ``c`` against
  all reference images of class ``c``), with the per-class values;
* clear errors for the usual mistakes (wrong image range, too few samples, missing weights offline).

See ``docs/evaluation.md`` for exactly which pipeline produces which number and how they relate to the numbers
in the SNGAN / projection-discriminator papers and in other codebases.

Example:
    >>> from specnorm_gan import metrics
    >>> evaluator = metrics.Evaluator("cifar10-train", metrics=("is", "fid"), protocol="paper")  # doctest: +SKIP
    >>> result = evaluator.evaluate_generator(G)  # doctest: +SKIP
    >>> print(metrics.format_table(result))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

if TYPE_CHECKING:  # pragma: no cover
    from ..data import ImageDataset

__all__ = [
    "Protocol",
    "PROTOCOLS",
    "PAPER",
    "FIFTY_K",
    "get_protocol",
    "ReferenceData",
    "Evaluator",
    "evaluate_generator",
    "evaluate_images",
    "to_uint8",
    "feature_statistics",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "format_table",
    "save_results",
    "plot_metric_curves",
    "InceptionWeightsUnavailableError",
    "ReferenceUnavailableError",
    "DEFAULT_FEATURE_EXTRACTOR",
    "METRIC_NAMES",
]

DEFAULT_FEATURE_EXTRACTOR = "inception-v3-compat"
"""torch-fidelity's TF-compatible Inception-v3 (the feature extractor of the IS / FID reference code)."""

METRIC_NAMES = ("is", "fid", "kid", "intra_fid")
"""Metric names accepted by :class:`Evaluator` (aliases: ``isc``, ``intra-fid``, ``intrafid``)."""

_METRIC_ALIASES = {
    "is": "is",
    "isc": "is",
    "inception_score": "is",
    "fid": "fid",
    "kid": "kid",
    "intra_fid": "intra_fid",
    "intra-fid": "intra_fid",
    "intrafid": "intra_fid",
}

_RANGE_TOL = 1e-3  # float images may exceed [-1, 1] by this much (rounding) before it is an error

_INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


class InceptionWeightsUnavailableError(RuntimeError):
    """The Inception-v3 weights could not be loaded (typically: no internet and no local copy)."""


class ReferenceUnavailableError(RuntimeError):
    """A registered reference dataset could not be loaded (typically: not downloaded, no internet)."""


# --------------------------------------------------------------------------------------------------------------
# optional dependencies


def _require_fidelity() -> Any:
    """Import torch-fidelity lazily, with an error that says which extra to install."""
    try:
        import torch_fidelity  # noqa: F401
        import torch_fidelity.metric_fid
        import torch_fidelity.metric_isc
        import torch_fidelity.metric_kid
        import torch_fidelity.registry
        import torch_fidelity.utils
    except ImportError as e:  # pragma: no cover - exercised through monkeypatched sys.modules in the tests
        raise ImportError(
            "specnorm_gan.metrics needs torch-fidelity (and torchvision, which it imports): "
            "install the extra with `pip install specnorm-gan[metrics]` "
            f"(import failed with: {e})"
        ) from e
    return torch_fidelity


def _fidelity_version() -> str:
    try:
        from importlib.metadata import version

        return version("torch-fidelity")
    except Exception:  # pragma: no cover
        return getattr(_require_fidelity(), "__version__", "unknown")


def _specnorm_version() -> str:
    try:
        from importlib.metadata import version

        return version("specnorm-gan")
    except Exception:  # pragma: no cover - source checkout without installation
        import specnorm_gan

        return str(getattr(specnorm_gan, "__version__", "unknown"))


def _as_labels(labels: Any) -> Tensor:
    if isinstance(labels, Tensor):
        return labels.detach().cpu().long().flatten()
    return torch.as_tensor(np.asarray(labels)).long().flatten()


# --------------------------------------------------------------------------------------------------------------
# protocols


@dataclass(frozen=True)
class Protocol:
    """How many samples each metric uses and against which reference subset.

    A result is only comparable with results of the same protocol (and the same feature extractor and
    reference set); every result dict carries its protocol's ``name`` and all these fields.

    Args:
        name: Name reported with every number (``"paper"``, ``"50k"``, or your own).
        is_samples: Generated samples for the Inception Score.
        is_splits: IS is computed on ``is_splits`` contiguous chunks of the samples; mean ± std over the chunks
            is reported (the OpenAI reference code does not shuffle; neither does this module, so with
            class-balanced labels every chunk of a conditional model holds every class equally often).
        fid_samples: Generated samples for FID and KID.
        fid_reference_samples: Reference images for FID and KID: a random subset of this size (drawn with
            ``reference_seed``), or ``None`` for the whole reference set.
        intra_fid_samples_per_class: Generated samples of each class for intra-FID; the reference of class ``c``
            is always every reference image labelled ``c``.
        kid_subsets: Number of random subsets KID averages over (torch-fidelity's default 100).
        kid_subset_size: Size of each KID subset (torch-fidelity's default 1000; reduced to the number of available
            samples when fewer, and the value used is reported).
        reference_seed: Seed of the reference subset selection (fixed so the cached statistics are reused).
        description: One line describing the protocol and where it comes from.

    Example:
        >>> from specnorm_gan.metrics import PAPER
        >>> PAPER.is_samples, PAPER.is_splits, PAPER.fid_samples, PAPER.fid_reference_samples
        (50000, 10, 5000, 10000)
        >>> small = dataclasses.replace(PAPER, name="paper-small", is_samples=5000, is_splits=1)
    """

    name: str
    is_samples: int = 50_000
    is_splits: int = 10
    fid_samples: int = 50_000
    fid_reference_samples: Optional[int] = None
    intra_fid_samples_per_class: int = 5_000
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    reference_seed: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Protocol.name must be a non-empty string, got {self.name!r}")
        for field in ("is_samples", "is_splits", "fid_samples", "intra_fid_samples_per_class", "kid_subsets",
                      "kid_subset_size"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Protocol.{field} must be a positive int, got {value!r}")
        if self.is_splits > self.is_samples:
            raise ValueError(
                f"Protocol.is_splits ({self.is_splits}) must not exceed is_samples ({self.is_samples})"
            )
        if self.fid_reference_samples is not None and (
            not isinstance(self.fid_reference_samples, int) or self.fid_reference_samples < 2
        ):
            raise ValueError(
                f"Protocol.fid_reference_samples must be None (whole reference set) or an int >= 2, "
                f"got {self.fid_reference_samples!r}"
            )

    def with_num_samples(self, num_samples: Optional[int] = None, *, per_class: Optional[int] = None) -> "Protocol":
        """The same protocol with other generated sample counts, renamed so the numbers stay apart.

        Use it for cheap periodic evaluation during training. ``num_samples`` replaces the IS and FID/KID counts
        (name suffix ``-n<N>``), ``per_class`` the intra-FID count per class (suffix ``-c<N>``); the reference
        side is unchanged.

        Args:
            num_samples: Generated images for IS and for FID/KID.
            per_class: Generated images per class for intra-FID.

        Returns:
            A new :class:`Protocol` (``self`` if both are ``None``).

        Example:
            >>> PAPER.with_num_samples(5000).name
            'paper-n5000'
            >>> PAPER.with_num_samples(per_class=500).name
            'paper-c500'
        """
        p = self
        if num_samples is not None:
            if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 2:
                raise ValueError(f"num_samples must be an int >= 2, got {num_samples!r}")
            p = dataclasses.replace(
                p,
                name=f"{p.name}-n{num_samples}",
                is_samples=num_samples,
                is_splits=min(p.is_splits, num_samples),
                fid_samples=num_samples,
                description=f"{p.description} [IS and FID on {num_samples} generated samples]".strip(),
            )
        if per_class is not None:
            if not isinstance(per_class, int) or isinstance(per_class, bool) or per_class < 2:
                raise ValueError(f"per_class must be an int >= 2, got {per_class!r}")
            p = dataclasses.replace(
                p,
                name=f"{p.name}-c{per_class}",
                intra_fid_samples_per_class=per_class,
                description=f"{p.description} [intra-FID on {per_class} generated samples per class]".strip(),
            )
        return p

    def to_dict(self) -> Dict[str, Any]:
        """The protocol as a JSON-serialisable dict.

        Returns:
            ``dataclasses.asdict(self)``.

        Example:
            >>> PAPER.to_dict()["name"]
            'paper'
        """
        return dataclasses.asdict(self)


PAPER = Protocol(
    name="paper",
    is_samples=50_000,
    is_splits=10,
    fid_samples=5_000,
    fid_reference_samples=10_000,
    intra_fid_samples_per_class=5_000,
    description=(
        "SNGAN / projection-discriminator papers (Miyato et al. 2018; Miyato & Koyama 2018): IS = mean ± std over "
        "10 splits x 5K generated; FID = 5K generated vs 10K reference images; intra-FID = 5K generated per class "
        "vs all reference images of the class"
    ),
)
"""The papers' protocol (IS 10 x 5K; FID 10K real vs 5K generated; intra-FID 5K per class)."""

FIFTY_K = Protocol(
    name="50k",
    is_samples=50_000,
    is_splits=10,
    fid_samples=50_000,
    fid_reference_samples=None,
    intra_fid_samples_per_class=5_000,
    description=(
        "now-common protocol (torch-mimicry, StudioGAN, MMGeneration): IS = mean ± std over 10 splits x 5K of "
        "50K generated; FID and KID = 50K generated vs the full reference (training) set; intra-FID = 5K "
        "generated per class vs all reference images of the class"
    ),
)
"""The now-common protocol (50K generated vs the full training set)."""

PROTOCOLS: Dict[str, Protocol] = {"paper": PAPER, "50k": FIFTY_K}
"""The named protocols: ``"paper"`` and ``"50k"``."""


def get_protocol(protocol: Union[str, Protocol]) -> Protocol:
    """Look up a protocol by name (``"paper"``, ``"50k"``) or pass a :class:`Protocol` through.

    Args:
        protocol: A name from :data:`PROTOCOLS` or a :class:`Protocol`.

    Returns:
        The :class:`Protocol`.

    Example:
        >>> get_protocol("50k").fid_reference_samples is None
        True
    """
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, str):
        key = protocol.lower()
        if key in ("50000", "50K".lower()):
            key = "50k"
        if key in PROTOCOLS:
            return PROTOCOLS[key]
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {sorted(PROTOCOLS)} or a Protocol")
    raise TypeError(f"protocol must be a str or a Protocol, got {type(protocol).__name__}")


def _normalize_metrics(metrics: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    out: List[str] = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metric names must be strings, got {m!r}")
        key = _METRIC_ALIASES.get(m.lower())
        if key is None:
            raise ValueError(f"unknown metric {m!r}; expected some of {list(METRIC_NAMES)}")
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError(f"no metric requested; expected some of {list(METRIC_NAMES)}")
    return tuple(out)


# --------------------------------------------------------------------------------------------------------------
# image conversion


def to_uint8(images: Tensor, *, what: str = "images") -> Tensor:
    """Convert a batch of images to ``uint8`` RGB, exactly as they would be written to PNG.

    Float images must lie in ``[-1, 1]`` (the generator's ``tanh`` range); they are mapped with the same
    operations as ``torchvision.utils.save_image(x, normalize=True, value_range=(-1, 1))``, i.e.
    ``floor((x + 1) / 2 * 255 + 0.5)``, so evaluating in memory gives the same numbers as evaluating PNG files.
    ``uint8`` images pass through. One-channel images are repeated to three channels (as ``PIL.convert("RGB")``).

    Args:
        images: ``(N, C, H, W)`` with ``C`` in ``{1, 3}``: float in ``[-1, 1]`` or ``uint8`` in ``[0, 255]``.
        what: How to call the images in error messages.

    Returns:
        ``(N, 3, H, W)`` ``uint8`` tensor on the same device.

    Raises:
        ValueError: wrong shape, non-finite values, or float values outside ``[-1, 1]``.
        TypeError: an integer dtype other than ``uint8``.

    Shape:
        - images: :math:`(N, C, H, W)`, :math:`C \\in \\{1, 3\\}`
        - output: :math:`(N, 3, H, W)`

    Example:
        >>> to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3))[0, :, 0]
        tensor([[  0, 128, 255],
                [  0, 128, 255],
                [  0, 128, 255]], dtype=torch.uint8)
    """
    if not isinstance(images, Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{what} must have shape (N, C, H, W) with C in {{1, 3}}, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        out = images
    elif images.is_floating_point():
        if not bool(torch.isfinite(images).all()):
            raise ValueError(f"{what} contain NaN or inf values")
        lo, hi = float(images.min()), float(images.max())
        if lo < -1.0 - _RANGE_TOL or hi > 1.0 + _RANGE_TOL:
            raise ValueError(
                f"{what} have values in [{lo:.4g}, {hi:.4g}]; expected float images in [-1, 1] (tanh output) "
                "or uint8 images in [0, 255]. Rescale [0, 1] images with x * 2 - 1."
            )
        # same op sequence as torchvision.utils.make_grid(normalize=True, value_range=(-1, 1)) + save_image
        x = images.float().clamp(-1.0, 1.0)
        x = (x + 1.0) / 2.0
        out = x.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    else:
        raise TypeError(f"{what} must be float in [-1, 1] or uint8 in [0, 255], got dtype {images.dtype}")
    if out.shape[1] == 1:
        out = out.expand(-1, 3, -1, -1)
    return out.contiguous()


def _check_not_unit_range(images: Tensor, what: str, *, error: bool) -> None:
    """Float images that are all >= 0 are almost surely [0, 1] images mistaken for [-1, 1] ones."""
    if images.is_floating_point() and images.numel() > 0 and float(images.min()) >= 0.0:
        msg = (
            f"{what} are float with every value in [0, {float(images.max()):.4g}]: this looks like [0, 1] images, "
            "but float images are read as [-1, 1] (tanh range). Rescale with x * 2 - 1, or pass uint8 images."
        )
        if error:
            raise ValueError(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)


def _array_to_nchw(x: Union[Tensor, np.ndarray], what: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} must be a Tensor or numpy array, got {type(x).__name__}")
    if x.dim() == 3:  # (N, H, W) grayscale
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"{what} must have shape (N, C, H, W) or (N, H, W, C), got {tuple(x.shape)}")
    if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{what} must have 1 or 3 channels (NCHW or NHWC), got shape {tuple(x.shape)}")
    return x


def _item_to_chw(img: Any, what: str) -> Tensor:
    """One dataset image (tensor CHW, ndarray HWC, or PIL image) as a CHW tensor."""
    if isinstance(img, Tensor):
        t = img
        if t.dim() == 2:
            t = t.unsqueeze(0)
        if t.dim() == 3 and t.shape[0] not in (1, 3) and t.shape[-1] in (1, 3):
            t = t.permute(2, 0, 1)
        return t
    if isinstance(img, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(img))
        if t.dim() == 2:
            return t.unsqueeze(0)
        return t.permute(2, 0, 1) if t.shape[-1] in (1, 3) else t
    if hasattr(img, "convert") and hasattr(img, "size"):  # PIL image
        arr = np.asarray(img.convert("RGB"))
        return torch.from_numpy(arr.copy()).permute(2, 0, 1)
    raise TypeError(
        f"{what}: dataset items must be images (Tensor CHW, ndarray HWC, PIL) or (image, label) tuples, "
        f"got {type(img).__name__}"
    )


def _collate_images(items: List[Any]) -> Tuple[Tensor, Optional[Tensor]]:
    imgs, labels = [], []
    for it in items:
        if isinstance(it, (tuple, list)):
            imgs.append(_item_to_chw(it[0], "reference dataset"))
            labels.append(int(it[1]) if len(it) > 1 else -1)
        else:
            imgs.append(_item_to_chw(it, "reference dataset"))
            labels.append(-1)
    y = torch.tensor(labels, dtype=torch.long)
    return torch.stack(imgs), (None if bool((y < 0).any()) else y)


# --------------------------------------------------------------------------------------------------------------
# the math, through torch-fidelity's own functions


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


# --------------------------------------------------------------------------------------------------------------
# reference data


def _hash_tensor(x: Tensor, labels: Optional[Tensor]) -> str:
    h = hashlib.sha1()
    h.update(str((tuple(x.shape), str(x.dtype))).encode())
    h.update(x.contiguous().cpu().numpy().tobytes())
    if labels is not None:
        h.update(labels.contiguous().cpu().numpy().astype(np.int64).tobytes())
    return h.hexdigest()[:16]


def _labels_of_dataset(ds: Any) -> Optional[Tensor]:
    for attr in ("targets", "labels"):
        v = getattr(ds, attr, None)
        if v is not None:
            t = _as_labels(v)
            if len(t) == len(ds):
                return t
    return None


class ReferenceData:
    """The real images the generated ones are compared with, plus the name their cached statistics go under.

    Args:
        source: One of

            * the name of a torch-fidelity registered input (``"cifar10-train"``, ``"cifar100-train"``,
              ``"stl10-train"``, ``"stl10-unlabeled"``, ... or one you registered with
              ``torch_fidelity.register_dataset``); its class labels are read from the dataset's ``targets`` /
              ``labels`` attribute (for intra-FID);
            * a path to an ``.npz`` file with images ``x`` (``(N, H, W, C)`` or ``(N, C, H, W)``, ``uint8``) and
              optional labels ``y`` (the format of the project's offline data copies), or with precomputed FID
              statistics ``mu``, ``sigma`` (FID only; e.g. a TTUR / pytorch-fid / torch-fidelity statistics file);
            * a ``uint8`` or ``[-1, 1]`` float tensor / array of images, NCHW or NHWC, or a
              :class:`specnorm_gan.data.ImageDataset` (images and labels);
            * a ``torch.utils.data.Dataset`` whose items are images or ``(image, label)`` tuples (image: CHW tensor,
              HWC array or PIL image; ``uint8`` or ``[-1, 1]`` float).
        name: Cache key of the reference statistics. Defaults: the registered name; ``"<file stem>-<sha1>"`` for
            ``.npz`` files and ``"array-<sha1 of the pixels and labels>"`` for tensors. A ``Dataset`` without a name
            is not cached. The name must identify the data (and labels): statistics are looked up by name only.
        labels: ``(N,)`` integer class labels (for intra-FID), if not part of ``source``.
        datasets_root: Where torch-fidelity's registered datasets live (default ``$TORCH_HOME/fidelity_datasets``).
        download: Let torch-fidelity download a registered dataset that is not in ``datasets_root``.
        num_workers: ``DataLoader`` workers when reading a ``Dataset``.

    Example:
        >>> ref = ReferenceData("/work/shared/data/cifar10_train.npz")  # doctest: +SKIP
        >>> ref = ReferenceData(torch.randint(0, 256, (100, 3, 32, 32), dtype=torch.uint8), name="toy")
        >>> len(ref), ref.name
        (100, 'toy')
    """

    def __init__(
        self,
        source: Union[str, "os.PathLike[str]", Tensor, np.ndarray, torch.utils.data.Dataset, "ImageDataset"],
        *,
        name: Optional[str] = None,
        labels: Optional[Union[Tensor, np.ndarray, Sequence[int]]] = None,
        datasets_root: Optional[str] = None,
        download: bool = True,
        num_workers: int = 0,
    ) -> None:
        self.kind: str
        self.description: str
        self._dataset: Optional[Any] = None
        self._images: Optional[Tensor] = None
        self._labels: Optional[Tensor] = None
        self._stats: Optional[Dict[str, np.ndarray]] = None
        self._registered: Optional[str] = None
        self.datasets_root = datasets_root
        self.download = download
        self.num_workers = num_workers
        if labels is not None:
            self._labels = _as_labels(labels)

        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        if isinstance(source, str):
            _require_fidelity()
            from torch_fidelity.registry import DATASETS_REGISTRY

            if source in DATASETS_REGISTRY:
                self.kind = "registered"
                self._registered = source
                self.name = name or source
                self.description = f"torch-fidelity registered input {source!r}"
            elif source.endswith(".npz") and os.path.isfile(source):
                self._load_npz(source, name)
            elif source.endswith(".npz"):
                raise FileNotFoundError(f"reference file {source!r} does not exist")
            else:
                raise ValueError(
                    f"reference {source!r} is neither a torch-fidelity registered input "
                    f"({', '.join(sorted(DATASETS_REGISTRY))}) nor an .npz file; pass an image tensor/array, a "
                    "Dataset, or register it with torch_fidelity.register_dataset"
                )
        elif isinstance(getattr(source, "images", None), Tensor) and not isinstance(
            source, torch.utils.data.Dataset
        ):
            # specnorm_gan.data.ImageDataset (uint8 NCHW images, optional int64 labels)
            image_dataset: Any = source
            if self._labels is None and image_dataset.labels is not None:
                self._labels = _as_labels(image_dataset.labels)
            self.kind = "array"
            self._images = _array_to_nchw(image_dataset.images.cpu(), "reference images")
            self._check_array_range()
            label = str(getattr(source, "name", "images")).replace(os.sep, "_").replace(" ", "_")
            self.name = name or f"{label}-{_hash_tensor(self._images, self._labels)}"
            self.description = f"ImageDataset {getattr(source, 'name', '')!r} {tuple(self._images.shape)}"
        elif isinstance(source, (Tensor, np.ndarray)):
            self.kind = "array"
            self._images = _array_to_nchw(source, "reference images")
            self._check_array_range()
            self.name = name or f"array-{_hash_tensor(self._images, self._labels)}"
            self.description = f"in-memory images {tuple(self._images.shape)}"
        elif isinstance(source, torch.utils.data.Dataset):
            self.kind = "dataset"
            self._dataset = source
            self.name = name  # type: ignore[assignment]
            self.description = f"Dataset {type(source).__name__} ({len(source)} items)"  # type: ignore[arg-type]
            if self._labels is None:
                self._labels = _labels_of_dataset(source)
        else:
            raise TypeError(
                "reference must be a registered torch-fidelity input name, an .npz path, an image tensor/array or a "
                f"Dataset, got {type(source).__name__}"
            )
        if self._labels is not None and self.kind != "statistics" and len(self._labels) != len(self):
            raise ValueError(f"reference labels have {len(self._labels)} entries for {len(self)} images")

    def _load_npz(self, path: str, name: Optional[str]) -> None:
        with np.load(path, allow_pickle=False) as d:
            files = set(d.files)
            if {"mu", "sigma"} <= files:
                self.kind = "statistics"
                self._stats = {"mu": np.asarray(d["mu"], np.float64), "sigma": np.asarray(d["sigma"], np.float64)}
                stem = os.path.splitext(os.path.basename(path))[0]
                self.name = name or stem
                self.description = f"precomputed FID statistics {path!r} (mu, sigma)"
                return
            if "x" not in files:
                raise ValueError(
                    f"{path!r} has arrays {sorted(files)}; expected images 'x' (and labels 'y') or statistics "
                    "'mu' and 'sigma'"
                )
            x = d["x"]
            y = d["y"] if "y" in files else None
        self.kind = "array"
        self._images = _array_to_nchw(x, f"reference images in {path!r}")
        if y is not None and self._labels is None:
            self._labels = _as_labels(y)
        self._check_array_range()
        if name is None:
            h = hashlib.sha1()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    h.update(chunk)
            name = f"{os.path.splitext(os.path.basename(path))[0]}-{h.hexdigest()[:12]}"
        self.name = name
        self.description = f"images from {path!r} {tuple(self._images.shape)}"

    def _check_array_range(self) -> None:
        assert self._images is not None
        if self._images.is_floating_point():
            to_uint8(self._images[:1024], what="reference images")
            _check_not_unit_range(self._images, "reference images", error=True)
        elif self._images.dtype != torch.uint8:
            raise TypeError(
                f"reference images must be uint8 in [0, 255] or float in [-1, 1], got dtype {self._images.dtype}"
            )

    # -- access ---------------------------------------------------------------------------------------------------

    def _get_dataset(self) -> Any:
        if self._dataset is None and self._registered is not None:
            from torch_fidelity.registry import DATASETS_REGISTRY

            root = self.datasets_root or os.path.join(_torch_home(), "fidelity_datasets")
            os.makedirs(root, exist_ok=True)
            try:
                self._dataset = DATASETS_REGISTRY[self._registered](root, self.download)
            except Exception as e:
                raise ReferenceUnavailableError(
                    f"could not load the registered reference {self._registered!r} from {root!r} "
                    f"(download={self.download}): {type(e).__name__}: {e}. Without internet access, put the "
                    "dataset there (datasets_root=... / --datasets-root), pass its cached statistics, or pass "
                    "the images as an .npz file / array instead."
                ) from e
            if self._labels is None:
                self._labels = _labels_of_dataset(self._dataset)
        return self._dataset

    def __len__(self) -> int:
        if self.kind == "statistics":
            raise TypeError("a statistics-only reference has no images")
        if self._images is not None:
            return int(self._images.shape[0])
        return len(self._get_dataset())

    @property
    def has_images(self) -> bool:
        """Whether images are available (False for a statistics-only reference)."""
        return self.kind != "statistics"

    def labels(self) -> Optional[Tensor]:
        """The ``(N,)`` class labels, or ``None`` if unknown.

        Returns:
            A ``long`` tensor or ``None``.
        """
        if self._labels is None and self._registered is not None:
            self._get_dataset()
        return self._labels

    def statistics(self) -> Optional[Dict[str, np.ndarray]]:
        """Precomputed ``{"mu", "sigma"}`` of a statistics-only reference, else ``None``."""
        return self._stats

    def iter_batches(
        self, indices: Optional[Tensor], batch_size: int
    ) -> Iterator[Tuple[Tensor, Optional[Tensor]]]:
        """Yield ``(uint8 images (B, 3, H, W), labels (B,) or None)`` over ``indices`` (all if ``None``).

        Args:
            indices: Indices into the reference, or ``None``.
            batch_size: Images per batch.

        Yields:
            Batches of ``uint8`` images and their labels.
        """
        if self.kind == "statistics":
            raise TypeError("a statistics-only reference has no images")
        labels = self.labels()
        if self._images is not None:
            n = len(self) if indices is None else len(indices)
            for i in range(0, n, batch_size):
                idx = torch.arange(i, min(i + batch_size, n)) if indices is None else indices[i : i + batch_size]
                x = self._images[idx]
                y = labels[idx] if labels is not None else None
                yield to_uint8(x, what="reference images"), y
            return
        ds = self._get_dataset()
        if indices is not None:
            ds = torch.utils.data.Subset(ds, indices.tolist())
            sub_labels = labels[indices] if labels is not None else None
        else:
            sub_labels = labels
        loader = torch.utils.data.DataLoader(
            ds, batch_size=batch_size, shuffle=False, num_workers=self.num_workers, collate_fn=_collate_images
        )
        start = 0
        first = True
        for x, y in loader:
            if first and x.is_floating_point():
                _check_not_unit_range(x, "reference images", error=True)
            first = False
            if sub_labels is not None:
                y = sub_labels[start : start + x.shape[0]]
            start += x.shape[0]
            yield to_uint8(x, what="reference images"), y


ReferenceLike = Union[
    ReferenceData, str, "os.PathLike[str]", Tensor, np.ndarray, torch.utils.data.Dataset, "ImageDataset"
]
"""Anything accepted as a reference: a :class:`ReferenceData` or a ``source`` of :class:`ReferenceData`."""


# --------------------------------------------------------------------------------------------------------------
# the evaluator


def _short(err: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut to ``limit`` characters (state-dict errors list every key)."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _torch_home() -> str:
    """torch's home directory, where torch-fidelity keeps ``fidelity_cache`` and ``fidelity_datasets``."""
    get_home = getattr(torch.hub, "_get_torch_home", None)
    return get_home() if get_home is not None else os.path.dirname(torch.hub.get_dir())


def _resolve_device(device: Optional[Union[str, torch.device]]) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _module_float_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _draw_latents(G: nn.Module, n: int, z_dim: int, seed: int) -> Tensor:
    """``n`` latent vectors on the CPU from ``seed``, from G's latent distribution (``G.z_dist``: ``"normal"``
    (default) or ``"uniform"`` on ``[-1, 1]``), all at once so the result does not depend on the batch size."""
    dist = getattr(G, "z_dist", "normal")
    g = torch.Generator().manual_seed(seed)
    if dist == "normal":
        return torch.randn(n, z_dim, generator=g)
    if dist == "uniform":
        return torch.rand(n, z_dim, generator=g).mul_(2).sub_(1)
    raise ValueError(f"G.z_dist must be 'normal' or 'uniform', got {dist!r}")


def _module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


class Evaluator:
    """Computes IS / FID / KID / intra-FID of generators or image sets under one protocol and reference.

    Create it once (e.g. at the start of training) and call :meth:`evaluate_generator` as often as needed: the
    feature extractor and the reference statistics are built on first use and kept (the reference statistics
    also on disk, in torch-fidelity's cache, so the next run starts from them).

    Args:
        reference: Real images (anything :class:`ReferenceData` accepts, or a :class:`ReferenceData`). Required
            for FID, KID and intra-FID; not for IS alone.
        metrics: Some of ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"``.
        protocol: ``"paper"``, ``"50k"`` or a :class:`Protocol`.
        feature_extractor: A torch-fidelity feature extractor name (default ``"inception-v3-compat"``; tests
            register a small stand-in with ``torch_fidelity.register_feature_extractor``).
        inception_weights: Path of the feature extractor's weights file (torch-fidelity's
            ``feature_extractor_weights_path``). ``None``: torch-fidelity's default file, taken from the torch hub
            cache (``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``) or downloaded.
        device: Where the feature extractor runs (default: CUDA if available, else CPU). Generators run where
            their parameters are.
        batch_size: Images per generator / feature-extractor batch.
        seed: Seed of the latent vectors (and of KID's subset selection).
        cache_dir: Directory of the reference statistics cache (default: torch-fidelity's
            ``$TORCH_HOME/fidelity_cache``; file names follow torch-fidelity's, so its cached ``cifar10-train``
            statistics are shared).
        cache: Read and write the on-disk cache.
        verbose: Print progress (torch-fidelity's messages).

    Example:
        >>> ev = Evaluator("cifar10-train", metrics=("is", "fid"), protocol="paper")  # doctest: +SKIP
        >>> result = ev.evaluate_generator(G_ema, step=50_000)  # doctest: +SKIP
        >>> result["protocol"], result["is_mean"], result["fid"]  # doctest: +SKIP
    """

    def __init__(
        self,
        reference: Optional[ReferenceLike] = None,
        *,
        metrics: Union[str, Sequence[str]] = ("is", "fid"),
        protocol: Union[str, Protocol] = "paper",
        feature_extractor: str = DEFAULT_FEATURE_EXTRACTOR,
        inception_weights: Optional[Union[str, "os.PathLike[str]"]] = None,
        device: Optional[Union[str, torch.device]] = None,
        batch_size: int = 64,
        seed: int = 0,
        cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
        cache: bool = True,
        verbose: bool = False,
    ) -> None:
        _require_fidelity()
        from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

        self.metrics = _normalize_metrics(metrics)
        self.protocol = get_protocol(protocol)
        if feature_extractor not in FEATURE_EXTRACTORS_REGISTRY:
            raise ValueError(
                f"feature extractor {feature_extractor!r} is not registered with torch-fidelity; registered: "
                f"{sorted(FEATURE_EXTRACTORS_REGISTRY)}"
            )
        self.feature_extractor_name = feature_extractor
        if inception_weights is not None:
            inception_weights = os.fspath(inception_weights)
            if not os.path.isfile(inception_weights):
                raise FileNotFoundError(
                    f"feature extractor weights file {inception_weights!r} does not exist (for the Inception-v3 "
                    f"feature extractor: torch-fidelity's {_INCEPTION_WEIGHTS_FILE})"
                )
        self.inception_weights: Optional[str] = inception_weights
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.batch_size = batch_size
        self.seed = int(seed)
        self.device = _resolve_device(device)
        self.cache = bool(cache)
        self.cache_dir = (
            os.fspath(cache_dir)
            if cache_dir is not None
            else os.path.join(_torch_home(), "fidelity_cache")
        )
        self.verbose = bool(verbose)

        needs_reference = any(m in self.metrics for m in ("fid", "kid", "intra_fid"))
        if reference is None:
            if needs_reference:
                raise ValueError(
                    f"metrics {[m for m in self.metrics if m != 'is']} need a reference (real images): pass "
                    "reference='cifar10-train', an .npz file, an image tensor or a Dataset (examples/evaluate.py: "
                    "--reference)"
                )
            self.reference: Optional[ReferenceData] = None
        else:
            self.reference = reference if isinstance(reference, ReferenceData) else ReferenceData(reference)
            if self.reference.kind == "statistics" and any(m in self.metrics for m in ("kid", "intra_fid")):
                raise ValueError(
                    f"reference {self.reference.name!r} holds only FID statistics (mu, sigma); KID and intra-FID "
                    "need reference images (and labels for intra-FID)"
                )
            if self.reference.kind == "dataset" and self.reference.name is None and self.cache:
                warnings.warn(
                    "the reference Dataset has no name, so its statistics are not cached on disk; pass "
                    "ReferenceData(dataset, name=...) to cache them",
                    UserWarning,
                    stacklevel=2,
                )

        self._extractor: Optional[nn.Module] = None
        self._layers: Dict[str, str] = {}
        self._ref_memo: Dict[str, Any] = {}
        self._ref_resolution: Optional[Tuple[int, int]] = None
        self.history: List[Dict[str, Any]] = []

    # -- feature extractor -----------------------------------------------------------------------------------------

    def _layer(self, metric: str) -> str:
        from torch_fidelity.utils import resolve_feature_layer_for_metric

        return resolve_feature_layer_for_metric(metric, feature_extractor=self.feature_extractor_name)

    def _requested_layers(self) -> Dict[str, str]:
        layers = {}
        if "is" in self.metrics:
            layers["is"] = self._layer("isc")
        if any(m in self.metrics for m in ("fid", "intra_fid")):
            layers["fid"] = self._layer("fid")
        if "kid" in self.metrics:
            layers["kid"] = self._layer("kid")
        return layers

    def _get_extractor(self) -> nn.Module:
        if self._extractor is not None:
            return self._extractor
        from torch_fidelity.utils import create_feature_extractor

        self._layers = self._requested_layers()
        wanted = sorted(set(self._layers.values()))
        kwargs: Dict[str, Any] = {"verbose": self.verbose}
        if self.inception_weights is not None:
            kwargs["feature_extractor_weights_path"] = self.inception_weights
        try:
            fe = create_feature_extractor(self.feature_extractor_name, wanted, cuda=False, **kwargs)
        except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as e:
            if self.inception_weights is None and self.feature_extractor_name == DEFAULT_FEATURE_EXTRACTOR:
                raise InceptionWeightsUnavailableError(self._weights_help(e)) from e
            if self.inception_weights is not None:
                raise ValueError(
                    f"could not load the weights file {self.inception_weights!r} into torch-fidelity's "
                    f"{self.feature_extractor_name!r} feature extractor ({type(e).__name__}: {_short(e)}); for the "
                    f"Inception-v3 extractor it must be torch-fidelity's {_INCEPTION_WEIGHTS_FILE}"
                ) from e
            raise
        self._extractor = fe.to(self.device)
        return self._extractor

    def _weights_help(self, err: BaseException) -> str:
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3 as url
        except Exception:  # pragma: no cover
            url = f"(torch-fidelity's release asset {_INCEPTION_WEIGHTS_FILE})"
        hub = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(str(url)))
        return (
            f"the Inception-v3 weights of torch-fidelity's {DEFAULT_FEATURE_EXTRACTOR!r} feature extractor are not "
            f"available ({type(err).__name__}: {_short(err)}). Without internet access, download {url} elsewhere "
            "and either "
            f"pass inception_weights=PATH (examples/evaluate.py --inception-weights PATH) or copy it to {hub}, "
            "where torch-fidelity looks before downloading."
        )

    def _features(self, images_uint8: Tensor) -> Dict[str, Tensor]:
        fe: Any = self._get_extractor()
        out = fe(images_uint8.to(self.device))
        d = fe.convert_features_tuple_to_dict(out)
        return {k: v.detach().float().cpu() for k, v in d.items()}

    # -- reference side --------------------------------------------------------------------------------------------

    def _cache_lookup(self, filename: str, fn: Callable[[], Any]) -> Any:
        from torch_fidelity.utils import cache_lookup_one_recompute_on_miss

        if not self.cache or self.reference is None or self.reference.name is None:
            return fn()
        return cache_lookup_one_recompute_on_miss(
            filename, fn, cache=True, cache_root=self.cache_dir, verbose=self.verbose
        )

    def _reference_subset(self) -> Tuple[Optional[Tensor], str, int]:
        """Indices of the FID/KID reference subset, its cache key and size."""
        assert self.reference is not None
        ref = self.reference
        n_ref = self.protocol.fid_reference_samples
        total = len(ref)
        if n_ref is None or n_ref == total:
            return None, str(ref.name), total
        if n_ref > total:
            raise ValueError(
                f"protocol {self.protocol.name!r} uses {n_ref} reference images but reference {ref.name!r} has "
                f"only {total}; use a larger reference or a Protocol with fid_reference_samples=None"
            )
        g = torch.Generator().manual_seed(self.protocol.reference_seed)
        idx = torch.randperm(total, generator=g)[:n_ref].sort().values
        return idx, f"{ref.name}-n{n_ref}-seed{self.protocol.reference_seed}", n_ref

    def _extract_reference(
        self, indices: Optional[Tensor], layers: Sequence[str]
    ) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
        assert self.reference is not None
        feats: Dict[str, List[Tensor]] = {k: [] for k in layers}
        labels: List[Tensor] = []
        have_labels = True
        with torch.no_grad():
            for x, y in self.reference.iter_batches(indices, self.batch_size):
                self._ref_resolution = (int(x.shape[-2]), int(x.shape[-1]))
                f = self._features(x)
                for k in layers:
                    feats[k].append(f[k])
                if y is None:
                    have_labels = False
                else:
                    labels.append(y)
        out = {k: torch.cat(v) for k, v in feats.items()}
        return out, (torch.cat(labels) if have_labels and labels else None)

    def _reference_features(self, key: str, indices: Optional[Tensor], layer: str) -> Tensor:
        memo_key = f"features:{key}:{layer}"
        if memo_key not in self._ref_memo:

            def compute() -> Tensor:
                return self._extract_reference(indices, [layer])[0][layer]

            fname = f"{key}-{self.feature_extractor_name}-features-{layer}"
            self._ref_memo[memo_key] = self._cache_lookup(fname, compute)
        return self._ref_memo[memo_key]

    def _reference_fid_stats(self, key: str, indices: Optional[Tensor], layer: str) -> Dict[str, np.ndarray]:
        assert self.reference is not None
        if self.reference.kind == "statistics":
            return self.reference.statistics()  # type: ignore[return-value]
        memo_key = f"stats:{key}:{layer}"
        if memo_key not in self._ref_memo:

            def compute() -> Dict[str, np.ndarray]:
                kid_key = f"features:{key}:{layer}"
                if kid_key in self._ref_memo:
                    f = self._ref_memo[kid_key]
                else:
                    f = self._extract_reference(indices, [layer])[0][layer]
                return feature_statistics(f, what=f"reference {key!r}")

            fname = f"{key}-{self.feature_extractor_name}-stat-fid-{layer}"
            stats = self._cache_lookup(fname, compute)
            self._ref_memo[memo_key] = {k: np.asarray(v, dtype=np.float64) for k, v in stats.items()}
        return self._ref_memo[memo_key]

    def _reference_class_stats(self, num_classes: int, layer: str) -> Tuple[List[Dict[str, np.ndarray]], List[int]]:
        """Per-class FID statistics over the whole reference (cached per class)."""
        assert self.reference is not None
        ref = self.reference
        memo_key = f"class-stats:{num_classes}:{layer}"
        if memo_key in self._ref_memo:
            return self._ref_memo[memo_key]
        full: Dict[str, Any] = {}

        def full_features() -> Tuple[Tensor, Tensor]:
            if "f" not in full:
                labels = ref.labels()
                if labels is None and ref.kind != "dataset":
                    raise ValueError(
                        f"intra-FID needs class labels for the reference {ref.name!r}: pass "
                        "ReferenceData(..., labels=...), an .npz file with 'y', or a dataset with targets/labels"
                    )
                f, y_items = self._extract_reference(None, [layer])
                labels = labels if labels is not None else y_items
                if labels is None:
                    raise ValueError(
                        f"intra-FID needs class labels for the reference {ref.name!r}: its items have none; pass "
                        "ReferenceData(..., labels=...) or a dataset of (image, label) items"
                    )
                if int(labels.max()) >= num_classes or int(labels.min()) < 0:
                    raise ValueError(
                        f"reference labels span [{int(labels.min())}, {int(labels.max())}] but the generator has "
                        f"{num_classes} classes"
                    )
                full["f"], full["y"] = f[layer], labels
            return full["f"], full["y"]

        stats, counts = [], []
        for c in range(num_classes):

            def compute(c: int = c) -> Dict[str, Any]:
                f, y = full_features()
                fc = f[y == c]
                if fc.shape[0] < 2:
                    raise ValueError(f"reference {ref.name!r} has {fc.shape[0]} images of class {c}; need >= 2")
                s = feature_statistics(fc, what=f"reference {ref.name!r} class {c}")
                s["num_samples"] = np.asarray(fc.shape[0])
                return s

            s = self._cache_lookup(f"{ref.name}-class{c}-{self.feature_extractor_name}-stat-fid-{layer}", compute)
            counts.append(int(np.asarray(s.get("num_samples", -1))))
            stats.append({"mu": np.asarray(s["mu"], np.float64), "sigma": np.asarray(s["sigma"], np.float64)})
        self._ref_memo[memo_key] = (stats, counts)
        return stats, counts

    # -- generator side --------------------------------------------------------------------------------------------

    @staticmethod
    def _check_generator(G: nn.Module) -> Tuple[int, int]:
        if not isinstance(G, nn.Module):
            raise TypeError(f"G must be an nn.Module, got {type(G).__name__}")
        z_dim = getattr(G, "z_dim", None)
        num_classes = getattr(G, "num_classes", 0)
        if not isinstance(z_dim, int) or z_dim < 1:
            raise TypeError(
                f"G must have an int attribute z_dim (the specnorm_gan generator interface G(z, y=None)), got "
                f"{z_dim!r}"
            )
        if not isinstance(num_classes, int) or num_classes < 0:
            raise TypeError(f"G.num_classes must be an int >= 0 (0 = unconditional), got {num_classes!r}")
        return z_dim, num_classes

    def _generate_features(
        self,
        G: nn.Module,
        n: int,
        labels: Optional[Tensor],
        seed: int,
        layers: Sequence[str],
        batch_size: int,
    ) -> Dict[str, Tensor]:
        z_dim, _ = self._check_generator(G)
        g_device, g_dtype = _module_device(G), _module_float_dtype(G)
        z_all = _draw_latents(G, n, z_dim, seed).to(g_dtype)
        feats: Dict[str, List[Tensor]] = {k: [] for k in layers}
        first = True
        for start in range(0, n, batch_size):
            z = z_all[start : start + batch_size].to(g_device)
            if labels is None:
                x = G(z)
            else:
                x = G(z, labels[start : start + batch_size].to(g_device))
            if not isinstance(x, Tensor) or x.dim() != 4:
                raise ValueError(f"G must return (N, C, H, W) images, got {getattr(x, 'shape', type(x))}")
            if first:
                first = False
                _check_not_unit_range(x, "generated images", error=False)
                res = (int(x.shape[-2]), int(x.shape[-1]))
                if self._ref_resolution is not None and res != self._ref_resolution:
                    warnings.warn(
                        f"generated images are {res[0]}x{res[1]} but the reference images are "
                        f"{self._ref_resolution[0]}x{self._ref_resolution[1]}; resize the reference to the "
                        "generator's resolution first (as the papers did for STL-10 at 48 px)",
                        UserWarning,
                        stacklevel=3,
                    )
            f = self._features(to_uint8(x, what="generated images"))
            for k in layers:
                feats[k].append(f[k])
        return {k: torch.cat(v) for k, v in feats.items()}

    # -- public API ------------------------------------------------------------------------------------------------

    def evaluate_generator(
        self,
        G: nn.Module,
        *,
        num_samples: Optional[int] = None,
        intra_fid_samples_per_class: Optional[int] = None,
        seed: Optional[int] = None,
        batch_size: Optional[int] = None,
        step: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Sample from ``G`` and compute the metrics.

        ``G`` is sampled in eval mode (its mode is restored afterwards) under ``torch.no_grad()``, with
        latents drawn on the CPU from ``seed``, all at once, from ``G.z_dist`` (``N(0, I)`` by default, ``U(-1, 1)``
        for ``"uniform"``), so results do not depend on the device or batch size; and,
        for conditional models, class-balanced labels ``arange(N) % num_classes``. Intra-FID reuses these samples
        when they hold ``intra_fid_samples_per_class`` of every class, and otherwise samples each class on its own.

        Args:
            G: Generator with the specnorm_gan interface: ``G(z, y=None)``, ``G.z_dim``, ``G.num_classes``.
            num_samples: Override the protocol's IS and FID sample counts (the protocol is renamed
                ``"<name>-n<N>"``, see :meth:`Protocol.with_num_samples`).
            intra_fid_samples_per_class: Override the intra-FID samples per class (renamed ``"...-c<N>"``).
            seed: Seed of the latent vectors (default: the evaluator's).
            batch_size: Generator batch size (default: the evaluator's).
            step: Training step stored in the result and in :attr:`history`.

        Returns:
            A JSON-serialisable dict: ``protocol`` (name), ``protocol_spec``, ``pipeline`` (feature extractor,
            layers, resize, image conversion, reference and sample counts, seed, versions), and the metrics present:
            ``is_mean``, ``is_std``, ``fid``, ``kid_mean``, ``kid_std``, ``intra_fid``, ``intra_fid_per_class``
            (``{"0": ..., ...}``), plus ``step`` if given.

        Example:
            >>> result = evaluator.evaluate_generator(G, num_samples=5000, step=10_000)  # doctest: +SKIP
        """
        z_dim, num_classes = self._check_generator(G)
        protocol = self.protocol.with_num_samples(
            None if num_samples is None else int(num_samples),
            per_class=None if intra_fid_samples_per_class is None else int(intra_fid_samples_per_class),
        )
        seed = self.seed if seed is None else int(seed)
        bs = self.batch_size if batch_size is None else int(batch_size)
        if "intra_fid" in self.metrics and num_classes == 0:
            raise ValueError("intra-FID needs a conditional generator (G.num_classes > 0); G is unconditional")

        was_training = G.training
        G.eval()
        try:
            with torch.no_grad():
                return self._evaluate(G, protocol, seed, bs, num_classes, step, "generator")
        finally:
            G.train(was_training)

    def evaluate_images(
        self,
        images: Union[Tensor, np.ndarray],
        labels: Optional[Union[Tensor, np.ndarray]] = None,
        *,
        step: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Compute the metrics on a fixed set of images (e.g. samples saved elsewhere).

        IS uses the first ``protocol.is_samples`` images, FID/KID the first ``protocol.fid_samples``; intra-FID
        (needs ``labels``) the first ``protocol.intra_fid_samples_per_class`` of each class.

        Args:
            images: ``(N, C, H, W)`` or ``(N, H, W, C)``; ``uint8`` or float in ``[-1, 1]``.
            labels: ``(N,)`` class labels, for intra-FID.
            step: Training step stored in the result.

        Returns:
            The same dict as :meth:`evaluate_generator`.

        Example:
            >>> result = evaluator.evaluate_images(samples_uint8)  # doctest: +SKIP
        """
        x = _array_to_nchw(images, "images")
        y = None if labels is None else _as_labels(labels)
        if y is not None and len(y) != len(x):
            raise ValueError(f"labels have {len(y)} entries for {len(x)} images")
        num_classes = 0 if y is None else int(y.max()) + 1
        if "intra_fid" in self.metrics and y is None:
            raise ValueError("intra-FID of an image set needs its class labels (labels=...)")
        if x.is_floating_point():
            _check_not_unit_range(x, "images", error=False)
        with torch.no_grad():
            return self._evaluate((x, y), self.protocol, self.seed, self.batch_size, num_classes, step, "images")

    __call__ = evaluate_generator

    # -- core ------------------------------------------------------------------------------------------------------

    def _pipeline(
        self, protocol: Protocol, seed: int, bs: int, source: str, num_classes: int, G: Optional[nn.Module]
    ) -> Dict[str, Any]:
        inception = self.feature_extractor_name == DEFAULT_FEATURE_EXTRACTOR
        ref = self.reference
        return {
            "feature_extractor": self.feature_extractor_name,
            "feature_layers": dict(self._layers),
            "feature_extractor_weights": self.inception_weights
            or (f"torch-fidelity default ({_INCEPTION_WEIGHTS_FILE})" if inception else "extractor default"),
            "resize": (
                "inside the feature extractor: uint8 -> 299x299 with torch-fidelity's TensorFlow-1.x-compatible "
                "bilinear interpolation (align_corners=False), then (x - 128) / 128"
                if inception
                else f"as defined by feature extractor {self.feature_extractor_name!r}"
            ),
            "image_conversion": (
                "float [-1, 1] -> uint8 floor((clamp(x, -1, 1) + 1) / 2 * 255 + 0.5), the values "
                "torchvision.utils.save_image writes to PNG; 1 channel repeated to RGB; no PNG round trip"
            ),
            "source": source,
            "generator_mode": "eval mode, torch.no_grad()" if source == "generator" else None,
            "labels": (
                (f"class-balanced arange(N) % {num_classes}" if num_classes else "unconditional")
                if source == "generator"
                else ("given" if num_classes else "none")
            ),
            "latent": (
                f"z ~ {'U(-1, 1)' if getattr(G, 'z_dist', 'normal') == 'uniform' else 'N(0, I)'} (G.z_dist), all N "
                "drawn at once on the CPU with torch.Generator().manual_seed(seed)"
            )
            if G is not None
            else None,
            "seed": seed,
            "batch_size": bs,
            "device": str(self.device),
            "reference": None if ref is None else ref.name,
            "reference_description": None if ref is None else ref.description,
            "reference_size": None if ref is None or not ref.has_images else len(ref),
            "torch_fidelity_version": _fidelity_version(),
            "specnorm_gan_version": _specnorm_version(),
        }

    def _image_set_features(self, x: Tensor, n: int, layers: Sequence[str], bs: int) -> Dict[str, Tensor]:
        feats: Dict[str, List[Tensor]] = {k: [] for k in layers}
        for start in range(0, n, bs):
            f = self._features(to_uint8(x[start : start + bs], what="images"))
            for k in layers:
                feats[k].append(f[k])
        return {k: torch.cat(v) for k, v in feats.items()}

    def _evaluate(
        self,
        source: Any,
        protocol: Protocol,
        seed: int,
        bs: int,
        num_classes: int,
        step: Optional[int],
        source_kind: str,
    ) -> Dict[str, Any]:
        self._get_extractor()
        layers = self._layers
        m = self.metrics
        pipeline = self._pipeline(
            protocol, seed, bs, source_kind, num_classes, source if source_kind == "generator" else None
        )
        result: Dict[str, Any] = {"protocol": protocol.name}
        if step is not None:
            result["step"] = int(step)

        # reference side first (so a resolution mismatch is known before sampling)
        ref_fid = ref_kid = None
        n_ref_used: Optional[int] = None
        if "fid" in m or "kid" in m:
            assert self.reference is not None
            if self.reference.kind == "statistics":
                n_ref_used = None
                ref_fid = self._reference_fid_stats(str(self.reference.name), None, layers["fid"])
            else:
                idx, key, n_ref_used = self._reference_subset()
                if "kid" in m:
                    ref_kid = self._reference_features(key, idx, layers["kid"])
                if "fid" in m:
                    ref_fid = self._reference_fid_stats(key, idx, layers["fid"])
        class_stats: Optional[List[Dict[str, np.ndarray]]] = None
        class_counts: List[int] = []
        if "intra_fid" in m:
            assert self.reference is not None
            class_stats, class_counts = self._reference_class_stats(num_classes, layers["fid"])

        # generated side: one pool for IS / FID / KID
        n_pool = max(
            protocol.is_samples if "is" in m else 0, protocol.fid_samples if ("fid" in m or "kid" in m) else 0
        )
        pool_layers = sorted({layers[k] for k in ("is", "fid", "kid") if k in layers and k in m})
        if "intra_fid" in m and layers["fid"] not in pool_layers and n_pool > 0:
            pool_layers.append(layers["fid"])
        pool: Dict[str, Tensor] = {}
        pool_labels: Optional[Tensor] = None
        if source_kind == "generator":
            G = source
            if num_classes > 0:
                pool_labels = torch.arange(n_pool) % num_classes
            if n_pool > 0:
                pool = self._generate_features(G, n_pool, pool_labels, seed, pool_layers, bs)
        else:
            x, y = source
            if len(x) < n_pool:
                raise ValueError(
                    f"protocol {protocol.name!r} needs {n_pool} images (IS {protocol.is_samples}, FID "
                    f"{protocol.fid_samples}), got {len(x)}; pass more images or a smaller Protocol"
                )
            if n_pool > 0:
                pool = self._image_set_features(x, n_pool, pool_layers, bs)
            pool_labels = None if y is None else y[:n_pool]

        pipeline.update(
            {
                "is_samples": protocol.is_samples if "is" in m else None,
                "is_splits": protocol.is_splits if "is" in m else None,
                "fid_samples": protocol.fid_samples if ("fid" in m or "kid" in m) else None,
                "fid_reference_samples": n_ref_used if ("fid" in m or "kid" in m) else None,
            }
        )

        if "is" in m:
            mean, std = inception_score(pool[layers["is"]][: protocol.is_samples], protocol.is_splits)
            result["is_mean"], result["is_std"] = mean, std
        if "fid" in m:
            gen_stats = feature_statistics(pool[layers["fid"]][: protocol.fid_samples], what="generated images")
            assert ref_fid is not None
            result["fid"] = frechet_distance(gen_stats["mu"], gen_stats["sigma"], ref_fid["mu"], ref_fid["sigma"])
        if "kid" in m:
            assert ref_kid is not None
            gen = pool[layers["kid"]][: protocol.fid_samples]
            size = min(protocol.kid_subset_size, gen.shape[0], ref_kid.shape[0])
            mean, std = kernel_inception_distance(
                gen, ref_kid, subsets=protocol.kid_subsets, subset_size=size, seed=seed
            )
            result["kid_mean"], result["kid_std"] = mean, std
            pipeline.update({"kid_subsets": protocol.kid_subsets, "kid_subset_size": size})
        if "intra_fid" in m:
            assert class_stats is not None
            per_class = self._intra_fid(source, source_kind, protocol, seed, bs, num_classes, pool, pool_labels,
                                        class_stats, layers["fid"])
            result["intra_fid"] = float(np.mean(list(per_class.values())))
            result["intra_fid_per_class"] = {str(c): v for c, v in per_class.items()}
            pipeline.update(
                {
                    "intra_fid_samples_per_class": protocol.intra_fid_samples_per_class,
                    "intra_fid_reference_per_class": {str(c): n for c, n in enumerate(class_counts)},
                }
            )
        result["protocol_spec"] = protocol.to_dict()
        result["pipeline"] = pipeline
        self.history.append(result)
        return result

    def _intra_fid(
        self,
        source: Any,
        source_kind: str,
        protocol: Protocol,
        seed: int,
        bs: int,
        num_classes: int,
        pool: Dict[str, Tensor],
        pool_labels: Optional[Tensor],
        class_stats: List[Dict[str, np.ndarray]],
        layer: str,
    ) -> Dict[int, float]:
        k = protocol.intra_fid_samples_per_class
        out: Dict[int, float] = {}
        reuse = (
            pool_labels is not None
            and layer in pool
            and len(pool_labels) > 0
            and int(torch.bincount(pool_labels, minlength=num_classes).min()) >= k
        )
        for c in range(num_classes):
            if reuse:
                assert pool_labels is not None
                feats = pool[layer][(pool_labels == c).nonzero().flatten()[:k]]
            elif source_kind == "generator":
                labels = torch.full((k,), c, dtype=torch.long)
                feats = self._generate_features(source, k, labels, seed + 1 + c, [layer], bs)[layer]
            else:
                x, y = source
                idx = (y == c).nonzero().flatten()[:k]
                if len(idx) < k:
                    raise ValueError(
                        f"protocol {protocol.name!r} uses {k} images per class for intra-FID; class {c} has "
                        f"{len(idx)}"
                    )
                feats = self._image_set_features(x[idx], k, [layer], bs)[layer]
            s = feature_statistics(feats, what=f"generated images of class {c}")
            out[c] = frechet_distance(s["mu"], s["sigma"], class_stats[c]["mu"], class_stats[c]["sigma"])
        return out


# --------------------------------------------------------------------------------------------------------------
# one-shot functions


def evaluate_generator(
    G: nn.Module,
    metrics: Union[str, Sequence[str]] = ("is", "fid"),
    reference: Optional[ReferenceLike] = None,
    *,
    protocol: Union[str, Protocol] = "paper",
    num_samples: Optional[int] = None,
    intra_fid_samples_per_class: Optional[int] = None,
    batch_size: int = 64,
    device: Optional[Union[str, torch.device]] = None,
    seed: int = 0,
    feature_extractor: str = DEFAULT_FEATURE_EXTRACTOR,
    inception_weights: Optional[Union[str, "os.PathLike[str]"]] = None,
    cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    cache: bool = True,
    verbose: bool = False,
    step: Optional[int] = None,
) -> Dict[str, Any]:
    """Evaluate a generator once (builds an :class:`Evaluator`; reuse one for periodic evaluation).

    Args:
        G: Generator with the specnorm_gan interface (``G(z, y=None)``, ``z_dim``, ``num_classes``).
        metrics: Some of ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"``.
        reference: Real images (see :class:`ReferenceData`); required for FID, KID and intra-FID.
        protocol: ``"paper"``, ``"50k"`` or a :class:`Protocol`.
        num_samples: Override the protocol's IS / FID sample counts (renames the protocol ``"<name>-n<N>"``).
        intra_fid_samples_per_class: Override the intra-FID samples per class (renames it ``"...-c<N>"``).
        batch_size: Images per batch.
        device: Feature-extractor device (default CUDA if available).
        seed: Seed of the latent vectors.
        feature_extractor: torch-fidelity feature extractor name.
        inception_weights: Weights file of the feature extractor (see :class:`Evaluator`).
        cache_dir: Reference statistics cache directory.
        cache: Use the on-disk cache.
        verbose: Print progress.
        step: Training step stored in the result.

    Returns:
        The result dict of :meth:`Evaluator.evaluate_generator`.

    Example:
        >>> r = evaluate_generator(G, ("is", "fid"), "cifar10-train", protocol="50k")  # doctest: +SKIP
        >>> print(format_table(r))  # doctest: +SKIP
    """
    ev = Evaluator(
        reference,
        metrics=metrics,
        protocol=protocol,
        feature_extractor=feature_extractor,
        inception_weights=inception_weights,
        device=device,
        batch_size=batch_size,
        seed=seed,
        cache_dir=cache_dir,
        cache=cache,
        verbose=verbose,
    )
    return ev.evaluate_generator(
        G, num_samples=num_samples, intra_fid_samples_per_class=intra_fid_samples_per_class, step=step
    )


def evaluate_images(
    images: Union[Tensor, np.ndarray],
    metrics: Union[str, Sequence[str]] = ("is", "fid"),
    reference: Optional[ReferenceLike] = None,
    *,
    labels: Optional[Union[Tensor, np.ndarray]] = None,
    protocol: Union[str, Protocol] = "paper",
    batch_size: int = 64,
    device: Optional[Union[str, torch.device]] = None,
    seed: int = 0,
    feature_extractor: str = DEFAULT_FEATURE_EXTRACTOR,
    inception_weights: Optional[Union[str, "os.PathLike[str]"]] = None,
    cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    cache: bool = True,
    verbose: bool = False,
) -> Dict[str, Any]:
    """Evaluate a fixed set of images once (see :meth:`Evaluator.evaluate_images`).

    Args:
        images: ``(N, C, H, W)`` / ``(N, H, W, C)`` images, ``uint8`` or float in ``[-1, 1]``.
        metrics: Some of ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"``.
        reference: Real images (see :class:`ReferenceData`).
        labels: ``(N,)`` class labels of ``images`` (intra-FID).
        protocol: ``"paper"``, ``"50k"`` or a :class:`Protocol`.
        batch_size: Images per batch.
        device: Feature-extractor device.
        seed: Seed (KID subsets).
        feature_extractor: torch-fidelity feature extractor name.
        inception_weights: Weights file of the feature extractor.
        cache_dir: Reference statistics cache directory.
        cache: Use the on-disk cache.
        verbose: Print progress.

    Returns:
        The result dict of :meth:`Evaluator.evaluate_images`.

    Shape:
        - images: :math:`(N, C, H, W)` or :math:`(N, H, W, C)`, :math:`C \\in \\{1, 3\\}`

    Example:
        >>> r = evaluate_images(samples, "fid", "cifar10-train", protocol="50k")  # doctest: +SKIP
    """
    ev = Evaluator(
        reference,
        metrics=metrics,
        protocol=protocol,
        feature_extractor=feature_extractor,
        inception_weights=inception_weights,
        device=device,
        batch_size=batch_size,
        seed=seed,
        cache_dir=cache_dir,
        cache=cache,
        verbose=verbose,
    )
    return ev.evaluate_images(images, labels)


# --------------------------------------------------------------------------------------------------------------
# reporting


def format_table(result: Mapping[str, Any], *, digits: int = 2) -> str:
    """A plain-text table of a result, in the papers' style (IS as mean ± std over the splits).

    The header names the protocol and the pipeline (feature extractor, reference, sample counts), so the table
    can be quoted on its own.

    Args:
        result: A dict returned by :meth:`Evaluator.evaluate_generator` / :meth:`Evaluator.evaluate_images`.
        digits: Decimals of IS and FID (KID is shown x 10^3 with 2 more decimals).

    Returns:
        The table as a multi-line string.

    Example:
        >>> print(format_table(result))  # doctest: +SKIP
        protocol: paper | feature extractor: inception-v3-compat | reference: cifar10-train (50000 images)
        metric     value           samples
        IS         8.22 ± 0.05     50000 generated, 10 splits
        FID        21.70           5000 generated vs 10000 reference
    """
    if "protocol" not in result:
        raise ValueError("result has no 'protocol' entry: a number without its protocol is not reported")
    p = result.get("pipeline", {})
    ref = p.get("reference")
    size = p.get("reference_size")
    head = f"protocol: {result['protocol']} | feature extractor: {p.get('feature_extractor', '?')}"
    if ref is not None:
        head += f" | reference: {ref}" + (f" ({size} images)" if size is not None else "")
    if "step" in result:
        head += f" | step {result['step']}"
    rows = [("metric", "value", "samples")]
    if "is_mean" in result:
        rows.append(
            (
                "IS",
                f"{result['is_mean']:.{digits}f} ± {result['is_std']:.{digits}f}",
                f"{p.get('is_samples')} generated, {p.get('is_splits')} splits",
            )
        )
    n_ref = p.get("fid_reference_samples")
    ref_txt = f"{n_ref} reference" if n_ref is not None else "reference statistics"
    if "fid" in result:
        rows.append(("FID", f"{result['fid']:.{digits}f}", f"{p.get('fid_samples')} generated vs {ref_txt}"))
    if "kid_mean" in result:
        rows.append(
            (
                "KID x 1e3",
                f"{1e3 * result['kid_mean']:.{digits + 2}f} ± {1e3 * result['kid_std']:.{digits + 2}f}",
                f"{p.get('fid_samples')} vs {ref_txt}, {p.get('kid_subsets')} subsets of {p.get('kid_subset_size')}",
            )
        )
    if "intra_fid" in result:
        per = result.get("intra_fid_per_class", {})
        rows.append(
            (
                "intra-FID",
                f"{result['intra_fid']:.{digits}f}",
                f"mean of {len(per)} classes, {p.get('intra_fid_samples_per_class')} generated per class "
                "vs all reference images of the class",
            )
        )
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [head] + [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    if "intra_fid_per_class" in result:
        per = result["intra_fid_per_class"]
        lines.append("intra-FID per class: " + ", ".join(f"{c}: {v:.{digits}f}" for c, v in per.items()))
    return "\n".join(lines)


def save_results(
    result: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]], path: Union[str, "os.PathLike[str]"]
) -> None:
    """Write a result (or a list of results, e.g. :attr:`Evaluator.history`) as indented JSON.

    Args:
        result: A result dict or a list of them.
        path: Output ``.json`` file (parent directories are created).

    Example:
        >>> save_results(result, "runs/eval.json")  # doctest: +SKIP
    """
    items = [result] if isinstance(result, Mapping) else list(result)
    for r in items:
        if "protocol" not in r:
            raise ValueError("result has no 'protocol' entry: a number without its protocol is not reported")
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w") as f:
        json.dump(result if isinstance(result, Mapping) else items, f, indent=2, sort_keys=False)
        f.write("\n")


def _load_history(history: Union[Sequence[Mapping[str, Any]], str, "os.PathLike[str]"]) -> List[Mapping[str, Any]]:
    if isinstance(history, (str, os.PathLike)):
        path = os.fspath(history)
        with open(path) as f:
            text = f.read()
        try:
            data = json.loads(text)
            return [data] if isinstance(data, dict) else list(data)
        except json.JSONDecodeError:  # JSON lines
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(history)


def plot_metric_curves(
    history: Union[Sequence[Mapping[str, Any]], str, "os.PathLike[str]"],
    path: Union[str, "os.PathLike[str]"],
    *,
    metrics: Optional[Sequence[str]] = None,
    title: Optional[str] = None,
) -> List[str]:
    """Plot metrics over training (IS with its ± std band; the best FID marked) to a PNG file.

    Needs matplotlib (``pip install specnorm-gan[benchmark]``); it is imported here, with the Agg canvas, so no
    display is needed.

    Args:
        history: Result dicts with a ``step`` entry (e.g. :attr:`Evaluator.history`), or a ``.json`` / JSON-lines
            file of them. Entries without ``step`` or without a metric are skipped for that metric.
        path: Output ``.png`` file.
        metrics: Which to plot, among ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"`` (default: all present).
        title: Figure title (default: the protocol name(s)).

    Returns:
        The metrics plotted.

    Example:
        >>> plot_metric_curves(evaluator.history, "runs/metrics.png")  # doctest: +SKIP
        ['is', 'fid']
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            f"plot_metric_curves needs matplotlib: install it with `pip install specnorm-gan[benchmark]` ({e})"
        ) from e
    rows = [r for r in _load_history(history) if "step" in r]
    if not rows:
        raise ValueError("history has no entries with a 'step'; pass step=... when evaluating")
    protocols = sorted({str(r.get("protocol")) for r in rows})
    if len(protocols) > 1:
        raise ValueError(f"history mixes protocols {protocols}; their numbers are not comparable on one curve")
    keys = {"is": "is_mean", "fid": "fid", "kid": "kid_mean", "intra_fid": "intra_fid"}
    labels = {"is": "Inception Score", "fid": "FID", "kid": "KID", "intra_fid": "intra-FID"}
    wanted = list(metrics) if metrics is not None else [k for k in keys if any(keys[k] in r for r in rows)]
    wanted = [_METRIC_ALIASES.get(k.lower(), k) for k in wanted]
    bad = [k for k in wanted if k not in keys]
    if bad:
        raise ValueError(f"unknown metrics {bad}; expected some of {list(keys)}")
    if not wanted:
        raise ValueError("history holds none of the metrics is, fid, kid, intra_fid")
    fig = Figure(figsize=(4.5 * len(wanted), 3.4))
    FigureCanvasAgg(fig)
    for i, k in enumerate(wanted):
        ax = fig.add_subplot(1, len(wanted), i + 1)
        pts = sorted((r["step"], r[keys[k]], r.get(keys[k].replace("_mean", "_std"))) for r in rows if keys[k] in r)
        if not pts:
            raise ValueError(f"no history entry holds {keys[k]!r}")
        steps = [p[0] for p in pts]
        vals = [p[1] for p in pts]
        ax.plot(steps, vals, marker="o", markersize=3)
        if k in ("is", "kid") and all(p[2] is not None for p in pts):
            lo = [v - p[2] for v, p in zip(vals, pts)]
            hi = [v + p[2] for v, p in zip(vals, pts)]
            ax.fill_between(steps, lo, hi, alpha=0.25)
        best = (max if k == "is" else min)(range(len(vals)), key=lambda j: vals[j])
        ax.scatter([steps[best]], [vals[best]], color="red", zorder=3, label=f"best {vals[best]:.3g} @ {steps[best]}")
        ax.legend(fontsize=7)
        ax.set_xlabel("step")
        ax.set_ylabel(labels[k])
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"protocol: {', '.join(protocols)}")
    fig.tight_layout()
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(path, dpi=100)
    return wanted
