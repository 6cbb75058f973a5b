"""Image data for GAN training: loaders for the usual datasets and a fast in-memory batch stream.

A GAN step on a 32 px model consumes a few hundred kilobytes of images, so the data path only has
to stay out of the way: every dataset is decoded once into one ``uint8`` tensor of shape
``(N, C, H, W)`` (:class:`ImageDataset`), resized and channel-converted to the model's resolution at
load time, moved to the training device when it fits, and batches are drawn with index tensors
(:class:`InMemoryLoader`) -- no per-image Python work, no worker processes, no host-device
synchronisation. :func:`to_float_images` maps a ``uint8`` batch to ``[-1, 1]`` on the device
(optionally with the official code's dequantisation noise).

Sources (:func:`load_dataset`):

- ``.npz`` archives with ``x`` (uint8, NHWC) and ``y`` (int64), as written by :func:`save_npz` and as
  stored in the project's ``shared/data`` folder;
- torchvision datasets, found in (or downloaded to) a root folder: CIFAR-10/100, STL-10 (labelled
  ``train+test`` as used for GANs, ``unlabeled``, or any ``+`` combination), MNIST, Fashion-MNIST,
  Flowers102;
- image folders: one sub-folder per class (``torchvision.datasets.ImageFolder`` layout, e.g.
  AnimeFace) or a flat folder of images (unlabelled).

torchvision and Pillow are optional (``pip install specnorm-gan[examples]``) and imported only when a
torchvision dataset or an image folder is loaded; ``.npz`` files need only numpy.
"""

from __future__ import annotations

import math
import os
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "ImageDataset",
    "InMemoryLoader",
    "DatasetNotFoundError",
    "load_dataset",
    "load_npz",
    "validate_labels",
    "save_npz",
    "load_image_folder",
    "load_torchvision_dataset",
    "resize_images",
    "convert_channels",
    "to_float_images",
    "to_uint8_images",
    "list_datasets",
]

PathLike = Union[str, "os.PathLike[str]"]

