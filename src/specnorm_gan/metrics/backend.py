"""torch-fidelity, the optional backend of every number: its lazy import (with the install hint), versions and
where it keeps its files.

Nothing here imports torch-fidelity at module import time; :func:`_require_fidelity` is called by every
function that needs it, so ``import specnorm_gan.metrics`` works without the ``[metrics]`` extra.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Union

import torch

__all__: list = []


def _require_fidelity() -> Any:
    """Import torch-fidelity lazily, with an error that says which extra to install."""
    try:
        import torch_fidelity  # noqa: F401
        import torch_fidelity.metric_fid
        import torch_fidelity.metric_isc
        import torch_fidelity.metric_kid
        import torch_fidelity.registry
        import torch_fidelity.utils
    except ImportError as e:  # pragma: no cover - exercised through monkeypatched sys.modules in the tests
        raise ImportError(
            "specnorm_gan.metrics needs torch-fidelity (and torchvision, which it imports): "
            "install the extra with `pip install specnorm-gan[metrics]` "
            f"(import failed with: {e})"
        ) from e
    return torch_fidelity


def _fidelity_version() -> str:
    try:
        from importlib.metadata import version

        return version("torch-fidelity")
    except Exception:  # pragma: no cover
        return getattr(_require_fidelity(), "__version__", "unknown")


def _specnorm_version() -> str:
    try:
        from importlib.metadata import version

        return version("specnorm-gan")
    except Exception:  # pragma: no cover - source checkout without installation
        import specnorm_gan

        return str(getattr(specnorm_gan, "__version__", "unknown"))


def _torch_home() -> str:
    """torch's home directory, where torch-fidelity keeps ``fidelity_cache`` and ``fidelity_datasets``."""
    get_home = getattr(torch.hub, "_get_torch_home", None)
    return get_home() if get_home is not None else os.path.dirname(torch.hub.get_dir())


def _short(err: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, cut to ``limit`` characters (state-dict errors list every key)."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _cache_root(cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None) -> str:
    """``cache_dir``, or torch-fidelity's default cache of reference statistics, ``$TORCH_HOME/fidelity_cache``."""
    return os.fspath(cache_dir) if cache_dir is not None else os.path.join(_torch_home(), "fidelity_cache")
