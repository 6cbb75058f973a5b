"""Numeric precision and speed settings of the steps: autocast, memory format, ``torch.compile``."""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import torch

_AMP_DTYPES = {"none": None, "bf16": torch.bfloat16}


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


class Precision:
    """Autocast dtype and memory format of a run (``TrainConfig.amp`` / ``channels_last``).

    Spectral norm stays float32 under autocast: :mod:`specnorm_gan.layers` runs the power
    iteration and sigma outside it.

    Args:
        amp: ``"none"`` or ``"bf16"``.
        channels_last: models and batches in ``torch.channels_last``.
        device_type: ``"cpu"``, ``"cuda"``, ... (the autocast device).

    Example::

        >>> p = Precision("bf16", channels_last=False, device_type="cpu")
        >>> with p.autocast():
        ...     y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
        >>> y.dtype, p.memory_format
        (torch.bfloat16, torch.contiguous_format)
    """

    def __init__(self, amp: str, channels_last: bool, device_type: str) -> None:
        self.amp = amp
        self.channels_last = bool(channels_last)
        self.device_type = device_type
        self.dtype: Optional[torch.dtype] = _AMP_DTYPES[amp]

    @property
    def memory_format(self) -> torch.memory_format:
        """``torch.channels_last`` or ``torch.contiguous_format``."""
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self) -> Any:
        """A ``torch.autocast`` context for the run's dtype (a no-op context without amp)."""
        if self.dtype is None:
            return _nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)


def _compiled(d_fn: Callable, g_fn: Callable, enabled: bool, mode: Optional[str]) -> Tuple[Callable, Callable]:
    """The D and G step functions, through ``torch.compile`` when ``enabled``."""
    if not enabled:
        return d_fn, g_fn
    kw = {"mode": mode} if mode else {}
    return torch.compile(d_fn, **kw), torch.compile(g_fn, **kw)
