"""Spectral norm for existing modules: add, remove, reset, read sigma, test for it."""

from __future__ import annotations

from typing import Dict, Iterable, Optional

import torch
from torch import Tensor, nn

from .core import M, _check_options, _SpectralNorm
from .fused import fuse_spectral_norm
from .modules import _PLAIN_CLASSES, _SN_CLASSES
from .power_iteration import _WARMUP_ITERATIONS


def is_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module`` is a spectral-normalized layer of this library.

    Example::

        >>> from specnorm_gan.layers import SNLinear
        >>> is_spectral_norm(SNLinear(2, 2)), is_spectral_norm(nn.Linear(2, 2))
        (True, False)
    """
    return isinstance(module, _SpectralNorm)


def spectral_norm(
    module: M,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: Optional[int] = None,
) -> M:
    r"""Adds spectral normalization to an existing layer, in place, and returns it.

    The layer becomes the matching SN class (``nn.Conv2d`` becomes :class:`SNConv2d`, which is
    still an ``nn.Conv2d``); its parameters, hooks and device are kept, ``weight_u`` and
    ``weight_v`` buffers are added and warmed up with 15 power iterations.

    Args:
        module: an ``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.ConvTranspose1d/2d/3d`` or
            ``nn.Embedding`` (exactly those classes, not subclasses).
        name: the parameter to normalize; these layers have one weight, so only ``"weight"``.
        n_power_iterations: power iterations per training forward, >= 1.
        eps: guards every division, > 0.
        dim: the weight dimension used as matrix rows; default 1 for transposed
            convolutions and 0 otherwise (torch's convention).

    Returns:
        The same module object.

    Example::

        >>> conv = spectral_norm(nn.Conv2d(3, 16, 3))
        >>> isinstance(conv, nn.Conv2d), sorted(b for b, _ in conv.named_buffers())
        (True, ['weight_u', 'weight_v'])
    """
    if isinstance(module, _SpectralNorm):
        raise ValueError(f"{type(module).__name__} already has spectral normalization")
    sn_cls = _SN_CLASSES.get(type(module))
    if sn_cls is None:
        supported = ", ".join(f"nn.{c.__name__}" for c in _SN_CLASSES)
        raise TypeError(f"spectral_norm supports {supported}; got {type(module).__name__}")
    if name != "weight":
        raise ValueError(f"{type(module).__name__} has a single weight: expected name='weight', got {name!r}")
    if isinstance(module, nn.Embedding) and module.max_norm is not None:
        raise ValueError("spectral_norm does not support nn.Embedding with max_norm; expected max_norm=None")
    _check_options(n_power_iterations, eps)
    module.__class__ = sn_cls
    module._setup_spectral_norm(n_power_iterations, eps, dim)  # type: ignore[attr-defined]
    return module


def remove_spectral_norm(module: M) -> M:
    """Bakes ``weight / sigma`` into a plain weight and turns the layer back into its torch class.

    Uses the current buffers without running a power iteration (the eval-mode weight).

    Example::

        >>> from specnorm_gan.layers import SNLinear
        >>> layer = SNLinear(4, 3).eval()
        >>> x = torch.randn(2, 4)
        >>> before = layer(x)
        >>> plain = remove_spectral_norm(layer)
        >>> type(plain).__name__, torch.allclose(plain(x), before, atol=1e-6)
        ('Linear', True)
    """
    if not isinstance(module, _SpectralNorm):
        raise TypeError(f"{type(module).__name__} has no spectral normalization to remove")
    with torch.no_grad():
        sigma = module.sigma.clamp_min(module._sn_eps)
        module.weight.div_(sigma.to(module.weight.dtype))
    for buffer in ("weight_u", "weight_v"):
        del module._buffers[buffer]  # type: ignore[attr-defined]
    for attr in ("_sn_dim", "_sn_eps", "_sn_n_power_iterations", "_sn_fused_weight"):
        module.__dict__.pop(attr, None)
    module.__class__ = _PLAIN_CLASSES[type(module)]
    return module


def spectral_norm_all(
    model: M,
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    *,
    exclude: Iterable[str] = (),
    fuse: bool = True,
) -> M:
    """Adds spectral normalization to every supported layer of ``model`` (in place) and returns it.

    Args:
        model: any module; its ``nn.Linear``, ``nn.Conv*``, ``nn.ConvTranspose*`` and
            ``nn.Embedding`` layers are converted (layers that already have SN are kept).
        n_power_iterations, eps: as in :func:`spectral_norm`.
        exclude: qualified names of layers to leave alone (as in ``model.named_modules()``).
        fuse: also call :func:`fuse_spectral_norm` on ``model`` (the power iterations of all layers
            then run together once per forward of ``model``).

    Example::

        >>> d = spectral_norm_all(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(1)), exclude={"2"})
        >>> [type(m).__name__ for m in d]
        ['SNConv2d', 'Flatten', 'LazyLinear']
    """
    excluded = set(exclude)
    for qualname, module in list(model.named_modules()):
        if qualname in excluded or isinstance(module, _SpectralNorm):
            continue
        if type(module) in _SN_CLASSES:
            spectral_norm(module, n_power_iterations=n_power_iterations, eps=eps)
    if fuse:
        fuse_spectral_norm(model)
    return model


def spectral_norms(model: nn.Module) -> Dict[str, Tensor]:
    """Returns ``{layer name: sigma}`` for every SN layer of ``model`` (detached 0-d tensors).

    No host synchronization happens here; call ``.item()`` (or stack them) when logging.

    Example::

        >>> from specnorm_gan.layers import SNLinear
        >>> d = nn.Sequential(SNLinear(4, 8), nn.ReLU(), SNLinear(8, 1))
        >>> sorted(spectral_norms(d))
        ['0', '2']
    """
    return {name: m.sigma for name, m in model.named_modules() if isinstance(m, _SpectralNorm)}


def reset_spectral_norm(module: nn.Module, iterations: int = _WARMUP_ITERATIONS) -> nn.Module:
    """Re-draws ``u``, ``v`` and re-runs the warm-up for every SN layer in ``module``.

    Call it after re-initializing weights (e.g. with ``nn.init.xavier_uniform_``), so that eval
    mode divides by a converged sigma of the new weights.

    Args:
        module: any module; every SN layer inside it (itself included) is reset.
        iterations: power iterations of the warm-up, >= 1.

    Returns:
        ``module``.

    Example::

        >>> from specnorm_gan.layers import SNLinear
        >>> layer = SNLinear(16, 16)
        >>> _ = nn.init.orthogonal_(layer.weight, gain=3.0)  # every singular value is 3
        >>> _ = reset_spectral_norm(layer)
        >>> round(float(layer.sigma), 4)
        3.0
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    for m in module.modules():
        if isinstance(m, _SpectralNorm):
            m._reset_power_iteration(iterations)
    return module

