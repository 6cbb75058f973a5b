"""Converters from other SNGAN libraries' checkpoints to this library's models.

``python -m specnorm_gan.convert SRC --from {mimicry,studiogan,mmgen,chainer} [--preset NAME] --out DIR``
writes a :func:`specnorm_gan.save_pretrained` folder; :func:`convert_file` does the same from Python.
Each source format is one module with its key mapping (``mimicry``, ``studiogan``, ``mmgen``,
``chainer``); the target architecture is a preset, inferred from the source's keys and shapes.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Optional, Union

from ..pretrained import save_pretrained
from ._common import Converted, load_torch_file

__all__ = ["FORMATS", "Converted", "convert_file", "load_source"]

#: Source formats and the module that maps each.
FORMATS = ("mimicry", "studiogan", "mmgen", "chainer")


def load_source(src: Union[str, os.PathLike], fmt: str, preset: Optional[str] = None) -> Converted:
    """Reads ``src`` in format ``fmt`` and returns the converted model (see :class:`Converted`).

    Raises:
        ValueError: unknown format, or a checkpoint that is not one of that format's architectures.
        KeyError / ValueError: a missing or extra key, a shape mismatch (named in the message).

    Example::

        >>> load_source("model.pth", "tensorflow")
        Traceback (most recent call last):
        ...
        ValueError: unknown source format 'tensorflow'; expected one of ['mimicry', 'studiogan', 'mmgen', 'chainer']
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown source format {fmt!r}; expected one of {list(FORMATS)}")
    if not Path(src).is_file():
        raise FileNotFoundError(f"source checkpoint {src} does not exist")
    module = importlib.import_module(f"{__name__}.{fmt}")
    obj = module.read(src) if hasattr(module, "read") else load_torch_file(src)
    result: Converted = module.convert(obj, preset)
    result.source.setdefault("format", fmt)
    result.source["file"] = Path(src).name
    return result


def convert_file(src: Union[str, os.PathLike], fmt: str, out: Union[str, os.PathLike], preset: Optional[str] = None) -> Path:
    """Converts ``src`` and writes a pretrained folder ``out``; returns the folder.

    Example::

        >>> convert_file("sngan_32_D.pth", "mimicry", "converted/")  # doctest: +SKIP
    """
    result = load_source(src, fmt, preset)
    return save_pretrained(result.model, out, source=dict(result.source, preset=result.preset, kind=result.kind))
