"""Shared pieces of the checkpoint converters: reading files, building the target, SN vectors."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from ..layers import _normalize
from ..presets import _DISCRIMINATORS, _GENERATORS, GANSpec, get_preset
from ..pretrained import load_state_dict_checked

StateDict = Dict[str, Tensor]


@dataclass
class Converted:
    """What a converter returns.

    Attributes:
        model: the generator or discriminator with the converted weights (a :class:`GANSpec` for a
            source file that holds both).
        preset: the preset the architecture comes from.
        kind: ``"G"``, ``"D"`` or ``"GAN"``.
        source: provenance written to ``config.json``.

    Example::

        >>> from specnorm_gan import SNResNetGenerator
        >>> Converted(SNResNetGenerator(32, width=0.125), "cifar10-resnet", "G").kind
        'G'
    """

    model: Union[nn.Module, GANSpec]
    preset: str
    kind: str
    source: Dict[str, Any] = field(default_factory=dict)


def load_torch_file(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Reads a ``torch.save`` file without unpickling arbitrary objects (``weights_only=True``)."""
    try:
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except Exception as err:  # not a torch.save file, or one that needs arbitrary unpickling
        raise ValueError(f"{path}: not a torch.save checkpoint readable without unpickling code ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict (a state dict or a checkpoint), got {type(obj).__name__}")
    return obj


def unwrap(obj: Mapping[str, Any], containers: Sequence[str]) -> StateDict:
    """Returns the state dict inside a checkpoint dict (the first key of ``containers`` present)."""
    for key in containers:
        if key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    tensors = {k: v for k, v in obj.items() if isinstance(v, Tensor)}
    if not tensors:
        raise ValueError(f"no tensors found; expected a state dict or a checkpoint holding one under {list(containers)}")
    return tensors


def torch_sn_names(state: StateDict, prefix: str = "module.") -> StateDict:
    """Drops a ``DataParallel`` / DDP ``prefix`` and renames ``torch.nn.utils.spectral_norm``'s ``weight_orig`` to ``weight``.

    torch's hook-based SN keeps the raw weight as ``<layer>.weight_orig`` beside ``weight_u`` and
    ``weight_v`` (the layout this library's SN layers load directly).

    Example::

        >>> sorted(torch_sn_names({"module.c.weight_orig": torch.ones(1), "module.c.weight_u": torch.ones(1)}))
        ['c.weight', 'c.weight_u']
    """
    if state and all(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items()}
    return {(k[: -len("_orig")] if k.endswith(".weight_orig") else k): v for k, v in state.items()}


def rename(state: StateDict, rules: Sequence[Tuple[str, str]], what: str) -> StateDict:
    """Renames every key by the first matching regex rule; a key that no rule matches is an error."""
    out: StateDict = {}
    for key, value in state.items():
        for pattern, repl in rules:
            if re.fullmatch(pattern, key):
                new = re.sub(pattern, repl, key)
                if new:
                    out[new] = value
                break
        else:
            raise KeyError(f"unexpected key {key!r} for a {what} checkpoint")
    return out


def block_count(state: Mapping[str, Any], pattern: str) -> int:
    """Number of distinct block indices matched by ``pattern`` (one capture group)."""
    found = {int(m.group(1)) for k in state for m in [re.match(pattern, k)] if m}
    return len(found)


def choose_preset(candidates: Iterable[str], preset: Optional[str], what: str) -> str:
    """The given preset, or the single candidate; several candidates ask for ``--preset``."""
    names = sorted(set(candidates))
    if preset is not None:
        get_preset(preset)  # validates the name
        return preset
    if not names:
        raise ValueError(f"the {what} checkpoint matches none of the supported architectures; pass --preset NAME")
    if len(names) > 1:
        raise ValueError(f"the {what} checkpoint fits several presets {names}; pass --preset NAME to choose")
    return names[0]


