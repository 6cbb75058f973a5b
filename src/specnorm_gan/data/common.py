"""What the loaders share: the path type, the missing-data error and the optional imports."""

from __future__ import annotations

import os
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]

_EXTRA_HINT = "install the optional dependencies with `pip install specnorm-gan[examples]`"


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset is not on disk (and could not be downloaded).

    The message says what to download and where to put it.
    """


def _import_torchvision() -> Any:
    try:
        import torchvision  # noqa: F401
        import torchvision.datasets
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"loading this dataset needs torchvision; {_EXTRA_HINT}") from e
    return torchvision


def _import_pil() -> Any:
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"decoding image files needs Pillow; {_EXTRA_HINT}") from e
    return Image