_EXTRA_HINT = "install the optional dependencies with `pip install specnorm-gan[examples]`"


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset is not on disk (and could not be downloaded).

    The message says what to download and where to put it.
    """


def _import_torchvision() -> Any:
    try:
        import torchvision  # noqa: F401
        import torchvision.datasets
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"loading this dataset needs torchvision; {_EXTRA_HINT}") from e
    return torchvision


def _import_pil() -> Any:
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"decoding image files needs Pillow; {_EXTRA_HINT}") from e
    return Image


# --------------------------------------------------------------------------------------------
# The in-memory dataset
# --------------------------------------------------------------------------------------------
@dataclass
class ImageDataset:
    """A whole image dataset held as one ``uint8`` tensor.

    Args:
        images: ``uint8`` tensor of shape ``(N, C, H, W)`` with values in ``[0, 255]``.
        labels: ``int64`` tensor of shape ``(N,)`` with class indices in ``[0, num_classes)``, or
            ``None`` for an unlabelled set.
        class_names: optional list of class names (its length sets :attr:`num_classes`).
        name: a short description used in logs and error messages.

    Shape:
        - images: :math:`(N, C, H, W)`, ``C`` in ``{1, 3}``.
        - labels: :math:`(N,)`.

    Example::

        >>> ds = ImageDataset(torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.arange(10) % 2)
        >>> len(ds), ds.num_classes, ds.resolution, ds.channels
        (10, 2, 32, 3)
    """

    images: Tensor
    labels: Optional[Tensor] = None
    class_names: Optional[List[str]] = None
    name: str = "images"
    _num_classes: Optional[int] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        x = self.images
        if not isinstance(x, Tensor):
            raise TypeError(f"images must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype != torch.uint8 or x.dim() != 4:
            raise ValueError(
                f"images must be a uint8 tensor of shape (N, C, H, W), got dtype {x.dtype} and shape {tuple(x.shape)}"
            )
        if x.shape[1] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"dataset {self.name!r} is empty")
        if self.labels is not None:
            y = self.labels
            if not isinstance(y, Tensor):
                raise TypeError(f"labels must be a torch.Tensor or None, got {type(y).__name__}")
            if y.dtype != torch.int64 or y.dim() != 1 or y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"labels must be an int64 tensor of shape ({x.shape[0]},), got dtype {y.dtype} and shape {tuple(y.shape)}"
                )
            validate_labels(y, len(self.class_names) if self.class_names is not None else None, f"dataset {self.name!r}")
            self._num_classes = len(self.class_names) if self.class_names is not None else int(y.max()) + 1
        else:
            self._num_classes = 0
        if self.class_names is not None:
            self.class_names = [str(c) for c in self.class_names]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int:
        """Number of classes (0 for an unlabelled dataset)."""
        return int(self._num_classes or 0)

    @property
    def resolution(self) -> int:
        """Image side length (the dataset is square after :meth:`resized`; otherwise the height)."""
        return int(self.images.shape[2])

    @property
    def channels(self) -> int:
        """Number of image channels (1 or 3)."""
        return int(self.images.shape[1])

    @property
    def device(self) -> torch.device:
        """Device holding the images."""
        return self.images.device

    def to(self, device: Union[str, torch.device]) -> "ImageDataset":
        """Returns a copy with images and labels on ``device`` (``self`` if already there)."""
        device = torch.device(device)
        if self.images.device == device:
            return self
        labels = self.labels.to(device) if self.labels is not None else None
        return ImageDataset(self.images.to(device), labels, self.class_names, self.name)

    def resized(self, resolution: int, crop: str = "center") -> "ImageDataset":
        """Returns the dataset resized to ``resolution x resolution`` (see :func:`resize_images`)."""
        x = resize_images(self.images, resolution, crop=crop)
        if x is self.images:
            return self
        return ImageDataset(x, self.labels, self.class_names, self.name)

    def with_channels(self, channels: int) -> "ImageDataset":
        """Returns the dataset with ``channels`` channels (see :func:`convert_channels`)."""
        x = convert_channels(self.images, channels)
        if x is self.images:
            return self
        return ImageDataset(x, self.labels, self.class_names, self.name)

    def unlabeled(self) -> "ImageDataset":
        """Returns the same images without labels."""
        return ImageDataset(self.images, None, None, self.name)

    def subset(self, n: int, seed: Optional[int] = None) -> "ImageDataset":
        """Returns ``n`` images: the first ``n``, or a random subset drawn with ``seed`` (in dataset order).

        Example::

            >>> ds = ImageDataset(torch.zeros(10, 1, 4, 4, dtype=torch.uint8), torch.arange(10))
            >>> ds.subset(3).labels.tolist(), len(ds.subset(5, seed=0))
            ([0, 1, 2], 5)
        """
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"subset size must be an int >= 1, got {n!r}")
        if n >= len(self):
            return self
        if seed is None:
            idx: Union[slice, Tensor] = slice(0, n)
        else:
            g = torch.Generator().manual_seed(int(seed))
            idx = torch.randperm(len(self), generator=g)[:n].sort().values.to(self.images.device)
        labels = self.labels[idx] if self.labels is not None else None
        return ImageDataset(self.images[idx], labels, self.class_names, self.name)


def validate_labels(labels: Tensor, num_classes: Optional[int] = None, source: str = "labels") -> None:
    """Refuses class labels outside ``[0, num_classes)``, naming each offending value and its count.

    Called when a dataset is built (negative labels, and labels beyond its ``class_names``) and by
    ``examples/train.py`` once the model's number of classes is known (conditional runs), so that a
    bad label is reported at load time instead of indexing out of range inside a training step.

    Args:
        labels: integer tensor of class indices, any shape and device.
        num_classes: the number of classes, >= 1; None checks only that labels are >= 0.
        source: what holds the labels (a file or dataset name), for the message.

    Raises:
        ValueError: some labels are out of range; the message lists the distinct offending values
            (up to 8) with how often each occurs, and the total count.

    Example::

        >>> validate_labels(torch.tensor([0, 2, 1]), 3)
        >>> validate_labels(torch.tensor([0, -1, 3, -1]), 3, "d.npz")
        Traceback (most recent call last):
            ...
        ValueError: d.npz holds 3 labels outside [0, 3): -1 (2 times), 3 (1 time); labels must be class indices in [0, number of classes = 3)
    """
    if num_classes is not None and (not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1):
        raise ValueError(f"num_classes must be an int >= 1 or None, got {num_classes!r}")
    ok = labels >= 0
    if num_classes is not None:
        ok &= labels < num_classes
    if bool(ok.all()):
        return
    values, counts = torch.unique(labels[~ok], return_counts=True)
    shown = ", ".join(f"{v} ({c} time{'s' if c != 1 else ''})" for v, c in zip(values[:8].tolist(), counts[:8].tolist()))
    if values.numel() > 8:
        shown += f" and {values.numel() - 8} more distinct values"
    total = int(counts.sum())
    if num_classes is None:
        raise ValueError(
            f"{source} holds {total} negative label{'s' if total != 1 else ''}: {shown}; labels must be class indices >= 0"
        )
    raise ValueError(
        f"{source} holds {total} label{'s' if total != 1 else ''} outside [0, {num_classes}): {shown}; "
        f"labels must be class indices in [0, number of classes = {num_classes})"
    )


# --------------------------------------------------------------------------------------------
# Pixel-level helpers
# --------------------------------------------------------------------------------------------
def resize_images(images: Tensor, resolution: int, crop: str = "center", chunk_size: int = 1024) -> Tensor:
    """Crops to a square and resizes a ``uint8`` image tensor.

    Resizing is bilinear with antialiasing (as torchvision's ``Resize`` and Pillow's ``BILINEAR``),
    computed in float32 and rounded back to ``uint8``; it runs in chunks so that memory stays small.
    Images already at ``resolution x resolution`` are returned unchanged (same tensor).

    Args:
        images: ``uint8`` tensor ``(N, C, H, W)``.
        resolution: output side length, >= 1.
        crop: ``"center"`` (crop the largest centred square first) or ``"none"`` (resize the whole
            image, changing its aspect ratio when it is not square).
        chunk_size: images per resize call.

    Shape:
        :math:`(N, C, H, W) \\to (N, C, R, R)`.

    Example::

        >>> resize_images(torch.zeros(2, 3, 96, 96, dtype=torch.uint8), 48).shape
        torch.Size([2, 3, 48, 48])
    """
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise ValueError(f"resolution must be a positive int, got {resolution!r}")
    if crop not in ("center", "none"):
        raise ValueError(f"crop must be 'center' or 'none', got {crop!r}")
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    h, w = int(images.shape[2]), int(images.shape[3])
    if crop == "center" and h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        images = images[:, :, top : top + s, left : left + s]
        h = w = s
    if h == resolution and w == resolution:
        return images.contiguous()
    out = torch.empty(images.shape[0], images.shape[1], resolution, resolution, dtype=torch.uint8, device=images.device)
    for start in range(0, images.shape[0], chunk_size):
        chunk = images[start : start + chunk_size].float()
        r = F.interpolate(chunk, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True)
        out[start : start + chunk_size] = r.round_().clamp_(0, 255).to(torch.uint8)
    return out


def convert_channels(images: Tensor, channels: int) -> Tensor:
    """Converts a ``uint8`` image tensor between grayscale and RGB.

    1 -> 3 repeats the channel; 3 -> 1 uses the ITU-R 601-2 luma transform of Pillow's ``convert("L")``
    (``L = R * 299/1000 + G * 587/1000 + B * 114/1000``, rounded). Same channel count: returned unchanged.

    Args:
        images: ``uint8`` tensor ``(N, C, H, W)`` with ``C`` in ``{1, 3}``.
        channels: 1 or 3.

    Shape:
        :math:`(N, C, H, W) \\to (N, channels, H, W)`.

    Example::

        >>> convert_channels(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), 3).shape
        torch.Size([2, 3, 8, 8])
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    c = int(images.shape[1])
    if c == channels:
        return images
    if c == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if c == 3:
        w = torch.tensor([299.0, 587.0, 114.0], device=images.device).view(1, 3, 1, 1) / 1000.0
        return (images.float() * w).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"images must have 1 or 3 channels, got {c}")


