"""Baselines of the benchmarks: the same network with torch's spectral norm, or without spectral norm.

:func:`to_torch_spectral_norm` turns each of this library's SN layers of a deep copy back into the
plain torch layer wrapped by ``torch.nn.utils.parametrizations.spectral_norm`` (same raw weight and
``u``/``v``); :func:`without_spectral_norm` bakes ``W / sigma`` in; :func:`verify_baseline` checks
before any timing that a baseline is the same network.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

import specnorm_gan as sg


def _sn_layers(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if sg.is_spectral_norm(m)]


def to_torch_spectral_norm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` where each SN layer is the plain torch layer + torch's parametrization.

    The raw weight, ``u``, ``v``, ``dim``, ``eps`` and ``n_power_iterations`` are carried over, so the
    copy computes exactly what ``model`` computes.
    """
    out = copy.deepcopy(model)
    sg.fuse_spectral_norm(out, enable=False)  # removes every fusion hook inside ``out``
    for _, m in _sn_layers(out):
        raw = m.weight.detach().clone()
        u, v = m.weight_u.detach().clone(), m.weight_v.detach().clone()
        dim, eps, n_iter = m._sn_dim, m._sn_eps, m.n_power_iterations
        sg.remove_spectral_norm(m)  # in place: the torch class again (with weight / sigma baked in)
        with torch.no_grad():
            m.weight.copy_(raw)  # ... so restore the raw weight
        torch.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=n_iter, eps=eps, dim=dim)
        sn = m.parametrizations.weight[0]
        with torch.no_grad():
            sn._u.copy_(u)
            sn._v.copy_(v)
    return out


def without_spectral_norm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every SN layer replaced by its plain layer (weight / sigma baked in)."""
    out = copy.deepcopy(model)
    sg.fuse_spectral_norm(out, enable=False)
    for _, m in _sn_layers(out):
        sg.remove_spectral_norm(m)
    return out


def _torch_u(model: nn.Module) -> Dict[str, Tensor]:
    return {
        n: m.parametrizations.weight[0]._u
        for n, m in model.named_modules()
        if hasattr(m, "parametrizations") and "weight" in m.parametrizations
    }


def _inputs(D: nn.Module, n: int, seed: int = 0) -> Tuple[Tensor, Optional[Tensor]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, D.in_channels, D.resolution, D.resolution, generator=g) * 2 - 1
    y = torch.randint(D.num_classes, (n,), generator=g) if D.num_classes else None
    return x, y


def verify_baseline(ours: nn.Module, base: nn.Module, *, is_d: bool, z_dim: int = 0) -> str:
    """Checks that ``base`` is the same network as ``ours``; returns a one-line summary.

    Same parameter count and number of spectral-normalized layers; the same outputs in eval mode
    (same weights and ``u``/``v``: the same function, relative difference <= 1e-4). In training
    mode each forward runs one power iteration; torch updates ``u`` then ``v``, this library ``v``
    then ``u`` (Algorithm 1 of the paper), so the outputs after that step agree only to within the
    power iteration's convergence: checked loosely (<= 5%, which catches a missing or doubled
    normalization) and reported. Both models are left in the state they were in (a deep copy runs
    the training-mode forward).
    """
    n_ours = sum(p.numel() for p in ours.parameters())
    n_base = sum(p.numel() for p in base.parameters())
    if n_ours != n_base:
        raise AssertionError(f"baseline has {n_base} parameters, ours {n_ours}")
    n_sn = len(_sn_layers(ours))
    n_param = len(_torch_u(base))
    if n_sn != n_param:
        raise AssertionError(f"{n_sn} SN layers in ours, {n_param} parametrized layers in the baseline")
    if is_d:
        args: Tuple[Any, ...] = _inputs(ours, 2)
    else:
        g = torch.Generator().manual_seed(0)
        args = (torch.randn(2, z_dim, generator=g), torch.arange(2) % ours.num_classes if ours.num_classes else None)

    def rel(a: Tensor, b: Tensor) -> float:
        return float((a - b).abs().max() / a.abs().max().clamp_min(1e-30))

    with torch.no_grad():
        mode_o, mode_b = ours.training, base.training
        ours.eval(), base.eval()
        eval_diff = rel(ours(*args), base(*args))
        ours.train(mode_o), base.train(mode_b)
        train_diff = float("nan")
        if is_d:  # G has BatchNorm, whose training mode would only add running-statistics noise
            o, b = copy.deepcopy(ours).train(), copy.deepcopy(base).train()
            train_diff = rel(o(*args), b(*args))
            del o, b
    if not eval_diff <= 1e-4:
        raise AssertionError(f"baseline differs from ours in eval mode: max relative difference {eval_diff:.2e}")
    if is_d and not train_diff <= 5e-2:
        raise AssertionError(f"baseline differs from ours in training mode: max relative difference {train_diff:.2e}")
    text = f"{n_ours:,} params, {n_sn} SN layers; eval diff {eval_diff:.0e}"
    return text + (f", train diff {train_diff:.0e}" if is_d else "")
