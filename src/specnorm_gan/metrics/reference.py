"""The reference: the real images (or their precomputed statistics) that generated images are compared with.

:class:`ReferenceData` reads every accepted kind of source (a torch-fidelity registered dataset, an ``.npz`` file,
an image tensor / array / :class:`~specnorm_gan.data.ImageDataset`, a ``Dataset``), names it for the statistics
cache, and yields its images as ``uint8`` batches with their labels. Turning those batches into features and
statistics, and caching them, is :mod:`~specnorm_gan.metrics.reference_stats`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .backend import _require_fidelity, _torch_home
from .errors import ReferenceUnavailableError
from .images import _array_to_nchw, _as_labels, _check_not_unit_range, _collate_images, to_uint8

if TYPE_CHECKING:  # pragma: no cover
    from ..data import ImageDataset

__all__ = ["ReferenceData", "ReferenceLike"]


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


# ------------------------------------------------------------------------------------------------------------------
# reading a source


@dataclass
class _Loaded:
    """What a source gives: its kind (``"registered"``, ``"array"``, ``"dataset"`` or ``"statistics"``), cache
    name, description and the images, labels, statistics, dataset or registered name it holds."""

    kind: str
    name: Optional[str]
    description: str
    labels: Optional[Tensor] = None
    images: Optional[Tensor] = None
    stats: Optional[Dict[str, np.ndarray]] = None
    dataset: Optional[Any] = None
    registered: Optional[str] = None


def _checked_images(images: Tensor) -> Tensor:
    """Reference images must be ``uint8`` or float in ``[-1, 1]`` (not ``[0, 1]``)."""
    if images.is_floating_point():
        to_uint8(images[:1024], what="reference images")
        _check_not_unit_range(images, "reference images", error=True)
    elif images.dtype != torch.uint8:
        raise TypeError(
            f"reference images must be uint8 in [0, 255] or float in [-1, 1], got dtype {images.dtype}"
        )
    return images


def _load_name(source: str, name: Optional[str], labels: Optional[Tensor]) -> _Loaded:
    """A torch-fidelity registered input or an ``.npz`` file."""
    _require_fidelity()
    from torch_fidelity.registry import DATASETS_REGISTRY

    if source in DATASETS_REGISTRY:
        return _Loaded("registered", name or source, f"torch-fidelity registered input {source!r}", labels,
                       registered=source)
    if source.endswith(".npz") and os.path.isfile(source):
        return _load_npz(source, name, labels)
    if source.endswith(".npz"):
        raise FileNotFoundError(f"reference file {source!r} does not exist")
    raise ValueError(
        f"reference {source!r} is neither a torch-fidelity registered input "
        f"({', '.join(sorted(DATASETS_REGISTRY))}) nor an .npz file; pass an image tensor/array, a "
        "Dataset, or register it with torch_fidelity.register_dataset"
    )


def _load_npz(path: str, name: Optional[str], labels: Optional[Tensor]) -> _Loaded:
    """Images ``x`` (and labels ``y``) or precomputed statistics ``mu``, ``sigma`` from an ``.npz`` file."""
    with np.load(path, allow_pickle=False) as d:
        files = set(d.files)
        if {"mu", "sigma"} <= files:
            stats = {"mu": np.asarray(d["mu"], np.float64), "sigma": np.asarray(d["sigma"], np.float64)}
            stem = os.path.splitext(os.path.basename(path))[0]
            return _Loaded("statistics", name or stem, f"precomputed FID statistics {path!r} (mu, sigma)", labels,
                           stats=stats)
        if "x" not in files:
            raise ValueError(
                f"{path!r} has arrays {sorted(files)}; expected images 'x' (and labels 'y') or statistics "
                "'mu' and 'sigma'"
            )
        x = d["x"]
        y = d["y"] if "y" in files else None
    images = _array_to_nchw(x, f"reference images in {path!r}")
    if y is not None and labels is None:
        labels = _as_labels(y)
    _checked_images(images)
    if name is None:
        h = hashlib.sha1()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        name = f"{os.path.splitext(os.path.basename(path))[0]}-{h.hexdigest()[:12]}"
    return _Loaded("array", name, f"images from {path!r} {tuple(images.shape)}", labels, images=images)


def _load_source(source: Any, name: Optional[str], labels: Optional[Tensor]) -> _Loaded:
    """Dispatch on the kind of ``source`` (see :class:`ReferenceData`)."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if isinstance(source, str):
        return _load_name(source, name, labels)
    if isinstance(getattr(source, "images", None), Tensor) and not isinstance(source, torch.utils.data.Dataset):
        # specnorm_gan.data.ImageDataset (uint8 NCHW images, optional int64 labels)
        if labels is None and source.labels is not None:
            labels = _as_labels(source.labels)
        images = _checked_images(_array_to_nchw(source.images.cpu(), "reference images"))
        label = str(getattr(source, "name", "images")).replace(os.sep, "_").replace(" ", "_")
        return _Loaded("array", name or f"{label}-{_hash_tensor(images, labels)}",
                       f"ImageDataset {getattr(source, 'name', '')!r} {tuple(images.shape)}", labels, images=images)
    if isinstance(source, (Tensor, np.ndarray)):
        images = _checked_images(_array_to_nchw(source, "reference images"))
        return _Loaded("array", name or f"array-{_hash_tensor(images, labels)}",
                       f"in-memory images {tuple(images.shape)}", labels, images=images)
    if isinstance(source, torch.utils.data.Dataset):
        if labels is None:
            labels = _labels_of_dataset(source)
        description = f"Dataset {type(source).__name__} ({len(source)} items)"  # type: ignore[arg-type]
        return _Loaded("dataset", name, description, labels, dataset=source)
    raise TypeError(
        "reference must be a registered torch-fidelity input name, an .npz path, an image tensor/array or a "
        f"Dataset, got {type(source).__name__}"
    )


