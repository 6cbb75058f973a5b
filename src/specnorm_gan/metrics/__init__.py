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

The package, one job per module (``docs/architecture.md`` draws what calls what):

- :mod:`~specnorm_gan.metrics.evaluator`: :class:`Evaluator`, the facade, and the one-shot
  :func:`evaluate_generator` / :func:`evaluate_images`;
- :mod:`~specnorm_gan.metrics.measure`: one evaluation (reference side, generated pool, scores, intra-FID);
- :mod:`~specnorm_gan.metrics.sources`: the generated side (samples of a generator, a fixed image set);
- :mod:`~specnorm_gan.metrics.features`: torch-fidelity's feature extractors, images to features;
- :mod:`~specnorm_gan.metrics.reference`: :class:`ReferenceData`, the real images (or their statistics);
- :mod:`~specnorm_gan.metrics.reference_stats`: the reference's features and statistics and their on-disk cache;
- :mod:`~specnorm_gan.metrics.scores`: feature statistics, Fréchet distance, Inception Score, KID;
- :mod:`~specnorm_gan.metrics.protocols`: :class:`Protocol`, the named protocols, the metric names;
- :mod:`~specnorm_gan.metrics.images`: images to ``uint8`` as PNG files hold them;
- :mod:`~specnorm_gan.metrics.reporting`: tables, JSON, curves;
- :mod:`~specnorm_gan.metrics.provenance`, :mod:`~specnorm_gan.metrics.backend`, :mod:`~specnorm_gan.metrics.errors`.

Everything public is importable from ``specnorm_gan.metrics`` directly.

See ``docs/evaluation.md`` for exactly which pipeline produces which number and how they relate to the numbers
in the SNGAN / projection-discriminator papers and in other codebases.

Example:
    >>> from specnorm_gan import metrics
    >>> evaluator = metrics.Evaluator("cifar10-train", metrics=("is", "fid"), protocol="paper")  # doctest: +SKIP
    >>> result = evaluator.evaluate_generator(G)  # doctest: +SKIP
    >>> print(metrics.format_table(result))  # doctest: +SKIP
"""

from __future__ import annotations

from .backend import _require_fidelity  # noqa: F401  (examples/evaluate.py checks the extra with it)
from .errors import InceptionWeightsUnavailableError, ReferenceUnavailableError
from .evaluator import Evaluator, evaluate_generator, evaluate_images
from .features import DEFAULT_FEATURE_EXTRACTOR
from .images import to_uint8
from .protocols import FIFTY_K, METRIC_NAMES, PAPER, PROTOCOLS, Protocol, get_protocol
from .reference import ReferenceData, ReferenceLike  # noqa: F401
from .reporting import format_table, plot_metric_curves, save_results
from .scores import feature_statistics, frechet_distance, inception_score, kernel_inception_distance

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
