"""Pixel-level helpers on ``uint8`` image tensors: resize, channel conversion, ``[-1, 1]`` floats and back."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


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
