"""The generated side of an evaluation: images sampled from a generator, or a fixed image set, as features.

Both kinds of source answer the same two questions for :mod:`~specnorm_gan.metrics.measure`: the features of a
pool of ``n`` images (with their labels), and the features of ``k`` images of one class (for intra-FID).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from .features import FeatureExtractor
from .images import _array_to_nchw, _as_labels, _check_not_unit_range, to_uint8
from .protocols import Protocol

if TYPE_CHECKING:  # pragma: no cover
    from .reference_stats import ReferenceStatistics

__all__ = ["GeneratorSamples", "ImageSamples"]


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


def _check_generator(G: nn.Module) -> Tuple[int, int]:
    """``(G.z_dim, G.num_classes)`` after checking that ``G`` has the specnorm_gan generator interface."""
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


class GeneratorSamples:
    """Samples of a generator as features: latents from ``seed`` on the CPU, class-balanced labels.

    Args:
        G: Generator ``G(z, y=None)`` with ``z_dim`` and ``num_classes`` (in eval mode, under ``no_grad``: the
            caller's job).
        features: The feature extractor.
        seed: Seed of the pool's latents; class ``c`` of intra-FID (when sampled on its own) uses ``seed + 1 + c``.
        batch_size: Generator batch size.
        reference: The reference side, if any: a generator whose resolution differs from that of the reference
            images read so far gets a warning.

    Example:
        >>> samples = GeneratorSamples(G, fe, seed=0, batch_size=64)  # doctest: +SKIP
        >>> feats, labels = samples.pool(protocol, 5000, ["2048"])  # doctest: +SKIP
    """

    kind = "generator"

    def __init__(
        self,
        G: nn.Module,
        features: FeatureExtractor,
        *,
        seed: int,
        batch_size: int,
        reference: Optional["ReferenceStatistics"] = None,
    ) -> None:
        self.z_dim, self.num_classes = _check_generator(G)
        self.G, self.features, self.seed, self.batch_size = G, features, seed, batch_size
        self.reference = reference

    @contextlib.contextmanager
    def eval_mode(self) -> Iterator[None]:
        """``G`` in eval mode under ``torch.no_grad()``, its mode restored afterwards."""
        was_training = self.G.training
        self.G.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.G.train(was_training)

    def pool(self, protocol: Protocol, n: int, layers: Sequence[str]) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
        """Features of ``n`` samples (labels ``arange(n) % num_classes`` for a conditional ``G``, else ``None``)."""
        labels = torch.arange(n) % self.num_classes if self.num_classes > 0 else None
        feats = self._features(n, labels, self.seed, layers) if n > 0 else {}
        return feats, labels

    def class_features(self, protocol: Protocol, c: int, k: int, layer: str) -> Tensor:
        """Features of ``k`` samples of class ``c``."""
        labels = torch.full((k,), c, dtype=torch.long)
        return self._features(k, labels, self.seed + 1 + c, [layer])[layer]

    def _features(self, n: int, labels: Optional[Tensor], seed: int, layers: Sequence[str]) -> Dict[str, Tensor]:
        G, bs = self.G, self.batch_size
        g_device, g_dtype = _module_device(G), _module_float_dtype(G)
        z_all = _draw_latents(G, n, self.z_dim, seed).to(g_dtype)

        def batches():  # type: ignore[no-untyped-def]
            for start in range(0, n, bs):
                z = z_all[start : start + bs].to(g_device)
                x = G(z) if labels is None else G(z, labels[start : start + bs].to(g_device))
                if not isinstance(x, Tensor) or x.dim() != 4:
                    raise ValueError(f"G must return (N, C, H, W) images, got {getattr(x, 'shape', type(x))}")
                if start == 0:
                    self._check_first_batch(x)
                yield to_uint8(x, what="generated images")

        return self.features.of_batches(batches(), layers)

    def _check_first_batch(self, x: Tensor) -> None:
        _check_not_unit_range(x, "generated images", error=False)
        res = (int(x.shape[-2]), int(x.shape[-1]))
        ref = None if self.reference is None else self.reference.resolution
        if ref is not None and res != ref:
            warnings.warn(
                f"generated images are {res[0]}x{res[1]} but the reference images are "
                f"{ref[0]}x{ref[1]}; resize the reference to the "
                "generator's resolution first (as the papers did for STL-10 at 48 px)",
                UserWarning,
                stacklevel=3,
            )


class ImageSamples:
    """A fixed set of images (and optional labels) as features: the first ``n`` for the pool, the first ``k`` of
    each class for intra-FID.

    Args:
        images: ``(N, C, H, W)`` or ``(N, H, W, C)`` images, ``uint8`` or float in ``[-1, 1]`` (float images that
            look like ``[0, 1]`` ones get a warning).
        labels: ``(N,)`` class labels, or ``None``; ``num_classes`` is ``max(labels) + 1`` (0 without labels).
        features: The feature extractor.
        batch_size: Images per feature-extractor batch.
        labels_required: Raise if ``labels`` is ``None`` (intra-FID needs them).

    Example:
        >>> samples = ImageSamples(x, y, fe, batch_size=64)  # doctest: +SKIP
        >>> feats, labels = samples.pool(protocol, 5000, ["2048"])  # doctest: +SKIP
    """

    kind = "images"

    def __init__(
        self,
        images: Union[Tensor, np.ndarray],
        labels: Optional[Union[Tensor, np.ndarray]],
        features: FeatureExtractor,
        *,
        batch_size: int,
        labels_required: bool = False,
    ) -> None:
        x = _array_to_nchw(images, "images")
        y = None if labels is None else _as_labels(labels)
        if y is not None and len(y) != len(x):
            raise ValueError(f"labels have {len(y)} entries for {len(x)} images")
        self.num_classes = 0 if y is None else int(y.max()) + 1
        if labels_required and y is None:
            raise ValueError("intra-FID of an image set needs its class labels (labels=...)")
        if x.is_floating_point():
            _check_not_unit_range(x, "images", error=False)
        self.images, self.labels, self.features, self.batch_size = x, y, features, batch_size

    def pool(self, protocol: Protocol, n: int, layers: Sequence[str]) -> Tuple[Dict[str, Tensor], Optional[Tensor]]:
        """Features of the first ``n`` images and their labels."""
        if len(self.images) < n:
            raise ValueError(
                f"protocol {protocol.name!r} needs {n} images (IS {protocol.is_samples}, FID "
                f"{protocol.fid_samples}), got {len(self.images)}; pass more images or a smaller Protocol"
            )
        feats = self.features.of_images(self.images, n, layers, self.batch_size) if n > 0 else {}
        return feats, (None if self.labels is None else self.labels[:n])

    def class_features(self, protocol: Protocol, c: int, k: int, layer: str) -> Tensor:
        """Features of the first ``k`` images of class ``c``."""
        assert self.labels is not None
        idx = (self.labels == c).nonzero().flatten()[:k]
        if len(idx) < k:
            raise ValueError(
                f"protocol {protocol.name!r} uses {k} images per class for intra-FID; class {c} has {len(idx)}"
            )
        return self.features.of_images(self.images[idx], k, [layer], self.batch_size)[layer]
