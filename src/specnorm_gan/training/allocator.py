"""Launcher helper: re-execute with glibc allocator settings that keep large freed buffers."""

from __future__ import annotations

import os
import platform
import sys
from typing import Dict

__all__ = ["ALLOCATOR_SETTINGS", "reexec_with_allocator_settings"]

#: glibc settings the example launchers apply when the user has not set them: keep large freed
#: buffers in the heap instead of returning them to the OS after every step (on a 2-core CPU the
#: page faults of re-mapping them cost 20-30% of a step; measured-anchors.md).
ALLOCATOR_SETTINGS: Dict[str, str] = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
}
_REEXEC_MARK = "SPECNORM_GAN_ALLOCATOR_REEXEC"


def reexec_with_allocator_settings(disable: bool = False) -> str:
    """Re-executes the current Python program with :data:`ALLOCATOR_SETTINGS` when the user has not set them.

    For launcher scripts (``examples/train.py``): glibc's malloc returns large freed buffers to
    the OS and maps them again on the next step; on a small CPU the page faults cost 20-30% of a
    GAN step. The variables only take effect at process start, hence the re-exec (same pid, so it
    works under ``torchrun``). Does nothing when disabled, when either variable is already set,
    off glibc, or after the re-exec. Returns a message for the log.

    Example::

        >>> msg = reexec_with_allocator_settings(disable=True)
        >>> msg.startswith("allocator")
        True
    """
    settings = " ".join(f"{k}={v}" for k, v in ALLOCATOR_SETTINGS.items())
    if os.environ.get(_REEXEC_MARK) == "1":
        return f"allocator: re-executed with {settings} (disable with --no-allocator-tuning)"
    user = {k: os.environ[k] for k in ALLOCATOR_SETTINGS if k in os.environ}
    if user:
        return f"allocator: using the user's settings {' '.join(f'{k}={v}' for k, v in user.items())}"
    if disable:
        return "allocator: glibc defaults (tuning disabled)"
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return "allocator: not glibc, settings left alone"
    env = dict(os.environ)
    env.update(ALLOCATOR_SETTINGS)
    env[_REEXEC_MARK] = "1"
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable] + sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)
    return "unreachable"  # pragma: no cover

