"""torch-mimicry 0.1.16 checkpoints (``kwotsin/mimicry``) -> this library's ``mimicry-*`` presets.

Layouts read from the published code: ``nets/sngan/sngan_{32,48,64,128}.py`` and
``nets/cgan_pd/cgan_pd_{32,128}.py`` name the layers (G: ``l1``, ``block2..``, ``b{L}``, ``c{L}``;
D: ``block1..``, ``l{L}``, ``l_y``); ``modules/resblocks.py`` gives the blocks (``c1``, ``c2``,
``c_sc``, ``b1``, ``b2``); ``modules/layers.py``'s ``SNConv2d`` (the blocks) is ``torch.nn.utils.spectral_norm``
(``weight_orig``, ``weight_u``, ``weight_v``) while the nets' ``SNLinear`` / ``SNEmbedding`` heads use
``modules/spectral_norm.py``, which stores ``sn_u`` ``(1, rows)`` and ``sn_sigma`` and runs one power
iteration on every forward, writing ``u`` in training mode only;
``modules/layers.py``'s conditional BN keeps ``[gamma | beta]`` in one ``embed.weight``
``(classes, 2C)``; ``nets/basemodel/basemodel.py`` saves ``{"model_state_dict", "optimizer_state_dict",
"global_step"}``. The mimicry presets carry its quirks: bilinear upsampling, BN eps 1e-5, the D
head bias, and D shortcuts that read ``ReLU(x)`` (its in-place ReLU).
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Optional

import torch

from ..models import RESNET_D_ARCHS, RESNET_G_ARCHS
from ..presets import get_preset
from ..pretrained import power_iteration_in_eval
from ._common import (Converted, StateDict, block_count, build_target, channel_override, choose_preset,
                      convert_g_or_d, fill_sn, finish, int_fields, rename, torch_sn_names, unwrap)

_CONTAINERS = ("model_state_dict", "state_dict")


def _convert_g(state: StateDict, preset: Optional[str]) -> Converted:
    n = block_count(state, r"block(\d+)\.")
    c0 = state["l1.weight"].shape[0]
    first_in = state["block2.c1.weight"].shape[1] if "block2.c1.weight" in state else 1
    bottom = math.isqrt(c0 // first_in)
    res = bottom * 2 ** n
    embed = [k for k in state if k.endswith(".b1.embed.weight")]
    classes = state[embed[0]].shape[0] if embed else 0
    family = "cgan-pd" if classes else "sngan"
    name = choose_preset([p for p in (f"mimicry-{family}-{res}",) if _exists(p)], preset, "torch-mimicry generator")
    chans = [first_in] + [state[f"block{i}.c2.weight"].shape[0] for i in range(2, n + 2)]
    table = RESNET_G_ARCHS[str(get_preset(name).resolution)].channels
    model = build_target(name, "G", classes, **channel_override(table, chans))
    out: StateDict = {}
    for key, value in state.items():
        m = re.fullmatch(r"block(\d+)\.(b1|b2)\.embed\.weight", key)
        if m:
            c = value.shape[1] // 2
            base = f"blocks.{int(m.group(1)) - 2}.{m.group(2)}"
            out[base + ".weight"], out[base + ".bias"] = value[:, :c], value[:, c:]
            continue
        m = re.fullmatch(r"block(\d+)\.(.+)", key)
        out[f"blocks.{int(m.group(1)) - 2}.{m.group(2)}" if m else key] = value
    out = rename(out, [
        (r"l1\.(weight|bias)", r"dense.\1"),
        (rf"b{n + 2}\.(.+)", r"final_bn.\1"),
        (rf"c{n + 2}\.(weight|bias)", r"conv_out.\1"),
        (r"(blocks\..+)", r"\1"),
    ], "torch-mimicry generator")
    return Converted(finish(model, out, "torch-mimicry generator"), name, "G")


def _convert_d(state: StateDict, preset: Optional[str]) -> Converted:
    n = block_count(state, r"block(\d+)\.")
    classes = state["l_y.weight"].shape[0] if "l_y.weight" in state else 0
    family = "cgan-pd" if classes else "sngan"
    heads = sorted({int(m.group(1)) for k in state for m in [re.fullmatch(r"l(\d+)\..+", k)] if m})
    # (blocks, head layer) -> resolution: 48 and 64 px both have 5 blocks, but name the head l5 and l6.
    by_blocks = {(4, 5): (32,), (5, 5): (48,), (5, 6): (64,), (6, 7): (128,)}.get((n, heads[0] if heads else -1), ())
    name = choose_preset([f"mimicry-{family}-{r}" for r in by_blocks if _exists(f"mimicry-{family}-{r}")], preset,
                         "torch-mimicry discriminator")
    chans = [state[f"block{i}.c2.weight"].shape[0] for i in range(1, n + 1)]
    table = RESNET_D_ARCHS[str(get_preset(name).resolution)].channels
    model = build_target(name, "D", classes, **channel_override(table, chans))
    out = _rename_d(state)
    own_sn = [k[: -len(".sn_u")] for k in out if k.endswith(".sn_u")]  # layers with mimicry's own SN
    out = fill_sn(out, model, "sn_u")
    finish(model, out, "torch-mimicry discriminator")
    # Only mimicry's own SN layers iterate in eval mode too; torch's (the blocks) do not.
    if own_sn:
        power_iteration_in_eval(model, 1, own_sn)
    return Converted(model, name, "D")


def _rename_d(state: StateDict) -> StateDict:
    out: StateDict = {}
    for key, value in state.items():
        if key.endswith("sn_sigma"):
            continue  # recomputed from u on every forward
        m = re.fullmatch(r"block(\d+)\.(.+)", key)
        if m:
            out[f"blocks.{int(m.group(1)) - 1}.{m.group(2)}"] = value
        elif re.fullmatch(r"l\d+\..+", key):  # the head: l5 (32, 48 px), l6 (64), l7 (128)
            out["head.linear." + key.split(".", 1)[1]] = value
        elif key.startswith("l_y."):
            out["head.embed." + key[4:]] = value
        else:
            raise KeyError(f"unexpected key {key!r} for a torch-mimicry discriminator checkpoint")
    return out


def _exists(name: str) -> bool:
    try:
        get_preset(name)
        return True
    except ValueError:
        return False


def convert(obj: Dict[str, Any], preset: Optional[str] = None) -> Converted:
    """Converts a torch-mimicry G or D (a state dict, or the checkpoint dict its Trainer writes).

    Args:
        obj: ``model.state_dict()`` or ``{"model_state_dict": ..., "global_step": ...}``.
        preset: target preset; default inferred from the layer names and shapes.

    Returns:
        :class:`~specnorm_gan.convert.Converted` (the model, its preset, ``"G"`` or ``"D"``).

    Example::

        >>> convert(torch.load("netD/netD_100000_steps.pth"))  # doctest: +SKIP
    """
    # torch.nn.utils.spectral_norm keeps the raw weight as weight_orig (mimicry's blocks).
    state = torch_sn_names(unwrap(obj, _CONTAINERS))
    result = convert_g_or_d(state, preset, ["l1.weight"], _convert_g, ["block1.c1.weight", "block1.c1.weight_u"],
                            _convert_d, "not a torch-mimicry SNGAN / cGAN-PD checkpoint: expected 'l1.weight' (G) or "
                            "'block1.c1.weight_orig' with 'block1.c1.weight_u' (D)")
    result.source = {"format": "mimicry", **int_fields(obj, ["global_step"])}
    return result
