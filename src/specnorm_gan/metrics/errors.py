"""The errors of :mod:`specnorm_gan.metrics` that name a missing download rather than a wrong argument."""

from __future__ import annotations

__all__ = ["InceptionWeightsUnavailableError", "ReferenceUnavailableError"]


class InceptionWeightsUnavailableError(RuntimeError):
    """The Inception-v3 weights could not be loaded (typically: no internet and no local copy)."""


class ReferenceUnavailableError(RuntimeError):
    """A registered reference dataset could not be loaded (typically: not downloaded, no internet)."""
