"""The ``pipeline`` entry of every result: exactly which extractor, conversion, sampling, reference and versions
produced the numbers, so that a result can be quoted (and compared) on its own."""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import nn

from .backend import _fidelity_version, _specnorm_version
from .features import _INCEPTION_WEIGHTS_FILE, FeatureExtractor
from .reference import ReferenceData

__all__: list = []


def _describe_pipeline(
    features: FeatureExtractor,
    reference: Optional[ReferenceData],
    device: torch.device,
    seed: int,
    bs: int,
    source: str,
    num_classes: int,
    G: Optional[nn.Module],
) -> Dict[str, Any]:
    """The pipeline dict before the sample counts are added (see :meth:`Evaluator.evaluate_generator`)."""
    inception = features.is_default_inception
    ref = reference
    return {
        "feature_extractor": features.name,
        "feature_layers": dict(features.layers),
        "feature_extractor_weights": features.weights
        or (f"torch-fidelity default ({_INCEPTION_WEIGHTS_FILE})" if inception else "extractor default"),
        "resize": (
            "inside the feature extractor: uint8 -> 299x299 with torch-fidelity's TensorFlow-1.x-compatible "
            "bilinear interpolation (align_corners=False), then (x - 128) / 128"
            if inception
            else f"as defined by feature extractor {features.name!r}"
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
        "device": str(device),
        "reference": None if ref is None else ref.name,
        "reference_description": None if ref is None else ref.description,
        "reference_size": None if ref is None or not ref.has_images else len(ref),
        "torch_fidelity_version": _fidelity_version(),
        "specnorm_gan_version": _specnorm_version(),
    }
