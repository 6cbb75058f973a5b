"""Spectral-normalized layers and the power iteration behind them.

Everything spectral-norm lives in this package, one job a module:

- :mod:`~specnorm_gan.layers.power_iteration`: the power iteration (``_power_iteration``), the one
  place where ``u``, ``v`` and ``sigma`` are computed;
- :mod:`~specnorm_gan.layers.core`: the ``_SpectralNorm`` mixin (buffers, warm-up, :attr:`sigma`,
  state-dict loading) that the layers share;
- :mod:`~specnorm_gan.layers.modules`: the layers (:class:`SNLinear`, :class:`SNConv2d`, ...);
- :mod:`~specnorm_gan.layers.utils`: the functional helpers for existing modules
  (:func:`spectral_norm`, :func:`remove_spectral_norm`, ...);
- :mod:`~specnorm_gan.layers.torch_compat`: state dicts of torch's spectral norms;
- :mod:`~specnorm_gan.layers.fused`: the fused path that runs the power iteration of every SN
  layer of a network in a handful of batched operations on zero-padded, persistent storage
  (:func:`fuse_spectral_norm`);
- :mod:`~specnorm_gan.layers.ema`: the EMA helper that copies, rather than averages, the
  power-iteration vectors (:func:`ema_update_`).

Import everything from ``specnorm_gan.layers`` (or ``specnorm_gan``); the submodules are an
implementation detail.

Semantics follow Miyato et al., "Spectral Normalization for Generative Adversarial Networks"
(ICLR 2018), Algorithm 1, and :func:`torch.nn.utils.parametrizations.spectral_norm`: the weight
is viewed as a matrix with ``dim`` as rows; in training mode each forward first runs
``n_power_iterations`` updates of ``u`` and ``v`` without autograd and then computes
``sigma = u^T W v`` with autograd, so the gradient flows through ``sigma``; the forward uses
``W / sigma``. In eval mode no buffer is written.
"""

from __future__ import annotations

from .._moved import moved_names_getattr
from .ema import ema_update_
from .fused import fuse_spectral_norm
from .modules import SNConv1d, SNConv2d, SNConv3d, SNConvTranspose1d, SNConvTranspose2d, SNConvTranspose3d, SNEmbedding
from .modules import SNLinear
from .torch_compat import load_torch_spectral_norm_state_dict
from .utils import is_spectral_norm, remove_spectral_norm, reset_spectral_norm, spectral_norm, spectral_norm_all, spectral_norms

#: Where the private names of the former single-file ``layers.py`` live now. They stay readable
#: as ``specnorm_gan.layers.<name>`` (other modules and tests import some; pickled models refer to
#: ``_FusedSpectralNorm``); code that patches one must patch it in its submodule.
__getattr__ = moved_names_getattr(
    __name__,
    {
        "power_iteration": (
            "_WARMUP_ITERATIONS", "_normalize", "_power_iteration", "_is_compiling", "_copy_all_", "_compute_dtype",
            "_normalize_group",
        ),
        "core": ("M", "_check_options", "_SpectralNorm"),
        "torch_compat": ("_translate_torch_keys",),
        "modules": ("_check_input", "_SN_KWARGS_DOC", "_SNConvNd", "_SNConvTransposeNd", "_SN_CLASSES", "_PLAIN_CLASSES"),
        "fused": (
            "_matrix_as_weight", "_SpectralDivide", "_PACK_SLACK", "_PACK_ALLOWANCE", "_PackedGroup", "_pack_layers",
            "_layer_signature", "_FusedSpectralNorm",
        ),
    },
)

__all__ = [  # in the order of the API page
    "SNLinear",
    "SNConv1d",
    "SNConv2d",
    "SNConv3d",
    "SNConvTranspose1d",
    "SNConvTranspose2d",
    "SNConvTranspose3d",
    "SNEmbedding",
    "is_spectral_norm",
    "spectral_norm",
    "remove_spectral_norm",
    "spectral_norm_all",
    "spectral_norms",
    "reset_spectral_norm",
    "load_torch_spectral_norm_state_dict",
    "fuse_spectral_norm",
    "ema_update_",
]
