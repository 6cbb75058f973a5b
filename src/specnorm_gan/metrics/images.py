"""Images and labels in the forms the metrics read: ``uint8`` RGB exactly as PNG files would hold them.

Every image that reaches a feature extractor, generated or real, goes through :func:`to_uint8`, so evaluating in
memory gives the numbers that evaluating saved PNG files gives.
"""

from __future__ import annotations

import warnings
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

__all__ = ["to_uint8"]

_RANGE_TOL = 1e-3  # float images may exceed [-1, 1] by this much (rounding) before it is an error


def _as_labels(labels: Any) -> Tensor:
    if isinstance(labels, Tensor):
        return labels.detach().cpu().long().flatten()
    return torch.as_tensor(np.asarray(labels)).long().flatten()


def to_uint8(images: Tensor, *, what: str = "images") -> Tensor:
    """Convert a batch of images to ``uint8`` RGB, exactly as they would be written to PNG.

    Float images must lie in ``[-1, 1]`` (the generator's ``tanh`` range); they are mapped with the same
    operations as ``torchvision.utils.save_image(x, normalize=True, value_range=(-1, 1))``, i.e.
    ``floor((x + 1) / 2 * 255 + 0.5)``, so evaluating in memory gives the same numbers as evaluating PNG files.
    ``uint8`` images pass through. One-channel images are repeated to three channels (as ``PIL.convert("RGB")``).

    Args:
        images: ``(N, C, H, W)`` with ``C`` in ``{1, 3}``: float in ``[-1, 1]`` or ``uint8`` in ``[0, 255]``.
        what: How to call the images in error messages.

    Returns:
        ``(N, 3, H, W)`` ``uint8`` tensor on the same device.

    Raises:
        ValueError: wrong shape, non-finite values, or float values outside ``[-1, 1]``.
        TypeError: an integer dtype other than ``uint8``.

    Shape:
        - images: :math:`(N, C, H, W)`, :math:`C \\in \\{1, 3\\}`
        - output: :math:`(N, 3, H, W)`

    Example:
        >>> to_uint8(torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3))[0, :, 0]
        tensor([[  0, 128, 255],
                [  0, 128, 255],
                [  0, 128, 255]], dtype=torch.uint8)
    """
    if not isinstance(images, Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{what} must have shape (N, C, H, W) with C in {{1, 3}}, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        out = images
    elif images.is_floating_point():
        if not bool(torch.isfinite(images).all()):
            raise ValueError(f"{what} contain NaN or inf values")
        lo, hi = float(images.min()), float(images.max())
        if lo < -1.0 - _RANGE_TOL or hi > 1.0 + _RANGE_TOL:
            raise ValueError(
                f"{what} have values in [{lo:.4g}, {hi:.4g}]; expected float images in [-1, 1] (tanh output) "
                "or uint8 images in [0, 255]. Rescale [0, 1] images with x * 2 - 1."
            )
        # same op sequence as torchvision.utils.make_grid(normalize=True, value_range=(-1, 1)) + save_image
        x = images.float().clamp(-1.0, 1.0)
        x = (x + 1.0) / 2.0
        out = x.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    else:
        raise TypeError(f"{what} must be float in [-1, 1] or uint8 in [0, 255], got dtype {images.dtype}")
    if out.shape[1] == 1:
        out = out.expand(-1, 3, -1, -1)
    return out.contiguous()


def _check_not_unit_range(images: Tensor, what: str, *, error: bool) -> None:
    """Float images that are all >= 0 are almost surely [0, 1] images mistaken for [-1, 1] ones."""
    if images.is_floating_point() and images.numel() > 0 and float(images.min()) >= 0.0:
        msg = (
            f"{what} are float with every value in [0, {float(images.max()):.4g}]: this looks like [0, 1] images, "
            "but float images are read as [-1, 1] (tanh range). Rescale with x * 2 - 1, or pass uint8 images."
        )
        if error:
            raise ValueError(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)


def _array_to_nchw(x: Union[Tensor, np.ndarray], what: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} must be a Tensor or numpy array, got {type(x).__name__}")
    if x.dim() == 3:  # (N, H, W) grayscale
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"{what} must have shape (N, C, H, W) or (N, H, W, C), got {tuple(x.shape)}")
    if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{what} must have 1 or 3 channels (NCHW or NHWC), got shape {tuple(x.shape)}")
    return x


def _item_to_chw(img: Any, what: str) -> Tensor:
    """One dataset image (tensor CHW, ndarray HWC, or PIL image) as a CHW tensor."""
    if isinstance(img, Tensor):
        t = img
        if t.dim() == 2:
            t = t.unsqueeze(0)
        if t.dim() == 3 and t.shape[0] not in (1, 3) and t.shape[-1] in (1, 3):
            t = t.permute(2, 0, 1)
        return t
    if isinstance(img, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(img))
        if t.dim() == 2:
            return t.unsqueeze(0)
        return t.permute(2, 0, 1) if t.shape[-1] in (1, 3) else t
    if hasattr(img, "convert") and hasattr(img, "size"):  # PIL image
        arr = np.asarray(img.convert("RGB"))
        return torch.from_numpy(arr.copy()).permute(2, 0, 1)
    raise TypeError(
        f"{what}: dataset items must be images (Tensor CHW, ndarray HWC, PIL) or (image, label) tuples, "
        f"got {type(img).__name__}"
    )


def _collate_images(items: List[Any]) -> Tuple[Tensor, Optional[Tensor]]:
    imgs, labels = [], []
    for it in items:
        if isinstance(it, (tuple, list)):
            imgs.append(_item_to_chw(it[0], "reference dataset"))
            labels.append(int(it[1]) if len(it) > 1 else -1)
        else:
            imgs.append(_item_to_chw(it, "reference dataset"))
            labels.append(-1)
    y = torch.tensor(labels, dtype=torch.long)
    return torch.stack(imgs), (None if bool((y < 0).any()) else y)