# ------------------------------------------------------------------------------------------------------------------
# yielding batches


def _array_batches(
    images: Tensor, labels: Optional[Tensor], indices: Optional[Tensor], batch_size: int
) -> Iterator[Tuple[Tensor, Optional[Tensor]]]:
    n = len(images) if indices is None else len(indices)
    for i in range(0, n, batch_size):
        idx = torch.arange(i, min(i + batch_size, n)) if indices is None else indices[i : i + batch_size]
        y = labels[idx] if labels is not None else None
        yield to_uint8(images[idx], what="reference images"), y


def _dataset_batches(
    ds: Any, labels: Optional[Tensor], indices: Optional[Tensor], batch_size: int, num_workers: int
) -> Iterator[Tuple[Tensor, Optional[Tensor]]]:
    if indices is not None:
        ds = torch.utils.data.Subset(ds, indices.tolist())
        labels = labels[indices] if labels is not None else None
    loader = torch.utils.data.DataLoader(
        ds, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=_collate_images
    )
    start = 0
    first = True
    for x, y in loader:
        if first and x.is_floating_point():
            _check_not_unit_range(x, "reference images", error=True)
        first = False
        if labels is not None:
            y = labels[start : start + x.shape[0]]
        start += x.shape[0]
        yield to_uint8(x, what="reference images"), y


# ------------------------------------------------------------------------------------------------------------------
# the reference


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
        self.datasets_root = datasets_root
        self.download = download
        self.num_workers = num_workers
        loaded = _load_source(source, name, None if labels is None else _as_labels(labels))
        self.kind: str = loaded.kind
        #: Cache key of the statistics (``None``: a ``Dataset`` without a name, not cached).
        self.name: Optional[str] = loaded.name
        self.description: str = loaded.description
        self._labels: Optional[Tensor] = loaded.labels
        self._images: Optional[Tensor] = loaded.images
        self._stats: Optional[Dict[str, np.ndarray]] = loaded.stats
        self._dataset: Optional[Any] = loaded.dataset
        self._registered: Optional[str] = loaded.registered
        if self._labels is not None and self.kind != "statistics" and len(self._labels) != len(self):
            raise ValueError(f"reference labels have {len(self._labels)} entries for {len(self)} images")

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
            yield from _array_batches(self._images, labels, indices, batch_size)
        else:
            yield from _dataset_batches(self._get_dataset(), labels, indices, batch_size, self.num_workers)


ReferenceLike = Union[
    ReferenceData, str, "os.PathLike[str]", Tensor, np.ndarray, torch.utils.data.Dataset, "ImageDataset"
]
"""Anything accepted as a reference: a :class:`ReferenceData` or a ``source`` of :class:`ReferenceData`."""
