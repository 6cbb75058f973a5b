"""The in-memory dataset (:class:`ImageDataset`, one ``uint8`` tensor) and the label check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Union

import torch
from torch import Tensor

from .transforms import convert_channels, resize_images


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
