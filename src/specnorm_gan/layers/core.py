"""The ``_SpectralNorm`` mixin: spectral normalization of ``weight`` for one torch layer class.

It holds the ``weight_u`` / ``weight_v`` buffers, the warm-up, :attr:`sigma`, copying and
state-dict loading; the iteration itself is in :mod:`specnorm_gan.layers.power_iteration`.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple, TypeVar

import torch
from torch import Tensor, nn

from .power_iteration import _WARMUP_ITERATIONS, _compute_dtype, _normalize, _normalize_group, _power_iteration
from .torch_compat import _translate_torch_keys

M = TypeVar("M", bound=nn.Module)


def _check_options(n_power_iterations: int, eps: float) -> None:
    if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int):
        raise TypeError(f"n_power_iterations must be an int >= 1, got {n_power_iterations!r}")
    if n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"eps must be a float > 0, got {eps!r}")


class _SpectralNorm:
    """Mixin that adds spectral normalization of ``weight`` to a torch layer class.

    Subclasses combine it with a ``torch.nn`` layer (``class SNLinear(_SpectralNorm,
    nn.Linear)``) and call :meth:`_sn_weight` in their forward.
    """

    weight: Tensor
    weight_u: Tensor
    weight_v: Tensor
    training: bool
    _sn_dim: int
    _sn_eps: float
    _sn_n_power_iterations: int
    _sn_fused_weight: Optional[Tensor]
    _SN_DEFAULT_DIM = 0

    def _setup_spectral_norm(self, n_power_iterations: int, eps: float, dim: Optional[int] = None) -> None:
        _check_options(n_power_iterations, eps)
        weight = self.weight
        if not isinstance(weight, nn.Parameter):
            raise TypeError(f"{type(self).__name__}.weight must be an nn.Parameter, got {type(weight).__name__}")
        if weight.dim() < 2:
            raise ValueError(f"spectral normalization needs a weight with at least 2 dims, got shape {tuple(weight.shape)}")
        if dim is None:
            dim = self._SN_DEFAULT_DIM
        if not -weight.dim() <= dim < weight.dim():
            raise ValueError(f"dim must be in [-{weight.dim()}, {weight.dim() - 1}] for a weight of shape {tuple(weight.shape)}, got {dim}")
        self._sn_dim = dim % weight.dim()
        self._sn_eps = float(eps)
        self._sn_n_power_iterations = n_power_iterations
        self._sn_fused_weight = None
        rows = weight.shape[self._sn_dim]
        cols = weight.numel() // rows
        nn.Module.register_buffer(self, "weight_u", weight.new_empty(rows), persistent=True)  # type: ignore[arg-type]
        nn.Module.register_buffer(self, "weight_v", weight.new_empty(cols), persistent=True)  # type: ignore[arg-type]
        self._reset_power_iteration()

    @torch.no_grad()
    def _reset_power_iteration(self, iterations: int = _WARMUP_ITERATIONS) -> None:
        """Draws new normalized N(0, 1) ``u``, ``v`` and runs ``iterations`` power iterations."""
        mat = self._weight_matrix().unsqueeze(0)
        cdtype = _compute_dtype(mat.dtype)
        mat = mat.to(cdtype)
        u = _normalize(torch.randn(1, 1, mat.shape[1], device=mat.device, dtype=cdtype), self._sn_eps)
        v = _normalize(torch.randn(1, 1, mat.shape[2], device=mat.device, dtype=cdtype), self._sn_eps)
        if mat.device.type != "meta":
            u, v, _ = _power_iteration(mat, u, v, iterations, self._sn_eps)
        self.weight_u.copy_(u.view(-1))
        self.weight_v.copy_(v.view(-1))

    def _weight_matrix(self) -> Tensor:
        w = self.weight
        if self._sn_dim != 0:
            w = w.movedim(self._sn_dim, 0)
        return w.reshape(w.shape[0], -1)

    def _sn_group_key(self) -> Tuple[Any, ...]:
        w = self.weight
        return (tuple(w.shape), w.dtype, w.device, self._sn_dim, self._sn_eps, self._sn_n_power_iterations, self.training)

    def _sn_weight(self) -> Tensor:
        fused = self._sn_fused_weight
        if fused is not None:
            return fused
        return _normalize_group([self])[0]

    @property
    def n_power_iterations(self) -> int:
        """Power iterations run per training forward."""
        return self._sn_n_power_iterations

    @property
    def sigma(self) -> Tensor:
        """Current estimate ``u^T W v`` of the largest singular value of ``weight`` (detached, 0-d).

        Computed on the weight's device without a host synchronization, from the current
        parameters and buffers; reading it changes nothing.
        """
        with torch.no_grad():
            mat = self._weight_matrix()
            cdtype = _compute_dtype(mat.dtype)
            return torch.dot(self.weight_u.to(cdtype), torch.mv(mat.to(cdtype), self.weight_v.to(cdtype)))

    def extra_repr(self) -> str:
        base = super().extra_repr()  # type: ignore[misc]
        return f"{base}, n_power_iterations={self._sn_n_power_iterations}"

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        self.__dict__.setdefault("_sn_fused_weight", None)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Any:
        # The fused weight only lives during one forward of the fused root; never copy it.
        cls = type(self)
        result = cls.__new__(cls)
        memo[id(self)] = result
        for key, value in self.__dict__.items():
            setattr_value = None if key == "_sn_fused_weight" else copy.deepcopy(value, memo)
            object.__setattr__(result, key, setattr_value)
        return result

    def _load_from_state_dict(
        self,
        state_dict: Dict[str, Any],
        prefix: str,
        local_metadata: Dict[str, Any],
        strict: bool,
        missing_keys: List[str],
        unexpected_keys: List[str],
        error_msgs: List[str],
    ) -> None:
        _translate_torch_keys(state_dict, prefix, self)
        for name in ("weight", "weight_u", "weight_v"):
            key = prefix + name
            if key in state_dict:
                expected = getattr(self, name).shape
                got = state_dict[key].shape
                if got != expected:
                    raise ValueError(
                        f"state dict entry {key!r} has shape {tuple(got)}, expected {tuple(expected)} for "
                        f"{type(self).__name__} (check the layer sizes of the model you load into)"
                    )
        super()._load_from_state_dict(  # type: ignore[misc]
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
