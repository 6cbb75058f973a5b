"""One evaluation, step by step: the reference side, one pool of generated features, the scores, intra-FID.

:class:`~specnorm_gan.metrics.Evaluator` calls :func:`_measure` with a source of generated images
(:mod:`~specnorm_gan.metrics.sources`); the reference side comes from its
:class:`~specnorm_gan.metrics.reference_stats.ReferenceStatistics`, the numbers from
:mod:`~specnorm_gan.metrics.scores`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .protocols import Protocol
from .provenance import _describe_pipeline
from .scores import _fid_to, _intra_fid, inception_score, kernel_inception_distance
from .sources import GeneratorSamples, ImageSamples

if TYPE_CHECKING:  # pragma: no cover
    from .evaluator import Evaluator

__all__: list = []

Samples = Union[GeneratorSamples, ImageSamples]


@dataclass
class _ReferenceSide:
    """What the metrics compare with: FID statistics, KID features, per-class statistics."""

    fid: Optional[Dict[str, np.ndarray]] = None
    kid: Optional[Tensor] = None
    n_used: Optional[int] = None
    class_stats: Optional[List[Dict[str, np.ndarray]]] = None
    class_counts: List[int] = field(default_factory=list)


def _reference_side(ev: "Evaluator", layers: Dict[str, str], num_classes: int) -> _ReferenceSide:
    """The reference side, first (so that a resolution mismatch is known before sampling)."""
    m, side = ev.metrics, _ReferenceSide()
    stats = ev.reference_stats
    if "fid" in m or "kid" in m:
        assert stats is not None
        if stats.reference.kind == "statistics":
            side.fid = stats.fid_statistics(str(stats.reference.name), None, layers["fid"])
        else:
            idx, key, side.n_used = stats.subset(ev.protocol)
            if "kid" in m:
                side.kid = stats.features_of(key, idx, layers["kid"])
            if "fid" in m:
                side.fid = stats.fid_statistics(key, idx, layers["fid"])
    if "intra_fid" in m:
        assert stats is not None
        side.class_stats, side.class_counts = stats.class_statistics(num_classes, layers["fid"])
    return side


def _pool(
    samples: Samples, protocol: Protocol, metrics: Tuple[str, ...], layers: Dict[str, str]
) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
    """One pool of generated features for IS / FID / KID (and intra-FID, when it holds enough of each class)."""
    n_pool = max(
        protocol.is_samples if "is" in metrics else 0,
        protocol.fid_samples if ("fid" in metrics or "kid" in metrics) else 0,
    )
    pool_layers = sorted({layers[k] for k in ("is", "fid", "kid") if k in layers and k in metrics})
    if "intra_fid" in metrics and layers["fid"] not in pool_layers and n_pool > 0:
        pool_layers.append(layers["fid"])
    return samples.pool(protocol, n_pool, pool_layers)


def _per_class_fid(
    samples: Samples,
    protocol: Protocol,
    num_classes: int,
    pool: Dict[str, Tensor],
    pool_labels: Optional[Tensor],
    class_stats: List[Dict[str, np.ndarray]],
    layer: str,
) -> Dict[int, float]:
    """FID of each class: from the pool when it holds ``k`` samples of every class, else sampled per class."""
    k = protocol.intra_fid_samples_per_class
    reuse = (
        pool_labels is not None
        and layer in pool
        and len(pool_labels) > 0
        and int(torch.bincount(pool_labels, minlength=num_classes).min()) >= k
    )
    out: Dict[int, float] = {}
    for c in range(num_classes):
        if reuse:
            assert pool_labels is not None
            feats = pool[layer][(pool_labels == c).nonzero().flatten()[:k]]
        else:
            feats = samples.class_features(protocol, c, k, layer)
        out[c] = _fid_to(feats, class_stats[c], f"generated images of class {c}")
    return out


def _measure(
    ev: "Evaluator", samples: Samples, protocol: Protocol, seed: int, bs: int, num_classes: int,
    step: Optional[int],
) -> Dict[str, Any]:
    """The result dict of one evaluation (see :meth:`Evaluator.evaluate_generator`), appended to ``ev.history``."""
    ev.features.module()
    layers, m = ev.features.layers, ev.metrics
    G = samples.G if isinstance(samples, GeneratorSamples) else None
    pipeline = _describe_pipeline(ev.features, ev.reference, ev.device, seed, bs, samples.kind, num_classes, G)
    result: Dict[str, Any] = {"protocol": protocol.name}
    if step is not None:
        result["step"] = int(step)

    ref = _reference_side(ev, layers, num_classes)
    pool, pool_labels = _pool(samples, protocol, m, layers)
    uses_ref = "fid" in m or "kid" in m
    pipeline.update(
        {
            "is_samples": protocol.is_samples if "is" in m else None,
            "is_splits": protocol.is_splits if "is" in m else None,
            "fid_samples": protocol.fid_samples if uses_ref else None,
            "fid_reference_samples": ref.n_used if uses_ref else None,
        }
    )
    if "is" in m:
        result["is_mean"], result["is_std"] = inception_score(pool[layers["is"]][: protocol.is_samples],
                                                              protocol.is_splits)
    if "fid" in m:
        assert ref.fid is not None
        result["fid"] = _fid_to(pool[layers["fid"]][: protocol.fid_samples], ref.fid, "generated images")
    if "kid" in m:
        assert ref.kid is not None
        gen = pool[layers["kid"]][: protocol.fid_samples]
        size = min(protocol.kid_subset_size, gen.shape[0], ref.kid.shape[0])
        result["kid_mean"], result["kid_std"] = kernel_inception_distance(
            gen, ref.kid, subsets=protocol.kid_subsets, subset_size=size, seed=seed
        )
        pipeline.update({"kid_subsets": protocol.kid_subsets, "kid_subset_size": size})
    if "intra_fid" in m:
        assert ref.class_stats is not None
        per_class = _per_class_fid(samples, protocol, num_classes, pool, pool_labels, ref.class_stats,
                                   layers["fid"])
        result["intra_fid"] = _intra_fid(per_class)
        result["intra_fid_per_class"] = {str(c): v for c, v in per_class.items()}
        pipeline.update(
            {
                "intra_fid_samples_per_class": protocol.intra_fid_samples_per_class,
                "intra_fid_reference_per_class": {str(c): n for c, n in enumerate(ref.class_counts)},
            }
        )
    result["protocol_spec"] = protocol.to_dict()
    result["pipeline"] = pipeline
    ev.history.append(result)
    return result
