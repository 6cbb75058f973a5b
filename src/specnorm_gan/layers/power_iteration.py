"""The power iteration: the one place where ``u``, ``v`` and ``sigma`` are computed.

Algorithm 1 of Miyato et al. (ICLR 2018) on a batch of weight matrices (:func:`_power_iteration`),
the per-layer / same-shape normalization ``W / sigma`` built on it (:func:`_normalize_group`) and the
small dtype and copy helpers that the layers and the fused path share.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from .core import _SpectralNorm

#: Power iterations run at construction (and by :func:`reset_spectral_norm`), as torch's
#: parametrization does, so that a layer used in eval mode before any training forward already
#: divides by a converged sigma (pytorch issue 51800).
_WARMUP_ITERATIONS = 15


def _normalize(x: Tensor, eps: float) -> Tensor:
    # Same as F.normalize(x, dim=-1, eps=eps): x / max(||x||, eps).
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(eps)


def _power_iteration(
    mat: Tensor, u: Tensor, v: Tensor, n_iterations: int, eps: float, mat_t: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor]:
    """Runs ``n_iterations`` of Algorithm 1 of Miyato et al. on a batch of matrices.

    Shapes: ``mat`` (G, r, c), ``u`` (G, 1, r), ``v`` (G, 1, c); ``mat_t`` is ``mat.transpose(1, 2)``
    if the caller has it. Returns the new ``(u, v, sigma)`` with ``sigma = u^T W v = ||W v||``
    (G, 1, 1), clamped to ``eps``. The caller runs it under ``torch.no_grad()``.
    """
    if n_iterations < 1:
        raise ValueError(f"n_iterations must be >= 1, got {n_iterations}")
    if mat_t is None:
        mat_t = mat.transpose(1, 2)
    sigma: Tensor
    for _ in range(n_iterations):
        v = _normalize(torch.bmm(u, mat), eps)  # v <- W^T u / ||W^T u||
        wv = torch.bmm(v, mat_t)
        sigma = torch.linalg.vector_norm(wv, dim=-1, keepdim=True).clamp_min(eps)
        u = wv / sigma  # u <- W v / ||W v||
    return u, v, sigma


def _is_compiling() -> bool:
    # torch.compiler.is_compiling exists from torch 2.3; older versions cannot be compiling here.
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(check()) if check is not None else False


def _copy_all_(dst: Sequence[Tensor], src: Sequence[Tensor]) -> None:
    if hasattr(torch, "_foreach_copy_"):  # one dispatch for all tensors (torch >= 2.1)
        torch._foreach_copy_(list(dst), list(src))
    else:  # pragma: no cover - older torch
        for d, s in zip(dst, src):
            d.copy_(s)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # The iteration and sigma always run in at least float32 (half-precision weights or autocast).
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _normalize_group(layers: Sequence["_SpectralNorm"]) -> List[Tensor]:
    """Returns ``W / sigma`` for each layer; all layers share weight shape, dim, dtype and device.

    In training mode the power iteration of the whole group runs as one batched computation and
    writes the new ``u``/``v`` into each layer's buffers; autograd differentiates ``sigma``. With a
    single layer this is the per-layer path; the fused path uses it under ``torch.compile``
    (eager fused forwards use :class:`_PackedGroup`, which gives the same results within float
    rounding, tested in float64).
    """
    first = layers[0]
    n = len(layers)
    weight = first.weight
    shape = weight.shape
    dim = first._sn_dim
    eps = first._sn_eps
    # (G, *shape) without per-layer operations: a view for one layer, one cat for many.
    w = weight.unsqueeze(0) if n == 1 else torch.cat([m.weight for m in layers]).view(n, *shape)
    rows = shape[dim]
    mat = w if dim == 0 else w.movedim(dim + 1, 1)
    mat = mat.reshape(n, rows, -1)
    cdtype = _compute_dtype(weight.dtype)
    if mat.dtype != cdtype:
        mat = mat.to(cdtype)
    if n == 1:
        u = first.weight_u.view(1, 1, rows)
        v = first.weight_v.view(1, 1, -1)
        if not first.training and torch.is_grad_enabled():
            # Tensors saved for backward must not alias buffers that a later training forward writes.
            u, v = u.clone(), v.clone()
    else:
        u = torch.cat([m.weight_u for m in layers]).view(n, 1, rows)
        v = torch.cat([m.weight_v for m in layers]).view(n, 1, -1)
    if u.dtype != cdtype:
        u, v = u.to(cdtype), v.to(cdtype)
    with torch.autocast(device_type=weight.device.type, enabled=False):
        if first.training:
            with torch.no_grad():
                u, v, _ = _power_iteration(mat, u, v, first._sn_n_power_iterations, eps)
                if n == 1:
                    first.weight_u.copy_(u.view(rows))
                    first.weight_v.copy_(v.view(-1))
                else:
                    _copy_all_([m.weight_u for m in layers], u.view(n, rows).unbind(0))
                    _copy_all_([m.weight_v for m in layers], v.view(n, -1).unbind(0))
        # sigma = u^T W v with autograd through W only (u, v are constants, as in the paper).
        sigma = torch.bmm(torch.bmm(u, mat), v.transpose(1, 2))
        # eps guards the division, so an all-zero weight gives zeros instead of NaN.
        sigma = sigma.clamp_min(eps)
        if sigma.dtype != weight.dtype:
            sigma = sigma.to(weight.dtype)
        # Divide each layer's own weight: the division saves its input for backward, and saving
        # the stacked copy instead would keep a second copy of every weight alive until backward.
        if n == 1:
            return [weight / sigma.reshape(())]
        return [m.weight / s for m, s in zip(layers, sigma.view(n).unbind(0))]
