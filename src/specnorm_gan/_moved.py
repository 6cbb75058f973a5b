"""Module ``__getattr__`` for names that moved from a package's ``__init__`` into its submodules."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Dict, Sequence


def moved_names_getattr(package: str, homes: Dict[str, Sequence[str]]) -> Callable[[str], Any]:
    """Returns a module ``__getattr__`` (PEP 562) that reads ``package.<name>`` from ``package.<submodule>``.

    ``homes`` maps each submodule to the names it holds. The value is read on every access, so it is
    always the submodule's current one; a name not listed raises the usual ``AttributeError``.
    """
    home = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{module}"), name)

    return __getattr__
