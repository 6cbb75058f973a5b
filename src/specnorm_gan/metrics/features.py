"""Feature extraction: torch-fidelity's feature extractors (Inception-v3 by default), and images to features.

:class:`FeatureExtractor` is one extractor registered with torch-fidelity (its TF-compatible Inception-v3
``"inception-v3-compat"``, any other registered one, or a stand-in registered with
``torch_fidelity.register_feature_extractor``), the layers each metric reads from it (torch-fidelity's
``resolve_feature_layer_for_metric``), created on first use, with clear errors when its weights are missing. It
turns batches of ``uint8`` images into features; the reference side, the generator and image sets all go through
it.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from .backend import _require_fidelity, _short
from .errors import InceptionWeightsUnavailableError
from .images import to_uint8

__all__ = ["FeatureExtractor", "DEFAULT_FEATURE_EXTRACTOR"]

DEFAULT_FEATURE_EXTRACTOR = "inception-v3-compat"
"""torch-fidelity's TF-compatible Inception-v3 (the feature extractor of the IS / FID reference code)."""

_INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


class FeatureExtractor:
    """A torch-fidelity feature extractor with the layers that the requested metrics read, built on first use.

    Args:
        name: A torch-fidelity feature extractor name (default ``"inception-v3-compat"``).
        metrics: The metrics it serves (normalised names: ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"``); they
            decide the layers (:attr:`layers`, keys ``"is"``, ``"fid"``, ``"kid"``).
        weights: Path of the weights file (torch-fidelity's ``feature_extractor_weights_path``); ``None``:
            torch-fidelity's default, from the torch hub cache or downloaded.
        device: Where the extractor runs.
        verbose: Print torch-fidelity's messages.

    Raises:
        ValueError: ``name`` is not registered with torch-fidelity.
        FileNotFoundError: ``weights`` does not exist.

    Example:
        >>> fe = FeatureExtractor(metrics=("is", "fid"))  # doctest: +SKIP
        >>> feats = fe(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))  # doctest: +SKIP
        >>> sorted(feats), fe.layers  # doctest: +SKIP
        (['2048', 'logits_unbiased'], {'is': 'logits_unbiased', 'fid': '2048'})
    """

    def __init__(
        self,
        name: str = DEFAULT_FEATURE_EXTRACTOR,
        *,
        metrics: Sequence[str] = ("is", "fid"),
        weights: Optional[Union[str, "os.PathLike[str]"]] = None,
        device: Union[str, torch.device] = "cpu",
        verbose: bool = False,
    ) -> None:
        _require_fidelity()
        from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

        if name not in FEATURE_EXTRACTORS_REGISTRY:
            raise ValueError(
                f"feature extractor {name!r} is not registered with torch-fidelity; registered: "
                f"{sorted(FEATURE_EXTRACTORS_REGISTRY)}"
            )
        if weights is not None:
            weights = os.fspath(weights)
            if not os.path.isfile(weights):
                raise FileNotFoundError(
                    f"feature extractor weights file {weights!r} does not exist (for the Inception-v3 "
                    f"feature extractor: torch-fidelity's {_INCEPTION_WEIGHTS_FILE})"
                )
        self.name = name
        self.weights: Optional[str] = weights
        self.metrics = tuple(metrics)
        self.device = torch.device(device)
        self.verbose = bool(verbose)
        #: The layer each metric reads (``{"is": ..., "fid": ..., "kid": ...}``), filled when the extractor is built.
        self.layers: Dict[str, str] = {}
        self._module: Optional[nn.Module] = None

    @property
    def is_default_inception(self) -> bool:
        """Whether this is torch-fidelity's TF-compatible Inception-v3 (the papers' extractor)."""
        return self.name == DEFAULT_FEATURE_EXTRACTOR

    def _requested_layers(self) -> Dict[str, str]:
        from torch_fidelity.utils import resolve_feature_layer_for_metric

        def layer(metric: str) -> str:
            return resolve_feature_layer_for_metric(metric, feature_extractor=self.name)

        layers = {}
        if "is" in self.metrics:
            layers["is"] = layer("isc")
        if any(m in self.metrics for m in ("fid", "intra_fid")):
            layers["fid"] = layer("fid")
        if "kid" in self.metrics:
            layers["kid"] = layer("kid")
        return layers

    def module(self) -> nn.Module:
        """The torch-fidelity extractor module on :attr:`device` (created on the first call).

        Raises:
            InceptionWeightsUnavailableError: the default Inception-v3 weights cannot be loaded (offline).
            ValueError: the given weights file does not fit the extractor.
        """
        if self._module is not None:
            return self._module
        from torch_fidelity.utils import create_feature_extractor

        self.layers = self._requested_layers()
        wanted = sorted(set(self.layers.values()))
        kwargs: Dict[str, Any] = {"verbose": self.verbose}
        if self.weights is not None:
            kwargs["feature_extractor_weights_path"] = self.weights
        try:
            fe = create_feature_extractor(self.name, wanted, cuda=False, **kwargs)
        except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as e:
            if self.weights is None and self.is_default_inception:
                raise InceptionWeightsUnavailableError(_weights_help(e)) from e
            if self.weights is not None:
                raise ValueError(
                    f"could not load the weights file {self.weights!r} into torch-fidelity's "
                    f"{self.name!r} feature extractor ({type(e).__name__}: {_short(e)}); for the "
                    f"Inception-v3 extractor it must be torch-fidelity's {_INCEPTION_WEIGHTS_FILE}"
                ) from e
            raise
        self._module = fe.to(self.device)
        return self._module

    def __call__(self, images_uint8: Tensor) -> Dict[str, Tensor]:
        """Features of one batch of ``uint8`` images, ``{layer: (B, D) float32 on the CPU}``.

        Shape:
            - images_uint8: :math:`(B, 3, H, W)` ``uint8``
        """
        fe: Any = self.module()
        out = fe(images_uint8.to(self.device))
        d = fe.convert_features_tuple_to_dict(out)
        return {k: v.detach().float().cpu() for k, v in d.items()}

    def of_batches(self, batches: Iterable[Tensor], layers: Sequence[str]) -> Dict[str, Tensor]:
        """Features of ``uint8`` image batches, concatenated: ``{layer: (N, D)}`` for each of ``layers``."""
        feats: Dict[str, List[Tensor]] = {k: [] for k in layers}
        for x in batches:
            f = self(x)
            for k in layers:
                feats[k].append(f[k])
        return {k: torch.cat(v) for k, v in feats.items()}

    def of_images(self, images: Tensor, n: int, layers: Sequence[str], batch_size: int) -> Dict[str, Tensor]:
        """Features of the first ``n`` of a set of images (``uint8`` or float in ``[-1, 1]``), in batches."""
        batches = (to_uint8(images[s : s + batch_size], what="images") for s in range(0, n, batch_size))
        return self.of_batches(batches, layers)


def _weights_help(err: BaseException) -> str:
    """What to do when the default Inception-v3 weights cannot be downloaded."""
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
