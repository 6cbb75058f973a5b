"""Reading the state dicts of torch's two spectral norms (hooks and parametrization)."""

from __future__ import annotations

from typing import Any, Dict, TYPE_CHECKING

import torch
from torch import Tensor, nn

from .power_iteration import _normalize

if TYPE_CHECKING:
    from .core import _SpectralNorm


def _translate_torch_keys(state_dict: Dict[str, Any], prefix: str, layer: _SpectralNorm) -> None:
    """Renames the keys of torch's two spectral-norm formats to this library's, in place.

    ``torch.nn.utils.spectral_norm`` (hooks) stores ``weight_orig``, ``weight_u``, ``weight_v``;
    ``torch.nn.utils.parametrizations.spectral_norm`` stores ``parametrizations.weight.original``
    and ``parametrizations.weight.0._u`` / ``._v``. Both use the same ``dim`` conventions and the
    same u, v shapes as this library.
    """
    renames = {
        prefix + "weight_orig": prefix + "weight",
        prefix + "parametrizations.weight.original": prefix + "weight",
        prefix + "parametrizations.weight.0._u": prefix + "weight_u",
        prefix + "parametrizations.weight.0._v": prefix + "weight_v",
    }
    for old, new in renames.items():
        if old in state_dict:
            value = state_dict.pop(old)
            if new not in state_dict:
                state_dict[new] = value
    # Very old torch checkpoints have no v: derive it from u as one half-step of the iteration.
    if prefix + "weight_u" in state_dict and prefix + "weight_v" not in state_dict and prefix + "weight" in state_dict:
        with torch.no_grad():
            w = state_dict[prefix + "weight"]
            if layer._sn_dim != 0:
                w = w.movedim(layer._sn_dim, 0)
            mat = w.reshape(w.shape[0], -1)
            state_dict[prefix + "weight_v"] = _normalize(torch.mv(mat.mT, state_dict[prefix + "weight_u"]), layer._sn_eps)


def load_torch_spectral_norm_state_dict(module: nn.Module, state_dict: Dict[str, Tensor], strict: bool = True) -> Any:
    """Loads a state dict written by either of torch's spectral norms into a model of SN layers.

    ``load_state_dict`` already accepts both formats (``weight_orig``/``weight_u``/``weight_v`` of
    ``torch.nn.utils.spectral_norm`` and ``parametrizations.weight.original``/``...0._u``/``...0._v``
    of ``torch.nn.utils.parametrizations.spectral_norm``); this helper only copies the dict first
    so that the caller's dict is left untouched.

    Args:
        module: a model with this library's SN layers where the source model had torch's.
        state_dict: the source model's ``state_dict()``.
        strict: as in :meth:`torch.nn.Module.load_state_dict`.

    Returns:
        What :meth:`torch.nn.Module.load_state_dict` returns (missing and unexpected keys).

    Example::

        >>> from specnorm_gan.layers import SNLinear
        >>> src = nn.utils.parametrizations.spectral_norm(nn.Linear(4, 3))
        >>> dst = SNLinear(4, 3)
        >>> load_torch_spectral_norm_state_dict(dst, src.state_dict())
        <All keys matched successfully>
        >>> x = torch.randn(2, 4)
        >>> torch.allclose(dst.eval()(x), src.eval()(x), atol=1e-6)
        True
    """
    return module.load_state_dict(dict(state_dict), strict=strict)
