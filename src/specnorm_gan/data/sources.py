"""One entry point for every source: an ``.npz`` file, a torchvision root or an image folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple, Union

import torch

from .common import DatasetNotFoundError, PathLike
from .dataset import ImageDataset
from .folders import load_image_folder
from .npz import load_npz
from .tv_datasets import _SPLIT_ALIASES, _TV_DATASETS, _canonical_name, list_datasets, load_torchvision_dataset


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