def to_float_images(
    images: Tensor,
    dequantize: bool = False,
    generator: Optional[torch.Generator] = None,
    channels_last: bool = False,
) -> Tensor:
    """Maps ``uint8`` images to float32 in ``[-1, 1]``.

    Default: ``x / 127.5 - 1`` (0 -> -1, 255 -> 1 exactly). With ``dequantize=True``, the official
    SNGAN code's mapping ``x / 128 - 1 + U(0, 1/128)`` (values in ``[-1, 1)``), which spreads each
    pixel level over its quantisation interval.

    Args:
        images: ``uint8`` tensor ``(N, C, H, W)``.
        dequantize: add the uniform dequantisation noise (drawn with ``generator``).
        generator: random generator on ``images``' device for the noise (None: the global one).
        channels_last: return a ``torch.channels_last`` tensor.

    Shape:
        :math:`(N, C, H, W) \\to (N, C, H, W)`.

    Example::

        >>> to_float_images(torch.tensor([0, 255], dtype=torch.uint8).view(1, 2, 1, 1)).flatten().tolist()
        [-1.0, 1.0]
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8, got {images.dtype}")
    if channels_last and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    x = images.to(torch.float32)
    if dequantize:
        x = x.div_(128.0).sub_(1.0)
        noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = x.add_(noise.div_(128.0))
    else:
        x = x.div_(127.5).sub_(1.0)
    return x


def to_uint8_images(images: Tensor) -> Tensor:
    """Maps float images in ``[-1, 1]`` to ``uint8`` (rounded, clamped): the inverse of :func:`to_float_images`.

    Args:
        images: float tensor ``(N, C, H, W)`` (generator output).

    Shape:
        :math:`(N, C, H, W) \\to (N, C, H, W)`.

    Example::

        >>> to_uint8_images(torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 4, 1, 1)).flatten().tolist()
        [0, 128, 255, 255]
    """
    if not images.is_floating_point():
        raise TypeError(f"images must be a floating-point tensor in [-1, 1], got {images.dtype}")
    return images.detach().float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


# --------------------------------------------------------------------------------------------
# .npz archives
# --------------------------------------------------------------------------------------------
def load_npz(path: PathLike, name: Optional[str] = None) -> ImageDataset:
    """Loads an ``.npz`` archive of images (without pickle).

    Expected keys: ``x`` -- ``uint8`` images ``(N, H, W, C)`` (NHWC, ``C`` in 1/3) or ``(N, H, W)``,
    ``N >= 1``; optional ``y`` -- integer labels ``(N,)``, class indices ``>= 0`` (and below
    ``len(class_names)`` when given), or all ``-1`` for an unlabelled set (torchvision's marker for
    STL-10's unlabelled split); optional ``class_names`` -- string array. This is the format of
    :func:`save_npz` and of the project's ``shared/data/*.npz``. Whether the labels fit the model's
    number of classes is checked where that is known (:func:`validate_labels`).

    Args:
        path: the ``.npz`` file.
        name: dataset name for logs (default: the file name).

    Returns:
        an :class:`ImageDataset` on the CPU with images ``(N, C, H, W)``.

    Raises:
        DatasetNotFoundError: the file does not exist.
        ValueError: not an ``.npz``, no images, wrong dtypes or shapes, or labels out of range (the
            message names the offending values and their count).

    Example::

        >>> ds = load_npz("cifar10_train.npz")  # doctest: +SKIP
        >>> ds.images.shape, ds.num_classes  # doctest: +SKIP
        (torch.Size([25000, 3, 32, 32]), 10)
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} does not exist. An .npz dataset must hold 'x' (uint8 images, N x H x W x C) and "
            f"optionally 'y' (int64 labels); see specnorm_gan.data.save_npz to write one."
        )
    try:
        with np.load(path, allow_pickle=False) as d:
            files = set(d.files)
            if "x" not in files:
                raise ValueError(f"{path} has no array 'x' (found {sorted(files)}); expected uint8 images N x H x W x C")
            x = d["x"]
            y = d["y"] if "y" in files else None
            names = d["class_names"] if "class_names" in files else None
    except ValueError:
        raise
    except Exception as e:  # zip / format errors
        raise ValueError(f"could not read {path} as an .npz archive: {e}") from e
    if x.dtype != np.uint8:
        raise ValueError(f"{path}: 'x' must be uint8 in [0, 255], got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{path}: 'x' must have shape (N, H, W, C) with C in (1, 3, 4), got {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"no images in {path} ('x' has shape {x.shape}); expected at least one uint8 H x W x C image")
    if x.shape[-1] == 4:  # RGBA: drop alpha
        x = x[..., :3]
    images = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
    labels = None
    if y is not None:
        if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{path}: 'y' must be integer labels of shape ({x.shape[0]},), got {y.dtype} {y.shape}")
        labels = torch.from_numpy(y.astype(np.int64))
        if bool((labels == -1).all()):  # -1 everywhere: the "no label" marker (torchvision's STL-10 unlabeled)
            labels = None
        else:
            validate_labels(labels, None, f"{path}: 'y'")  # beyond class_names: ImageDataset checks
    class_names = [str(c) for c in names.tolist()] if names is not None and labels is not None else None
    return ImageDataset(images, labels, class_names, name or path.name)


def save_npz(path: PathLike, dataset: ImageDataset, compress: bool = True) -> None:
    """Writes a dataset as an ``.npz`` archive readable by :func:`load_npz` (``x`` NHWC uint8, ``y`` int64).

    Args:
        path: output file.
        dataset: the dataset (any device).
        compress: use ``np.savez_compressed``.

    Example::

        >>> save_npz("faces64.npz", load_dataset("faces/", resolution=64))  # doctest: +SKIP
    """
    arrays: Dict[str, np.ndarray] = {"x": dataset.images.permute(0, 2, 3, 1).contiguous().cpu().numpy()}
    if dataset.labels is not None:
        arrays["y"] = dataset.labels.cpu().numpy().astype(np.int64)
        if dataset.class_names is not None:
            arrays["class_names"] = np.array(dataset.class_names)
    (np.savez_compressed if compress else np.savez)(path, **arrays)


# --------------------------------------------------------------------------------------------
# torchvision datasets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TVSpec:
    cls: str
    folder: str  # relative to root; its existence means "downloaded"
    splits: Tuple[str, ...]
    default_split: str
    download: str  # human instructions (URLs)
    labeled_splits: Tuple[str, ...]


_TV_DATASETS: Dict[str, _TVSpec] = {
    "cifar10": _TVSpec(
        "CIFAR10",
        "cifar-10-batches-py",
        ("train", "test"),
        "train",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (163 MB); extract it so that "
        "ROOT/cifar-10-batches-py/data_batch_1 ... test_batch, batches.meta exist",
        ("train", "test"),
    ),
    "cifar100": _TVSpec(
        "CIFAR100",
        "cifar-100-python",
        ("train", "test"),
        "train",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz (161 MB); extract it so that "
        "ROOT/cifar-100-python/train, test, meta exist",
        ("train", "test"),
    ),
    "stl10": _TVSpec(
        "STL10",
        "stl10_binary",
        ("train", "test", "unlabeled"),
        "train+test",
        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz (2.6 GB); extract it so that "
        "ROOT/stl10_binary/train_X.bin, train_y.bin, test_X.bin, test_y.bin, unlabeled_X.bin exist",
        ("train", "test"),
    ),
    "mnist": _TVSpec(
        "MNIST",
        "MNIST/raw",
        ("train", "test"),
        "train",
        "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz from https://ossci-datasets.s3.amazonaws.com/mnist/ ; put them (gunzipped) "
        "in ROOT/MNIST/raw/",
        ("train", "test"),
    ),
    "fashion-mnist": _TVSpec(
        "FashionMNIST",
        "FashionMNIST/raw",
        ("train", "test"),
        "train",
        "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ ; put them "
        "(gunzipped) in ROOT/FashionMNIST/raw/ (Debian: apt-get install dataset-fashion-mnist)",
        ("train", "test"),
    ),
    "flowers102": _TVSpec(
        "Flowers102",
        "flowers-102",
        ("train", "val", "test"),
        "train+val+test",
        "102flowers.tgz, imagelabels.mat and setid.mat from https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ ; "
        "put them in ROOT/flowers-102/ and extract the .tgz there (ROOT/flowers-102/jpg/image_00001.jpg ...); "
        "reading the .mat files needs scipy",
        ("train", "val", "test"),
    ),
}

_ALIASES = {
    "cifar-10": "cifar10",
    "cifar_10": "cifar10",
    "cifar-100": "cifar100",
    "cifar_100": "cifar100",
    "stl-10": "stl10",
    "stl_10": "stl10",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "flowers": "flowers102",
    "flowers-102": "flowers102",
    "oxford-flowers102": "flowers102",
    "image-folder": "imagefolder",
    "image_folder": "imagefolder",
    "folder": "imagefolder",
}

_SPLIT_ALIASES = {"stl10-unlabeled": ("stl10", "unlabeled"), "stl10-unlabelled": ("stl10", "unlabeled")}


def list_datasets() -> List[str]:
    """Names accepted by :func:`load_dataset`'s ``dataset`` argument.

    Example::

        >>> "cifar10" in list_datasets()
        True
    """
    return sorted(list(_TV_DATASETS) + ["stl10-unlabeled", "imagefolder", "npz"])


def _canonical_name(dataset: str) -> Tuple[str, Optional[str]]:
    key = dataset.strip().lower()
    if key in _SPLIT_ALIASES:
        return _SPLIT_ALIASES[key]
    key = _ALIASES.get(key, key)
    if key not in _TV_DATASETS and key not in ("imagefolder", "npz"):
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {list_datasets()}")
    return key, None


def _not_found_message(key: str, root: Path, extra: str = "") -> str:
    spec = _TV_DATASETS[key]
    msg = (
        f"{key} not found under {root} (looked for {root / spec.folder}). This machine may have no internet: "
        f"download {spec.download.replace('ROOT', str(root))}. Then pass the folder that contains "
        f"'{spec.folder.split('/')[0]}' as the data root. With internet access, pass download=True (--download)."
    )
    if key == "cifar10":
        msg += " An .npz of uint8 NHWC images 'x' and int64 labels 'y' works too (e.g. shared/data/cifar10_train.npz)."
    return msg + extra


def _unverified(cls: Any) -> Any:
    """A subclass of a torchvision dataset class that checks that its files exist, not their MD5s."""

    class _Unverified(cls):  # type: ignore[misc, valid-type]
        def _check_integrity(self) -> bool:
            if hasattr(self, "_file_dict"):  # Flowers102
                base = self._base_folder
                return self._images_folder.is_dir() and all(
                    (base / self._file_dict[k][0]).is_file() for k in ("label", "setid")
                )
            files = [f for f, _ in list(getattr(self, "train_list", [])) + list(getattr(self, "test_list", []))]
            base = os.path.join(self.root, self.base_folder)
            return all(os.path.isfile(os.path.join(base, f)) for f in files)

        def _load_meta(self) -> None:  # CIFAR only
            path = os.path.join(self.root, self.base_folder, self.meta["filename"])
            if not os.path.isfile(path):
                raise RuntimeError(f"Dataset metadata file {path} not found")
            with open(path, "rb") as f:
                data = pickle.load(f, encoding="latin1")
            self.classes = data[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    _Unverified.__name__ = cls.__name__
    return _Unverified


def _tv_split(key: str, root: Path, split: str, download: bool, verify: bool) -> Tuple[Tensor, Optional[Tensor], Optional[List[str]], Any]:
    tv = _import_torchvision()
    spec = _TV_DATASETS[key]
    cls = getattr(tv.datasets, spec.cls)
    if not verify and key in ("cifar10", "cifar100", "stl10", "flowers102"):
        cls = _unverified(cls)
    if key in ("cifar10", "cifar100", "mnist", "fashion-mnist"):
        kwargs: Dict[str, Any] = {"train": split == "train"}
    else:
        kwargs = {"split": split}
    ds = cls(str(root), download=download, **kwargs)
    classes = list(getattr(ds, "classes", []) or []) or None
    if key in ("cifar10", "cifar100"):
        images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
        labels: Optional[Tensor] = torch.as_tensor(np.asarray(ds.targets, dtype=np.int64))
    elif key == "stl10":
        images = torch.from_numpy(np.ascontiguousarray(ds.data))  # (N, 3, 96, 96), rows already upright
        labels = None if split == "unlabeled" else torch.as_tensor(np.asarray(ds.labels, dtype=np.int64))
    elif key in ("mnist", "fashion-mnist"):
        images = ds.data.to(torch.uint8).unsqueeze(1).contiguous()
        labels = ds.targets.to(torch.int64)
    else:  # flowers102: files
        images = None
        labels = torch.as_tensor(np.asarray(ds._labels, dtype=np.int64))
    return images, labels, classes, ds


def load_torchvision_dataset(
    dataset: str,
    root: PathLike,
    split: Optional[str] = None,
    *,
    resolution: Optional[int] = None,
    download: bool = False,
    verify: bool = True,
    crop: str = "center",
) -> ImageDataset:
    """Loads a torchvision dataset into memory as one ``uint8`` tensor.

    Args:
        dataset: ``"cifar10"``, ``"cifar100"``, ``"stl10"``, ``"stl10-unlabeled"``, ``"mnist"``,
            ``"fashion-mnist"`` or ``"flowers102"``.
        root: the folder holding (or receiving) the dataset's files, as for torchvision.
        split: a split name or several joined by ``+`` (e.g. ``"train+test"``). Defaults: ``"train"``;
            STL-10 ``"train+test"`` (the 13K labelled images used by GAN papers; ``"unlabeled"`` is
            the 100K set); Flowers102 ``"train+val+test"`` (all 8,189 images). A set containing an
            unlabelled split is returned without labels.
        resolution: resize (after a centre crop) to this size; required for Flowers102 (images of
            varying size); None keeps the native size.
        download: let torchvision download (and checksum) missing files.
        verify: check the MD5 of the files on every load (torchvision's default). ``False`` only checks
            that the files exist, which accepts modified or subset copies in the same format.
        crop: see :func:`resize_images`.

    Returns:
        an :class:`ImageDataset` on the CPU.

    Raises:
        DatasetNotFoundError: the files are not there (and could not be downloaded); the message
            says what to download and where to put it.

    Example::

        >>> ds = load_torchvision_dataset("cifar10", "~/data", resolution=32)  # doctest: +SKIP
    """
    key, implied_split = _canonical_name(dataset)
    if key not in _TV_DATASETS:
        raise ValueError(f"{dataset!r} is not a torchvision dataset; expected one of {sorted(_TV_DATASETS)}")
    spec = _TV_DATASETS[key]
    split = split or implied_split or spec.default_split
    parts = [p.strip().lower() for p in split.split("+") if p.strip()]
    bad = [p for p in parts if p not in spec.splits]
    if not parts or bad:
        raise ValueError(f"unknown split {split!r} for {key}; expected one or more of {spec.splits} joined by '+'")
    root = Path(os.path.expanduser(str(root)))
    if not (root / spec.folder).exists() and not download:
        raise DatasetNotFoundError(_not_found_message(key, root))
    if key == "flowers102" and resolution is None:
        raise ValueError("flowers102 images vary in size; pass resolution (e.g. 64 or 96)")

    images_list: List[Tensor] = []
    labels_list: List[Optional[Tensor]] = []
    classes: Optional[List[str]] = None
    for part in parts:
        try:
            images, labels, classes_part, ds = _tv_split(key, root, part, download, verify)
        except ImportError:
            raise
        except Exception as e:
            if not (root / spec.folder).exists():
                raise DatasetNotFoundError(_not_found_message(key, root, f" (download failed: {e})")) from e
            hint = (
                " If this is a modified or subset copy in the same format, pass verify=False (--no-verify-data)."
                if key in ("cifar10", "cifar100", "stl10", "flowers102")
                else ""
            )
            raise DatasetNotFoundError(
                f"{key} under {root / spec.folder} could not be loaded: {e}. The files are missing, truncated or do not "
                f"match the official checksums; re-download {spec.download.replace('ROOT', str(root))}.{hint}"
            ) from e
        if images is None:  # file-based (flowers102)
            images, kept = _decode_files([str(p) for p in ds._image_files], resolution, 3, crop, str(root / spec.folder))
            labels = labels[kept] if labels is not None else None
        elif resolution is not None:
            images = resize_images(images, resolution, crop=crop)
        images_list.append(images)
        labels_list.append(labels)
        classes = classes or classes_part
    x = torch.cat(images_list) if len(images_list) > 1 else images_list[0]
    if any(lab is None for lab in labels_list):
        y: Optional[Tensor] = None
        classes = None
    else:
        y = torch.cat([lab for lab in labels_list if lab is not None])
    return ImageDataset(x, y, classes if y is not None else None, f"{key}[{'+'.join(parts)}]")


# --------------------------------------------------------------------------------------------
# Image folders
# --------------------------------------------------------------------------------------------
_IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _decode_files(
    paths: Sequence[str], resolution: Optional[int], channels: int, crop: str, where: str
) -> Tuple[Tensor, Tensor]:
    """Decodes image files with Pillow into one uint8 tensor (one pass; then the same crop and
    antialiased resize as :func:`resize_images`, image by image).

    Files Pillow cannot decode (truncated, corrupt, not an image) are skipped with one warning that
    names them and their count; if none can be decoded, ``ValueError``. Returns the images and the
    int64 indices into ``paths`` of the decoded files (to select their labels).
    """
    Image = _import_pil()
    mode = "RGB" if channels == 3 else "L"
    out: Optional[Tensor] = None
    first: Optional[Tuple[str, Tuple[int, int]]] = None
    kept: List[int] = []
    skipped: List[str] = []
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as im:
                arr = np.array(im.convert(mode), dtype=np.uint8)
        except (OSError, SyntaxError, ValueError, EOFError) as e:  # PIL.UnidentifiedImageError is an OSError
            skipped.append(f"{p} ({type(e).__name__}: {e})")
            continue
        if arr.ndim == 2:
            arr = arr[:, :, None]
        x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
        if resolution is None:
            size = (arr.shape[1], arr.shape[0])
            if first is None:
                first = (p, size)
            elif size != first[1]:
                raise ValueError(
                    f"images differ in size ({first[0]}: {first[1][0]}x{first[1][1]}, {p}: {size[0]}x{size[1]}); "
                    f"pass resolution"
                )
        else:
            x = resize_images(x, resolution, crop=crop)
        if out is None:
            out = torch.empty(len(paths), channels, x.shape[2], x.shape[3], dtype=torch.uint8)
        out[len(kept)] = x[0]
        kept.append(i)
    if out is None:
        detail = f": {'; '.join(skipped[:3])}" + (f"; ... ({len(skipped) - 3} more)" if len(skipped) > 3 else "")
        raise ValueError(f"none of the {len(paths)} image files under {where} could be decoded{detail}")
    if skipped:
        shown = "; ".join(skipped[:20]) + (f"; ... and {len(skipped) - 20} more" if len(skipped) > 20 else "")
        warnings.warn(
            f"skipped {len(skipped)} of {len(paths)} image files under {where} that could not be decoded "
            f"(truncated or not images); training uses the other {len(kept)}: {shown}",
            UserWarning,
            stacklevel=3,
        )
        out = out[: len(kept)].clone()
    return out, torch.tensor(kept, dtype=torch.int64)


def load_image_folder(
    root: PathLike,
    *,
    resolution: Optional[int] = None,
    channels: int = 3,
    crop: str = "center",
    labeled: Optional[bool] = None,
) -> ImageDataset:
    """Loads a folder of images into memory.

    Two layouts: one sub-folder per class (``root/<class>/<image>``, the
    ``torchvision.datasets.ImageFolder`` layout, e.g. AnimeFace or a user set) -> labelled, classes
    sorted by name; or images directly in ``root`` -> unlabelled. Images are decoded once with
    Pillow, converted to RGB (or L), centre-cropped and resized (antialiased bilinear), all here at
    load time, so an unreadable file cannot stop a training run later.

    Unreadable files (truncated, corrupt, or not an image despite the extension) are skipped: one
    ``UserWarning`` names every skipped file and gives their count; the dataset holds the others
    (with their labels). If no file can be decoded, ``ValueError``.

    Args:
        root: the folder.
        resolution: output size; None requires all images to have the same size.
        channels: 3 (RGB) or 1 (grayscale).
        crop: ``"center"`` or ``"none"``.
        labeled: force the layout (None: class sub-folders if there are any).

    Returns:
        an :class:`ImageDataset` on the CPU.

    Raises:
        DatasetNotFoundError: the folder does not exist or holds no image files.
        ValueError: none of the image files can be decoded, or sizes differ without ``resolution``.

    Example::

        >>> ds = load_image_folder("animeface/", resolution=96)  # doctest: +SKIP
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    root = Path(os.path.expanduser(str(root)))
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist")
    subdirs = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    use_classes = bool(subdirs) if labeled is None else labeled
    paths: List[str] = []
    labels: List[int] = []
    if use_classes:
        if not subdirs:
            raise ValueError(f"{root} has no class sub-folders")
        for ci, c in enumerate(subdirs):
            for dirpath, _, files in sorted(os.walk(root / c, followlinks=True)):
                for fn in sorted(files):
                    if fn.lower().endswith(_IMG_EXTENSIONS):
                        paths.append(os.path.join(dirpath, fn))
                        labels.append(ci)
        classes: Optional[List[str]] = subdirs
    else:
        for dirpath, _, files in sorted(os.walk(root, followlinks=True)):
            for fn in sorted(files):
                if fn.lower().endswith(_IMG_EXTENSIONS):
                    paths.append(os.path.join(dirpath, fn))
        classes = None
    if not paths:
        raise DatasetNotFoundError(f"no image files ({', '.join(_IMG_EXTENSIONS)}) found under {root}")
    images, kept = _decode_files(paths, resolution, channels, crop, str(root))
    y = torch.tensor(labels, dtype=torch.int64)[kept] if use_classes else None
    return ImageDataset(images, y, classes, root.name or str(root))


# --------------------------------------------------------------------------------------------
# One entry point
# --------------------------------------------------------------------------------------------
def _detect(root: Path) -> Tuple[str, Path]:
    """Guesses the dataset kind of a folder: a torchvision root, a torchvision dataset folder, or an image folder."""
    for key, spec in _TV_DATASETS.items():
        if (root / spec.folder).exists():
            return key, root
        top = spec.folder.split("/")[0]
        if root.name == top:  # e.g. the user passed .../cifar-10-batches-py
            return key, root.parent
        if "/" in spec.folder and root.name == spec.folder.split("/")[-1] and root.parent.name == top:
            return key, root.parent.parent
    return "imagefolder", root


def load_dataset(
    source: PathLike,
    dataset: Optional[str] = None,
    *,
    split: Optional[str] = None,
    resolution: Optional[int] = None,
    channels: Optional[int] = None,
    download: bool = False,
    verify: bool = True,
    crop: str = "center",
    labeled: Optional[bool] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> ImageDataset:
    """Loads any supported dataset into memory, at the model's resolution and channel count.

    Args:
        source: an ``.npz`` file; a torchvision root folder (the folder containing
            ``cifar-10-batches-py``, ``stl10_binary``, ``MNIST``, ...) or that dataset folder itself;
            or an image folder.
        dataset: the dataset name (see :func:`list_datasets`); None detects it from ``source``. Needed
            only to download into an empty root, or to pick a torchvision dataset explicitly.
        split: see :func:`load_torchvision_dataset`.
        resolution: output side length (centre crop + antialiased bilinear resize); None keeps the size.
        channels: 1 or 3 (grayscale <-> RGB conversion); None keeps the data's channels.
        download: allow torchvision to download missing files.
        verify: check torchvision's MD5s (``False``: existence only).
        crop: ``"center"`` or ``"none"``.
        labeled: ``False`` drops labels; for image folders see :func:`load_image_folder`.
        device: move the result to this device.

    Returns:
        an :class:`ImageDataset`.

    Raises:
        DatasetNotFoundError: missing data, with download instructions.

    Example::

        >>> ds = load_dataset("/work/shared/data/mnist_train.npz", resolution=32, channels=3)  # doctest: +SKIP
        >>> ds.images.shape  # doctest: +SKIP
        torch.Size([60000, 3, 32, 32])
    """
    src = Path(os.path.expanduser(str(source)))
    key: Optional[str] = None
    if dataset is not None:
        key, implied = _canonical_name(dataset)
        split = split or implied
        if key != "npz" and key != "imagefolder" and str(dataset).lower() in _SPLIT_ALIASES:
            dataset = key
    if key == "npz" or src.suffix.lower() == ".npz":  # an .npz file is an .npz whatever the dataset name
        ds = load_npz(src)
        if resolution is not None:
            ds = ds.resized(resolution, crop=crop)
    elif key is None and not src.exists():
        raise DatasetNotFoundError(
            f"{src} does not exist. Pass an .npz file (uint8 NHWC 'x', int64 'y'), a torchvision dataset root "
            f"(e.g. the folder containing cifar-10-batches-py) or an image folder; or name the dataset "
            f"(one of {list_datasets()}) and allow the download."
        )
    else:
        if key is None:
            key, src = _detect(src)
        elif key in _TV_DATASETS and src.exists():
            detected_key, detected_root = _detect(src)  # accept the dataset's own folder as well as its root
            if detected_key == key:
                src = detected_root
        if key == "imagefolder":
            ds = load_image_folder(src, resolution=resolution, channels=channels or 3, crop=crop, labeled=labeled)
        else:
            ds = load_torchvision_dataset(
                key, src, split, resolution=resolution, download=download, verify=verify, crop=crop
            )
    if channels is not None:
        ds = ds.with_channels(channels)
    if labeled is False and ds.labels is not None:
        ds = ds.unlabeled()
    if device is not None:
        ds = ds.to(device)
    return ds


# --------------------------------------------------------------------------------------------
# The batch stream
# --------------------------------------------------------------------------------------------
def _epoch_seed(seed: int, epoch: int) -> int:
    # A fixed mixing of (seed, epoch) into a 63-bit seed: the permutation of an epoch is a pure
    # function of the two, so the stream's state is just (epoch, position).
    return (int(seed) * 0x9E3779B97F4A7C15 + int(epoch) * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % (2**63)


class InMemoryLoader:
    """Shuffled batches from an :class:`ImageDataset`, drawn by index tensors.

    Each epoch is a random permutation of the dataset (a pure function of ``seed`` and the epoch
    number); batches are consecutive slices of the concatenated permutations, so a batch may span two
    epochs and no image is dropped. Drawing a batch is one ``index_select`` on the device holding the
    images -- no Python loop over images, no host-device synchronisation (the permutation is made on
    the CPU once per epoch and copied to the device).

    Distributed training: every rank runs the same global stream of ``batch_size * world_size``
    indices and keeps its own contiguous slice (the in-memory analogue of ``DistributedSampler``),
    so ranks see disjoint images and the state is the same on every rank.

    Args:
        dataset: the images (on any device).
        batch_size: images per batch on this rank.
        device: where batches are returned; None: the dataset's device. When the dataset is on the
            CPU and ``device`` is CUDA, batches are gathered on the CPU and copied asynchronously
            from pinned memory (use :meth:`ImageDataset.to` first to keep everything on the GPU).
        seed: shuffling seed.
        rank, world_size: the process's slot in distributed training.
        shuffle: ``False`` streams the images in order (for evaluation).

    Example::

        >>> ds = ImageDataset(torch.zeros(100, 3, 8, 8, dtype=torch.uint8), torch.arange(100) % 10)
        >>> loader = InMemoryLoader(ds, batch_size=16, seed=0)
        >>> x, y = loader.next_batch()
        >>> x.shape, x.dtype, y.shape
        (torch.Size([16, 3, 8, 8]), torch.uint8, torch.Size([16]))
    """

    def __init__(
        self,
        dataset: ImageDataset,
        batch_size: int,
        *,
        device: Optional[Union[str, torch.device]] = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else dataset.device
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0
        self.position = 0  # into the current epoch's permutation (global stream)
        self._perm: Optional[Tensor] = None
        self._perm_epoch = -1

    def __len__(self) -> int:
        """Batches per epoch (rounded up)."""
        return math.ceil(len(self.dataset) / (self.batch_size * self.world_size))

    def _permutation(self, epoch: int) -> Tensor:
        if self._perm_epoch != epoch or self._perm is None:
            n = len(self.dataset)
            if self.shuffle:
                g = torch.Generator().manual_seed(_epoch_seed(self.seed, epoch))
                perm = torch.randperm(n, generator=g)
            else:
                perm = torch.arange(n)
            self._perm = perm.to(self.dataset.device, non_blocking=True)
            self._perm_epoch = epoch
        return self._perm

    def next_indices(self) -> Tensor:
        """Indices (into the dataset, on the dataset's device) of this rank's next batch."""
        n = len(self.dataset)
        total = self.batch_size * self.world_size
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        if self.position + total <= n:  # the common case: one slice
            idx = self._permutation(self.epoch)[self.position + lo : self.position + hi]
            self.position += total
            if self.position == n:
                self.epoch, self.position = self.epoch + 1, 0
            return idx
        pieces: List[Tensor] = []
        need = total
        while need > 0:
            take = min(need, n - self.position)
            pieces.append(self._permutation(self.epoch)[self.position : self.position + take])
            need -= take
            self.position += take
            if self.position == n:
                self.epoch, self.position = self.epoch + 1, 0
        return torch.cat(pieces)[lo:hi]

    def next_batch(self) -> Tuple[Tensor, Optional[Tensor]]:
        """Returns this rank's next ``(images uint8 (B, C, H, W), labels int64 (B,) or None)`` on :attr:`device`."""
        idx = self.next_indices()
        x = self.dataset.images.index_select(0, idx)
        y = self.dataset.labels.index_select(0, idx) if self.dataset.labels is not None else None
        if x.device != self.device:
            if self.device.type == "cuda":
                x = x.pin_memory()
                y = y.pin_memory() if y is not None else None
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True) if y is not None else None
        return x, y

    def __iter__(self) -> Iterator[Tuple[Tensor, Optional[Tensor]]]:
        while True:
            yield self.next_batch()

    def state_dict(self) -> Dict[str, Any]:
        """The stream position (plain ints), for checkpoints."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "seed": self.seed,
            "num_images": len(self.dataset),
            "global_batch_size": self.batch_size * self.world_size,
            "shuffle": self.shuffle,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores :meth:`state_dict`; the dataset size must match."""
        if int(state["num_images"]) != len(self.dataset):
            raise ValueError(
                f"data stream state is for a dataset of {state['num_images']} images, this one has {len(self.dataset)}"
            )
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self.seed = int(state["seed"])
        self.shuffle = bool(state.get("shuffle", True))
        if not 0 <= self.position < len(self.dataset):
            raise ValueError(f"data stream position {self.position} out of range")
        self._perm, self._perm_epoch = None, -1
