"""torchvision datasets (CIFAR-10/100, STL-10, MNIST, Fashion-MNIST, Flowers102) read into memory."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .common import DatasetNotFoundError, PathLike, _import_torchvision
from .dataset import ImageDataset
from .folders import _decode_files
from .transforms import resize_images


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
