"""The evaluator: one protocol, one reference and one feature extractor, applied to generators or image sets.

:class:`Evaluator` is a small facade that composes the parts, each in its own module:

- :class:`~specnorm_gan.metrics.features.FeatureExtractor` (torch-fidelity's extractor, images to features);
- :class:`~specnorm_gan.metrics.reference_stats.ReferenceStatistics` (the reference's features and statistics,
  memoised and cached on disk), over a :class:`~specnorm_gan.metrics.reference.ReferenceData`;
- :class:`~specnorm_gan.metrics.sources.GeneratorSamples` / :class:`~specnorm_gan.metrics.sources.ImageSamples`
  (the generated side);
- :func:`~specnorm_gan.metrics.measure._measure` (one evaluation: reference side, pool, scores from
  :mod:`~specnorm_gan.metrics.scores`, intra-FID, the ``pipeline`` record).

:func:`evaluate_generator` and :func:`evaluate_images` are the one-shot forms.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from .backend import _cache_root, _require_fidelity
from .features import DEFAULT_FEATURE_EXTRACTOR, FeatureExtractor
from .measure import _measure
from .protocols import Protocol, _normalize_metrics, get_protocol
from .reference import ReferenceData, ReferenceLike
from .reference_stats import ReferenceStatistics
from .sources import GeneratorSamples, ImageSamples, _check_generator

__all__ = ["Evaluator", "evaluate_generator", "evaluate_images"]


def _resolve_device(device: Optional[Union[str, torch.device]]) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _opt_int(value: Optional[int]) -> Optional[int]:
    return None if value is None else int(value)


def _as_reference(reference: Optional[ReferenceLike], metrics: Sequence[str], cache: bool) -> Optional[ReferenceData]:
    """The reference as a :class:`ReferenceData`, checked against what the metrics need."""
    if reference is None:
        if any(m in metrics for m in ("fid", "kid", "intra_fid")):
            raise ValueError(
                f"metrics {[m for m in metrics if m != 'is']} need a reference (real images): pass "
                "reference='cifar10-train', an .npz file, an image tensor or a Dataset (examples/evaluate.py: "
                "--reference)"
            )
        return None
    ref = reference if isinstance(reference, ReferenceData) else ReferenceData(reference)
    if ref.kind == "statistics" and any(m in metrics for m in ("kid", "intra_fid")):
        raise ValueError(
            f"reference {ref.name!r} holds only FID statistics (mu, sigma); KID and intra-FID "
            "need reference images (and labels for intra-FID)"
        )
    if ref.kind == "dataset" and ref.name is None and cache:
        warnings.warn(
            "the reference Dataset has no name, so its statistics are not cached on disk; pass "
            "ReferenceData(dataset, name=...) to cache them",
            UserWarning,
            stacklevel=3,
        )
    return ref


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
        self.metrics = _normalize_metrics(metrics)
        self.protocol = get_protocol(protocol)
        self.device = _resolve_device(device)
        #: The feature extractor (torch-fidelity's, built on first use).
        self.features = FeatureExtractor(
            feature_extractor, metrics=self.metrics, weights=inception_weights, device=self.device, verbose=verbose
        )
        self.feature_extractor_name = self.features.name
        self.inception_weights: Optional[str] = self.features.weights
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.batch_size, self.seed = batch_size, int(seed)
        self.cache, self.cache_dir, self.verbose = bool(cache), _cache_root(cache_dir), bool(verbose)
        self.reference: Optional[ReferenceData] = _as_reference(reference, self.metrics, self.cache)
        #: The reference side (features and statistics, memoised and cached), or None without a reference.
        self.reference_stats: Optional[ReferenceStatistics] = None if self.reference is None else ReferenceStatistics(
            self.reference, self.features, batch_size=batch_size, cache_dir=self.cache_dir, cache=cache, verbose=verbose
        )
        #: Every result of this evaluator, in order.
        self.history: List[Dict[str, Any]] = []

    def _get_extractor(self) -> nn.Module:
        return self.features.module()

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
        _, num_classes = _check_generator(G)
        per_class = _opt_int(intra_fid_samples_per_class)
        protocol = self.protocol.with_num_samples(_opt_int(num_samples), per_class=per_class)
        seed = self.seed if seed is None else int(seed)
        bs = self.batch_size if batch_size is None else int(batch_size)
        if "intra_fid" in self.metrics and num_classes == 0:
            raise ValueError("intra-FID needs a conditional generator (G.num_classes > 0); G is unconditional")
        samples = GeneratorSamples(G, self.features, seed=seed, batch_size=bs, reference=self.reference_stats)
        with samples.eval_mode():
            return _measure(self, samples, protocol, seed, bs, num_classes, step)

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
        samples = ImageSamples(images, labels, self.features, batch_size=self.batch_size,
                               labels_required="intra_fid" in self.metrics)
        with torch.no_grad():
            return _measure(self, samples, self.protocol, self.seed, self.batch_size, samples.num_classes, step)

    __call__ = evaluate_generator


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
    ev = Evaluator(reference, metrics=metrics, protocol=protocol, feature_extractor=feature_extractor,
                   inception_weights=inception_weights, device=device, batch_size=batch_size, seed=seed,
                   cache_dir=cache_dir, cache=cache, verbose=verbose)
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
    ev = Evaluator(reference, metrics=metrics, protocol=protocol, feature_extractor=feature_extractor,
                   inception_weights=inception_weights, device=device, batch_size=batch_size, seed=seed,
                   cache_dir=cache_dir, cache=cache, verbose=verbose)
    return ev.evaluate_images(images, labels)
