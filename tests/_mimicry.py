"""Imports torch-mimicry's ``nets`` without running its top-level ``__init__`` (which needs TF and
the removed ``torch._six``): a bare module object with the installed ``__path__`` goes in first."""

import importlib
import importlib.util
import sys
import types


def import_mimicry(module: str):  # type: ignore[no-untyped-def]
    if "torch_mimicry" not in sys.modules or not hasattr(sys.modules["torch_mimicry"], "nets"):
        spec = importlib.util.find_spec("torch_mimicry")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("torch-mimicry is not installed: pip install --no-deps torch-mimicry==0.1.16 (test extra)")
        pkg = types.ModuleType("torch_mimicry")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["torch_mimicry"] = pkg
    return importlib.import_module(f"torch_mimicry.{module}")
