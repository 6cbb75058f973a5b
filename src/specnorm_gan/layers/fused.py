"""The fused power iteration: every SN layer of a model normalized in a few batched operations.

Zero-padded persistent storage (:class:`_PackedGroup`), the hook that runs it once per forward of
the model (:class:`_FusedSpectralNorm`) and :func:`fuse_spectral_norm`, which installs it.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .core import M, _SpectralNorm
from .power_iteration import _compute_dtype, _copy_all_, _is_compiling, _normalize_group, _power_iteration


def _matrix_as_weight(mat: Tensor, weight: Tensor, dim: int) -> Tensor:
    # The (rows, cols) matrix of ``weight`` (``dim`` first, the rest flattened) viewed back in the weight's shape.
    if not dim:
        return mat.view(weight.shape)
    return mat.view(weight.movedim(dim, 0).shape).movedim(0, dim)


class _SpectralDivide(torch.autograd.Function):
    """``weight / sigma`` for one layer of a packed group, differentiated through ``sigma = u^T W v``.

    ``sigma`` is the layer's entry of the group's persistent sigma (read in the forward only);
    ``u`` (G, 1, R), ``v`` (G, 1, C) and ``s`` (G, 1, 1) are this forward's own (fresh) tensors,
    saved for backward, so a second forward before the backward cannot change them. With u and v
    constants (Miyato et al., Sec. 2.2), d(W/sigma)/dW applied to ``g`` is
    ``(g - <g, W>/sigma * u v^T) / sigma``, which is what autograd computes on the per-layer path.
    """

    @staticmethod
    def forward(ctx: Any, weight: Tensor, sigma: Tensor, u: Tensor, v: Tensor, s: Tensor, meta: Tuple[int, int, int, int, float]) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(weight, u, v, s)
        ctx.meta = meta
        return weight / sigma

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:  # type: ignore[override]
        weight, u, v, s = ctx.saved_tensors
        index, rows, cols, dim, eps = ctx.meta
        sigma = s[index].reshape(())
        g = grad.to(s.dtype)
        outer = _matrix_as_weight(torch.outer(u[index, 0, :rows], v[index, 0, :cols]), weight, dim)
        # Below eps the division uses the constant eps: no gradient through sigma there.
        coef = (g * weight.to(s.dtype)).sum() / sigma * (sigma > eps)
        grad_weight = ((g - coef * outer) / sigma).to(weight.dtype)
        return grad_weight, None, None, None, None, None


#: A packed group pads its weight matrices to a common (rows, cols); a layer joins a group while
#: the padded size stays within this factor of the real size, plus a fixed allowance for small layers.
_PACK_SLACK = 1.5
_PACK_ALLOWANCE = 1 << 20


class _PackedGroup:
    """Persistent zero-padded storage for the power iteration of several SN layers.

    ``P`` (G, R, C) holds each layer's weight matrix in its top-left corner, ``U`` (G, 1, R) and
    ``V`` (G, 1, C) the vectors, ``S`` (G, 1, 1) sigma; zero padding leaves every layer's
    iteration unchanged (padded rows/columns of ``W v`` and ``W^T u`` are zero). Views of this
    storage shaped like each layer's weight and buffers are made once, so a training forward
    costs one gather of the weights, two batched matrix products and a few vector operations per
    iteration, one scatter of ``u``/``v`` into the layers' buffers and one division per layer,
    whatever the shapes.
    """

    def __init__(self, layers: Sequence["_SpectralNorm"]) -> None:
        first = layers[0]
        self.layers = list(layers)
        self.training = first.training
        self.eps = first._sn_eps
        self.n_iterations = first._sn_n_power_iterations
        self.device = first.weight.device
        cdtype = _compute_dtype(first.weight.dtype)
        self.shapes = [(m.weight.shape[m._sn_dim], m.weight.numel() // m.weight.shape[m._sn_dim]) for m in layers]
        g = len(layers)
        rows = max(r for r, _ in self.shapes)
        cols = max(c for _, c in self.shapes)
        kw = dict(dtype=cdtype, device=self.device)
        self.P = torch.zeros(g, rows, cols, **kw)  # type: ignore[arg-type]
        self.PT = self.P.transpose(1, 2)
        self.U = torch.zeros(g, 1, rows, **kw)  # type: ignore[arg-type]
        self.V = torch.zeros(g, 1, cols, **kw)  # type: ignore[arg-type]
        self.S = torch.ones(g, 1, 1, **kw)  # type: ignore[arg-type]
        self.weight_views: List[Tensor] = []
        self.meta: List[Tuple[int, int, int, int, float]] = []
        for i, (m, (r, c)) in enumerate(zip(layers, self.shapes)):
            self.weight_views.append(_matrix_as_weight(self.P[i, :r, :c], m.weight, m._sn_dim))
            self.meta.append((i, r, c, m._sn_dim, self.eps))
        self.u_views = [self.U[i, 0, :r] for i, (r, _) in enumerate(self.shapes)]
        self.v_views = [self.V[i, 0, :c] for i, (_, c) in enumerate(self.shapes)]
        self.s_views = [self.S[i, 0, 0] for i in range(g)]
        # (buffer, version, data pointer) for which U / V hold the buffers' values; None = gather first.
        self._u_seen: Optional[List[Tuple[Tensor, int, int]]] = None
        self._v_seen: Optional[List[Tuple[Tensor, int, int]]] = None

    @staticmethod
    def _current(seen: Optional[List[Tuple[Tensor, int, int]]], buffers: List[Tensor]) -> bool:
        # Buffers replaced (``.to()``, functional_call) or written (load_state_dict, DDP broadcast,
        # reset, EMA copies) since the last sync show up as a new object or a new version.
        return seen is not None and all(
            b is t and b._version == ver and b.data_ptr() == ptr for b, (t, ver, ptr) in zip(buffers, seen)
        )

    def normalize(self) -> List[Tensor]:
        layers = self.layers
        us = [m.weight_u for m in layers]
        vs = [m.weight_v for m in layers]
        grad_enabled = torch.is_grad_enabled()
        with torch.no_grad(), torch.autocast(device_type=self.device.type, enabled=False):
            _copy_all_(self.weight_views, [m.weight for m in layers])
            if not self._current(self._u_seen, us):
                _copy_all_(self.u_views, us)
            if self.training:
                u, v, s = _power_iteration(self.P, self.U, self.V, self.n_iterations, self.eps, self.PT)
                self.U.copy_(u)
                self.V.copy_(v)
                self.S.copy_(s)
                _copy_all_(us + vs, self.u_views + self.v_views)
                self._v_seen = [(b, b._version, b.data_ptr()) for b in vs]
            else:
                if not self._current(self._v_seen, vs):
                    _copy_all_(self.v_views, vs)
                    self._v_seen = [(b, b._version, b.data_ptr()) for b in vs]
                s = (torch.bmm(self.V, self.PT) * self.U).sum(-1, keepdim=True).clamp_min(self.eps)
                self.S.copy_(s)
                u, v = self.U, self.V
                if grad_enabled:
                    # Saved for backward: must not alias storage that a later training forward writes.
                    u, v = u.clone(), v.clone()
            self._u_seen = [(b, b._version, b.data_ptr()) for b in us]
        return [
            _SpectralDivide.apply(m.weight, sv, u, v, s, meta)
            for m, sv, meta in zip(layers, self.s_views, self.meta)
        ]


def _pack_layers(layers: Sequence["_SpectralNorm"]) -> List[_PackedGroup]:
    """Splits SN layers into packed groups: same dtype/device/options/mode, bounded padding."""
    keyed: Dict[Tuple[Any, ...], List[_SpectralNorm]] = {}
    for m in layers:
        w = m.weight
        keyed.setdefault((w.dtype, w.device, m._sn_eps, m._sn_n_power_iterations, m.training), []).append(m)
    groups: List[_PackedGroup] = []
    for members in keyed.values():
        members = sorted(members, key=lambda m: -m.weight.numel())
        current: List[_SpectralNorm] = []
        rows = cols = real = 0
        for m in members:
            r = m.weight.shape[m._sn_dim]
            c = m.weight.numel() // r
            new_rows, new_cols, new_real = max(rows, r), max(cols, c), real + r * c
            if current and (len(current) + 1) * new_rows * new_cols > _PACK_SLACK * new_real + _PACK_ALLOWANCE:
                groups.append(_PackedGroup(current))
                current, new_rows, new_cols, new_real = [], r, c, r * c
            current.append(m)
            rows, cols, real = new_rows, new_cols, new_real
        if current:
            groups.append(_PackedGroup(current))
    return groups


def _layer_signature(m: "_SpectralNorm") -> Tuple[Any, ...]:
    w = m.weight
    return (id(m), w.shape, w.dtype, w.device, m._sn_dim, m._sn_eps, m._sn_n_power_iterations, m.training)


class _FusedSpectralNorm:
    """Forward pre-hook that normalizes the weights of every SN layer of a model in one go.

    Eager mode: the layers are packed into a few :class:`_PackedGroup` (zero-padded storage kept
    between forwards, rebuilt when a layer, shape, dtype, device or mode changes), so the number
    of operations barely depends on the number of layers or their shapes. Under
    ``torch.compile`` the layers are grouped by weight shape and each group runs the batched
    iteration of :func:`_normalize_group` (the graph fuses it anyway). The normalized weights are
    handed to the layers for the duration of the model's forward only.
    """

    def __init__(self) -> None:
        self.handles: List[Any] = []
        self._signature: Optional[Tuple[Any, ...]] = None
        self._groups: List[_PackedGroup] = []
        self._active: List[_SpectralNorm] = []  # layers holding a fused weight during a forward

    def __getstate__(self) -> Dict[str, Any]:
        # Packed storage is a cache of the layers' own parameters and buffers: never copy it.
        state = dict(self.__dict__)
        state["_signature"], state["_groups"], state["_active"] = None, [], []
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]  # caches start empty (also for fusers pickled before they existed)
        self.handles = state.get("handles", [])

    def __deepcopy__(self, memo: Dict[int, Any]) -> "_FusedSpectralNorm":
        result = _FusedSpectralNorm.__new__(_FusedSpectralNorm)
        memo[id(self)] = result
        result.__dict__.update(copy.deepcopy(self.__getstate__(), memo))
        return result

    def __call__(self, model: nn.Module, args: Any) -> None:
        layers = [m for m in model.modules() if isinstance(m, _SpectralNorm)]
        self._active = layers
        if _is_compiling():
            groups: Dict[Tuple[Any, ...], List[_SpectralNorm]] = {}
            for m in layers:
                groups.setdefault(m._sn_group_key(), []).append(m)
            for members in groups.values():
                for layer, weight in zip(members, _normalize_group(members)):
                    layer._sn_fused_weight = weight
            return
        signature = tuple(_layer_signature(m) for m in layers)
        if signature != self._signature:
            self._groups = _pack_layers(layers)
            self._signature = signature
        for group in self._groups:
            for layer, weight in zip(group.layers, group.normalize()):
                layer._sn_fused_weight = weight

    def clear(self, model: nn.Module, args: Any, output: Any) -> None:
        for m in self._active:
            m._sn_fused_weight = None
        self._active = []

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []
        self._signature, self._groups = None, []


def fuse_spectral_norm(model: M, enable: bool = True) -> M:
    """Runs the power iterations of all SN layers of ``model`` together, once per ``model`` forward.

    The weight matrices of all layers (any shapes) are kept zero-padded in one persistent
    buffer, so a training forward's spectral norm is one gather of the weights, two batched
    matrix products and a few vector operations per power iteration, one scatter of ``u``/``v``
    and one division per layer: about 60 ATen operators for an 11-layer SNGAN discriminator where
    torch's parametrization dispatches about 430. Results equal the per-layer path within float
    rounding; the persistent buffer costs one extra copy of the SN weights (plus padding bounded
    to 1.5x). Under ``torch.compile`` layers of equal shape share a batched iteration instead. Layers called on their own (outside a
    forward of ``model``) keep using the per-layer path. The library's architectures turn this
    on in their constructors; calling it again, or on a parent module, replaces earlier fusion of
    the same layers.

    Args:
        model: the module whose forward triggers the fused computation.
        enable: ``False`` removes the fusion from ``model`` (and its submodules).

    Returns:
        ``model``.

    Example::

        >>> from specnorm_gan.layers import SNLinear
        >>> d = fuse_spectral_norm(nn.Sequential(SNLinear(2, 64), nn.ReLU(), SNLinear(64, 64), nn.ReLU(), SNLinear(64, 1)))
        >>> d(torch.randn(5, 2)).shape
        torch.Size([5, 1])
    """
    for m in model.modules():
        fuser = m.__dict__.pop("_sn_fuser", None)
        if fuser is not None:
            fuser.remove()
    if enable:
        fuser = _FusedSpectralNorm()
        fuser.handles = [
            model.register_forward_pre_hook(fuser),
            model.register_forward_hook(fuser.clear, always_call=True),
        ]
        model.__dict__["_sn_fuser"] = fuser
    return model
