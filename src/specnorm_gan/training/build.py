"""What a run is made of: the models from the config, the training device, the optimizers."""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Tuple

import torch
from torch import nn

from ..data import ImageDataset, validate_labels
from .config import TrainConfig

__all__ = ["build_models"]

logger = logging.getLogger("specnorm_gan.training")


def build_models(config: TrainConfig) -> Tuple[nn.Module, nn.Module, Any]:
    """Builds ``(G, D, hparams)`` for a config with ``specnorm_gan.build_gan``.

    Seeds torch's global generator with ``config.seed`` first, so initial weights are reproducible.

    Example::

        >>> G, D, hp = build_models(TrainConfig(preset="cifar10-resnet", width=0.125))  # doctest: +SKIP
    """
    from .. import presets  # the models developer's module

    torch.manual_seed(config.seed)
    kwargs: Dict[str, Any] = dict(config.model_kwargs)
    for name in ("arch", "resolution", "num_classes", "in_channels", "z_dim"):
        value = getattr(config, name)
        if value is not None:
            kwargs[name] = value
    spec = presets.build_gan(config.preset, width=config.width, **kwargs)
    return spec.G, spec.D, spec.hparams



def _model_device(config: TrainConfig) -> torch.device:
    if config.device == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local)
        return torch.device("cpu")
    try:
        device = torch.device(config.device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N', ..., got {config.device!r} ({e})") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {config.device!r}: no CUDA device is available on this machine; "
                             f"available: {_available_devices()} (use device='cpu' or 'auto')")
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {config.device!r}: this machine has {count} CUDA device(s); "
                             f"available: {_available_devices()}")
    return device


def _available_devices() -> str:
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return ", ".join(names)


def _make_optimizer(
    params: Any, kind: str, lr: float, betas: Tuple[float, float], momentum: float, impl: str
) -> torch.optim.Optimizer:
    """Adam, RMSprop or SGD with the fused (else foreach) kernels when ``impl`` allows."""
    cls: Any
    if kind == "adam":
        cls, kw = torch.optim.Adam, {"lr": lr, "betas": tuple(betas)}
    elif kind == "rmsprop":
        cls, kw = torch.optim.RMSprop, {"lr": lr}
    else:
        cls, kw = torch.optim.SGD, {"lr": lr, "momentum": momentum}
    params = list(params)
    if impl in ("auto", "fused"):
        try:
            return cls(params, fused=True, **kw)
        except (RuntimeError, TypeError, ValueError):
            if impl == "fused":
                raise
    if impl in ("auto", "foreach"):
        return cls(params, foreach=True, **kw)
    return cls(params, foreach=False, **kw)


def _maybe_to_device(data: ImageDataset, device: torch.device) -> ImageDataset:
    """Moves the dataset to ``device`` when it fits comfortably (CUDA: under half the free memory)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if data.images.numel() > free // 2:
            logger.warning(
                "dataset %s (%.1f GiB) kept in host memory: batches are gathered on the CPU and copied to the GPU",
                data.name,
                data.images.numel() / 2**30,
            )
            return data
    return data.to(device)



def _check_models_and_data(G: nn.Module, D: nn.Module, data: ImageDataset) -> int:
    """Checks that G, D and the data agree on classes, resolution and channels; returns the number of classes."""
    num_classes = int(getattr(G, "num_classes", 0) or 0)
    d_classes = int(getattr(D, "num_classes", num_classes) or 0)
    if d_classes != num_classes:
        raise ValueError(f"G is conditional on {num_classes} classes but D on {d_classes}")
    if num_classes:
        if data.num_classes == 0:
            raise ValueError(
                f"the model is conditional ({num_classes} classes) but dataset {data.name!r} has no labels; "
                f"train unconditionally (num_classes=0) or use a labelled dataset"
            )
        if data.num_classes != num_classes:
            detail = ""
            try:
                validate_labels(data.labels, num_classes, f"dataset {data.name!r}")
            except ValueError as err:
                detail = f"; {err}"
            raise ValueError(
                f"the model is conditional on {num_classes} classes but dataset {data.name!r} has {data.num_classes}{detail}"
            )
        validate_labels(data.labels, num_classes, f"dataset {data.name!r}")
    res = getattr(G, "resolution", None)
    if res is not None and (data.images.shape[2] != res or data.images.shape[3] != res):
        raise ValueError(
            f"dataset {data.name!r} has {tuple(data.images.shape[2:])} images but the model makes {res}x{res}; "
            f"load it with resolution={res}"
        )
    ch = getattr(G, "out_channels", None)
    if ch is not None and data.channels != ch:
        raise ValueError(f"dataset {data.name!r} has {data.channels} channels but the model has {ch}; load it with channels={ch}")
    return num_classes
