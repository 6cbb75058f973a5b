"""The reference side of an evaluation: features and FID statistics of the reference, memoised and cached on disk.

:class:`ReferenceStatistics` draws the protocol's reference subset, runs the reference images through the
:class:`~specnorm_gan.metrics.features.FeatureExtractor` once, and keeps the results in memory and in
torch-fidelity's on-disk cache (``cache_lookup_one_recompute_on_miss``; file names follow torch-fidelity's, so its
cached ``cifar10-train`` statistics are shared): KID features, FID statistics, per-class FID statistics for
intra-FID.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .features import FeatureExtractor
from .protocols import Protocol
from .reference import ReferenceData
from .scores import feature_statistics

__all__ = ["ReferenceStatistics"]

Stats = Dict[str, np.ndarray]


class ReferenceStatistics:
    """Features and statistics of one reference under one feature extractor, computed once.

    Args:
        reference: The reference.
        features: The feature extractor.
        batch_size: Reference images per feature-extractor batch.
        cache_dir: Directory of the on-disk cache.
        cache: Read and write the on-disk cache (a reference without a name is never cached on disk).
        verbose: Print torch-fidelity's cache messages.

    Example:
        >>> stats = ReferenceStatistics(ReferenceData(x), fe, batch_size=64, cache_dir="cache")  # doctest: +SKIP
        >>> idx, key, n = stats.subset(PAPER)  # doctest: +SKIP
        >>> stats.fid_statistics(key, idx, fe.layers["fid"])["mu"].shape  # doctest: +SKIP
        (2048,)
    """

    def __init__(
        self,
        reference: ReferenceData,
        features: FeatureExtractor,
        *,
        batch_size: int,
        cache_dir: str,
        cache: bool = True,
        verbose: bool = False,
    ) -> None:
        self.reference, self.features, self.batch_size = reference, features, batch_size
        self.cache_dir, self.cache, self.verbose = cache_dir, cache, verbose
        #: ``(H, W)`` of the reference images, once some have been read.
        self.resolution: Optional[Tuple[int, int]] = None
        self._memo: Dict[str, Any] = {}

    def _cache_lookup(self, filename: str, fn: Callable[[], Any]) -> Any:
        from torch_fidelity.utils import cache_lookup_one_recompute_on_miss

        if not self.cache or self.reference.name is None:
            return fn()
        return cache_lookup_one_recompute_on_miss(
            filename, fn, cache=True, cache_root=self.cache_dir, verbose=self.verbose
        )

    def _memoised(self, memo_key: str, filename: str, fn: Callable[[], Any]) -> Any:
        if memo_key not in self._memo:
            self._memo[memo_key] = self._cache_lookup(filename, fn)
        return self._memo[memo_key]

    def subset(self, protocol: Protocol) -> Tuple[Optional[Tensor], str, int]:
        """Indices of the protocol's FID/KID reference subset (``None``: all), its cache key and its size."""
        ref = self.reference
        n_ref = protocol.fid_reference_samples
        total = len(ref)
        if n_ref is None or n_ref == total:
            return None, str(ref.name), total
        if n_ref > total:
            raise ValueError(
                f"protocol {protocol.name!r} uses {n_ref} reference images but reference {ref.name!r} has "
                f"only {total}; use a larger reference or a Protocol with fid_reference_samples=None"
            )
        g = torch.Generator().manual_seed(protocol.reference_seed)
        idx = torch.randperm(total, generator=g)[:n_ref].sort().values
        return idx, f"{ref.name}-n{n_ref}-seed{protocol.reference_seed}", n_ref

    def extract(self, indices: Optional[Tensor], layers: Sequence[str]) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
        """Features of the reference images at ``indices`` (all if ``None``) and their labels (``None`` if any is
        missing)."""
        labels: List[Tensor] = []
        have_labels = True

        def batches():  # type: ignore[no-untyped-def]
            nonlocal have_labels
            for x, y in self.reference.iter_batches(indices, self.batch_size):
                self.resolution = (int(x.shape[-2]), int(x.shape[-1]))
                if y is None:
                    have_labels = False
                else:
                    labels.append(y)
                yield x

        with torch.no_grad():
            out = self.features.of_batches(batches(), layers)
        return out, (torch.cat(labels) if have_labels and labels else None)

    def features_of(self, key: str, indices: Optional[Tensor], layer: str) -> Tensor:
        """Reference features of one layer (KID), under the subset's cache ``key``."""

        def compute() -> Tensor:
            return self.extract(indices, [layer])[0][layer]

        fname = f"{key}-{self.features.name}-features-{layer}"
        return self._memoised(f"features:{key}:{layer}", fname, compute)

    def fid_statistics(self, key: str, indices: Optional[Tensor], layer: str) -> Stats:
        """FID statistics ``{"mu", "sigma"}`` of the subset (a statistics-only reference: its own)."""
        if self.reference.kind == "statistics":
            return self.reference.statistics()  # type: ignore[return-value]
        memo_key = f"stats:{key}:{layer}"
        if memo_key not in self._memo:

            def compute() -> Stats:
                feats = self._memo.get(f"features:{key}:{layer}")
                if feats is None:
                    feats = self.extract(indices, [layer])[0][layer]
                return feature_statistics(feats, what=f"reference {key!r}")

            stats = self._cache_lookup(f"{key}-{self.features.name}-stat-fid-{layer}", compute)
            self._memo[memo_key] = {k: np.asarray(v, dtype=np.float64) for k, v in stats.items()}
        return self._memo[memo_key]

    def class_statistics(self, num_classes: int, layer: str) -> Tuple[List[Stats], List[int]]:
        """Per-class FID statistics over the whole reference (cached per class) and the images per class."""
        memo_key = f"class-stats:{num_classes}:{layer}"
        if memo_key in self._memo:
            return self._memo[memo_key]
        ref = self.reference
        full: Dict[str, Tensor] = {}

        def compute(c: int) -> Dict[str, Any]:
            if not full:
                full["f"], full["y"] = _labelled_features(self, num_classes, layer)
            fc = full["f"][full["y"] == c]
            if fc.shape[0] < 2:
                raise ValueError(f"reference {ref.name!r} has {fc.shape[0]} images of class {c}; need >= 2")
            s = feature_statistics(fc, what=f"reference {ref.name!r} class {c}")
            s["num_samples"] = np.asarray(fc.shape[0])
            return s

        stats, counts = [], []
        for c in range(num_classes):
            fname = f"{ref.name}-class{c}-{self.features.name}-stat-fid-{layer}"
            s = self._cache_lookup(fname, lambda c=c: compute(c))
            counts.append(int(np.asarray(s.get("num_samples", -1))))
            stats.append({"mu": np.asarray(s["mu"], np.float64), "sigma": np.asarray(s["sigma"], np.float64)})
        self._memo[memo_key] = (stats, counts)
        return stats, counts


def _labelled_features(stats: ReferenceStatistics, num_classes: int, layer: str) -> Tuple[Tensor, Tensor]:
    """Features of the whole reference and its labels, checked against ``num_classes`` (intra-FID)."""
    ref = stats.reference
    labels = ref.labels()
    if labels is None and ref.kind != "dataset":
        raise ValueError(
            f"intra-FID needs class labels for the reference {ref.name!r}: pass "
            "ReferenceData(..., labels=...), an .npz file with 'y', or a dataset with targets/labels"
        )
    f, y_items = stats.extract(None, [layer])
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
    return f[layer], labels
