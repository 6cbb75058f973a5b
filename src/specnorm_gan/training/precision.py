"""Numeric precision and speed settings of the steps: autocast, fp16 loss scaling, memory format,
``torch.compile`` and CUDA graphs (``compile_mode="reduce-overhead"``)."""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable, Optional, Tuple

import torch
from torch import Tensor

logger = logging.getLogger("specnorm_gan.training")

_AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


class Precision:
    """Autocast dtype, loss scaling and memory format of a run (``TrainConfig.amp`` / ``channels_last``).

    Spectral norm stays float32 under autocast: :mod:`specnorm_gan.layers` runs the power
    iteration and sigma with autocast disabled, in at least float32. ``amp="fp16"`` also needs
    loss scaling: :meth:`grad_scaler` makes one ``torch.amp.GradScaler`` per optimizer.

    Args:
        amp: ``"none"``, ``"bf16"`` or ``"fp16"``.
        channels_last: models and batches in ``torch.channels_last``.
        device_type: ``"cpu"``, ``"cuda"``, ... (the autocast device).
        cudagraphs: the step functions are compiled with ``mode="reduce-overhead"``.

    Raises:
        ValueError: ``amp="fp16"`` on a device without float16 autocast or GradScaler support.

    Example::

        >>> p = Precision("bf16", channels_last=False, device_type="cpu")
        >>> with p.autocast():
        ...     y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
        >>> y.dtype, p.memory_format
        (torch.bfloat16, torch.contiguous_format)
    """

    def __init__(self, amp: str, channels_last: bool, device_type: str, cudagraphs: bool = False) -> None:
        self.amp = amp
        self.channels_last = bool(channels_last)
        self.device_type = device_type
        self.dtype: Optional[torch.dtype] = _AMP_DTYPES[amp]
        self.cudagraphs = bool(cudagraphs) and device_type == "cuda"
        if amp == "fp16":
            _check_fp16(device_type)

    @property
    def memory_format(self) -> torch.memory_format:
        """``torch.channels_last`` or ``torch.contiguous_format``."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def scales_loss(self) -> bool:
        """Whether the losses are scaled (``amp="fp16"``)."""
        return self.amp == "fp16"

    def autocast(self) -> Any:
        """A ``torch.autocast`` context for the run's dtype (a no-op context without amp)."""
        if self.dtype is None:
            return _nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> Optional[torch.amp.GradScaler]:
        """A new ``GradScaler`` for one optimizer (fp16), else None."""
        return torch.amp.GradScaler(self.device_type) if self.scales_loss else None

    def step_begin(self) -> None:
        """Marks a new training step for CUDA-graph trees (a no-op without CUDA graphs)."""
        if self.cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()

    def own(self, t: Tensor) -> Tensor:
        """``t``, copied out of CUDA-graph memory when graphs are on (the next replay overwrites outputs)."""
        return t.clone() if self.cudagraphs else t


def _check_fp16(device_type: str) -> None:
    try:
        with torch.autocast(device_type, dtype=torch.float16):
            pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GradScaler warns and disables itself where it cannot run
            enabled = torch.amp.GradScaler(device_type).is_enabled()
        if not enabled:
            raise RuntimeError("GradScaler is disabled there")
    except (RuntimeError, ValueError, TypeError, AssertionError) as e:
        raise ValueError(
            f"amp='fp16' needs float16 autocast and torch.amp.GradScaler on the {device_type!r} device, which this torch "
            f"({torch.__version__}) does not provide ({e}); use amp='bf16' or amp='none'"
        ) from None


def _warn_if_scaler_syncs(optimizer: torch.optim.Optimizer, name: str) -> None:
    """GradScaler reads the overflow flag on the host unless the optimizer takes it on the device (fused kernels)."""
    if not getattr(optimizer, "_step_supports_amp_scaling", False):
        logger.warning(
            "amp fp16: the %s optimizer (%s, not fused) makes GradScaler read its overflow check on the host every step "
            "(one device synchronisation per step); fused Adam or SGD (optimizer_impl='auto' or 'fused') avoid it",
            name, type(optimizer).__name__,
        )


def _skipped_step(scaler: torch.amp.GradScaler, counter: Tensor) -> None:
    """``scaler.update()``, adding 1 to ``counter`` on the device when the scale backed off (a skipped step)."""
    before = scaler._get_scale_async()
    before = before.clone() if before is not None else None
    scaler.update()
    after = scaler._get_scale_async()
    if before is not None and after is not None:
        counter.add_((after < before).to(counter.dtype))


def _compiled(d_fn: Callable, g_fn: Callable, enabled: bool, mode: Optional[str]) -> Tuple[Callable, Callable]:
    """The D and G step functions, through ``torch.compile`` when ``enabled``."""
    if not enabled:
        return d_fn, g_fn
    kw = {"mode": mode} if mode else {}
    return torch.compile(d_fn, **kw), torch.compile(g_fn, **kw)
