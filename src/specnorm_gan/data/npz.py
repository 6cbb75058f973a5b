"""``.npz`` archives of images: ``x`` (uint8, NHWC) and ``y`` (int64), read without pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from .common import DatasetNotFoundError, PathLike
from .dataset import ImageDataset, validate_labels


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
