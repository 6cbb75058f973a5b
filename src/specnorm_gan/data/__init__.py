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

One job a module: :mod:`~specnorm_gan.data.dataset` (:class:`ImageDataset`, :func:`validate_labels`),
:mod:`~specnorm_gan.data.transforms` (resize, channels, float/uint8), :mod:`~specnorm_gan.data.npz`,
:mod:`~specnorm_gan.data.tv_datasets` (torchvision), :mod:`~specnorm_gan.data.folders` (image folders),
:mod:`~specnorm_gan.data.sources` (:func:`load_dataset`), :mod:`~specnorm_gan.data.loader`
(:class:`InMemoryLoader`) and :mod:`~specnorm_gan.data.common` (the error and optional imports).
Import everything from ``specnorm_gan.data``.
"""

from __future__ import annotations

from .._moved import moved_names_getattr
from .common import DatasetNotFoundError
from .dataset import ImageDataset, validate_labels
from .folders import load_image_folder
from .loader import InMemoryLoader
from .npz import load_npz, save_npz
from .sources import load_dataset
from .transforms import convert_channels, resize_images, to_float_images, to_uint8_images
from .tv_datasets import list_datasets, load_torchvision_dataset

__all__ = [  # in the order of the API page
    "DatasetNotFoundError",
    "ImageDataset",
    "validate_labels",
    "resize_images",
    "convert_channels",
    "to_float_images",
    "to_uint8_images",
    "load_npz",
    "save_npz",
    "list_datasets",
    "load_torchvision_dataset",
    "load_image_folder",
    "load_dataset",
    "InMemoryLoader",
]

#: Where the private names of the former single-file ``data.py`` live now; they stay readable as
#: ``specnorm_gan.data.<name>``. Code that patches one must patch it in its submodule.
__getattr__ = moved_names_getattr(
    __name__,
    {
        "common": ("PathLike", "_EXTRA_HINT", "_import_torchvision", "_import_pil"),
        "tv_datasets": (
            "_TVSpec", "_TV_DATASETS", "_ALIASES", "_SPLIT_ALIASES", "_canonical_name", "_not_found_message", "_unverified",
            "_tv_split",
        ),
        "folders": ("_IMG_EXTENSIONS", "_decode_files"),
        "sources": ("_detect",),
        "loader": ("_epoch_seed",),
    },
)
