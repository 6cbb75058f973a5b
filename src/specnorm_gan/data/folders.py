"""Folders of image files (one sub-folder per class, or flat), decoded once with Pillow."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .common import DatasetNotFoundError, PathLike, _import_pil
from .dataset import ImageDataset
from .transforms import resize_images

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