def build_target(preset: str, kind: str, num_classes: int, **overrides: Any) -> nn.Module:
    """Builds only G or only D of ``preset`` (with its constructor options) and ``overrides``."""
    record = get_preset(preset)
    if kind == "G":
        kwargs = dict(record.g_kwargs, **overrides)
        return _GENERATORS[record.generator](record.resolution, num_classes, out_channels=record.in_channels, **kwargs)
    kwargs = dict(record.d_kwargs, **overrides)
    return _DISCRIMINATORS[record.discriminator](record.resolution, num_classes, in_channels=record.in_channels, **kwargs)


def channel_override(model_cls_channels: Sequence[int], found: Sequence[int]) -> Dict[str, Any]:
    """``{"channels": found}`` where the checkpoint's widths differ from the preset's table."""
    return {} if tuple(model_cls_channels) == tuple(found) else {"channels": list(found)}


def sn_vectors(weight: Tensor, u: Optional[Tensor], eps: float = 1e-12) -> Tuple[Tensor, Tensor]:
    """``(u, v)`` for this library's SN layer: the source's ``u`` (flattened) and ``v = W^T u / ||W^T u||``.

    Without a source ``u`` the vectors are warm-started by 15 power iterations from a fixed seed.
    """
    mat = weight.reshape(weight.shape[0], -1).to(torch.float64)
    if u is None:
        gen = torch.Generator().manual_seed(0)
        u = _normalize(torch.randn(mat.shape[0], generator=gen, dtype=torch.float64), eps)
        for _ in range(15):
            u = _normalize(mat @ _normalize(mat.mT @ u, eps), eps)
    u = u.reshape(-1).to(torch.float64)
    if u.numel() != mat.shape[0]:
        raise ValueError(f"power-iteration vector has {u.numel()} entries, expected {mat.shape[0]} for weight {tuple(weight.shape)}")
    v = _normalize(mat.mT @ u, eps)
    return u.to(weight.dtype), v.to(weight.dtype)


def fill_sn(state: StateDict, model: nn.Module, u_suffix: Optional[str] = None) -> StateDict:
    """Adds ``weight_u`` / ``weight_v`` for every SN layer of ``model`` from ``<layer>.<u_suffix>`` (or warm starts)."""
    from ..layers import _SpectralNorm

    out = dict(state)
    for name, module in model.named_modules():
        if not isinstance(module, _SpectralNorm):
            continue
        prefix = f"{name}." if name else ""
        w = out.get(prefix + "weight")
        if w is None:
            continue  # reported as a missing key by the checked load
        if prefix + "weight_u" in out and prefix + "weight_v" in out:
            continue  # the source kept torch's (u, v) pair
        u = out.pop(prefix + u_suffix, None) if u_suffix else None
        out[prefix + "weight_u"], out[prefix + "weight_v"] = sn_vectors(w, u, module._sn_eps)
    return out


def finish(model: nn.Module, state: StateDict, what: str) -> nn.Module:
    """Checked load (keys and shapes) of the converted state; BN step counters filled in when absent."""
    ref = model.state_dict()
    for key, value in ref.items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    load_state_dict_checked(model, state, what)
    return model


ConvertFn = Callable[[Any, Optional[str]], Converted]


def convert_g_or_d(state: StateDict, preset: Optional[str], g_keys: Sequence[str], convert_g: ConvertFn,
                   d_keys: Sequence[str], convert_d: ConvertFn, error: str) -> Converted:
    """``convert_g`` when ``state`` holds every key of ``g_keys``, else ``convert_d`` when it holds every key of
    ``d_keys``; otherwise ``ValueError(error)`` (the message names the keys a G and a D would have)."""
    if all(k in state for k in g_keys):
        return convert_g(state, preset)
    if all(k in state for k in d_keys):
        return convert_d(state, preset)
    raise ValueError(error)


def int_fields(obj: Mapping[str, Any], keys: Sequence[str]) -> Dict[str, int]:
    """The integer entries ``keys`` of a checkpoint dict (step counters), for :attr:`Converted.source`."""
    return {k: int(obj[k]) for k in keys if isinstance(obj.get(k), int) and not isinstance(obj.get(k), bool)}
