"""Official Chainer ``sngan_projection`` snapshots (``pfnet-research/sngan_projection``) -> its presets.

Layout read from the published code: ``chainer.serializers.save_npz`` writes one array per persistent
value under the link path, e.g. ``block2/c1/W``. ``gen_models/resnet_32.py`` / ``resnet_64.py`` /
``resnet.py`` / ``resnet_small.py`` name G ``l1`` (dense), ``block2 ...`` (``gen_models/resblocks.py``:
``c1``, ``c2``, ``c_sc``, ``b1``, ``b2``), ``b<L>`` and the output convolution ``c<L>`` (32 px) or
``l<L>`` (64, 128 px). ``dis_models/snresnet*.py`` name D ``block1 ...`` (``dis_models/resblocks.py``),
the head ``l<L>`` and the projection ``l_y``. Links: ``L.Linear`` / ``L.Convolution2D`` hold ``W``
(torch's layout) and ``b``; ``L.BatchNormalization`` ``gamma``, ``beta``, ``avg_mean``, ``avg_var``, ``N``;
``source/links/categorical_conditional_batch_normalization.py`` ``gammas/W``, ``betas/W`` (``(classes, C)``
embeddings) beside ``avg_mean``, ``avg_var``, ``N``; ``sn_convolution_2d.py`` / ``sn_linear.py`` /
``sn_embed_id.py`` add ``u`` of shape ``(1, rows)``, and ``source/functions/max_sv.py`` runs one power
iteration from ``u`` on every forward, storing it in training mode (the converted D does the same:
one iteration in eval mode too, nothing stored). A trainer snapshot holds the models under
``updater/model:gen/`` and ``updater/model:dis/`` (and becomes a GAN folder). ``N`` (fine-tuning
batch count) has no counterpart and is dropped.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..models import RESNET_D_ARCHS, RESNET_G_ARCHS
from ..presets import PRESETS, GANSpec, Preset, get_preset
from ..pretrained import power_iteration_in_eval
from ._common import (Converted, StateDict, build_target, channel_override, choose_preset, convert_g_or_d, fill_sn, finish,
                      rename)

_WHAT_G, _WHAT_D = "Chainer sngan_projection generator", "Chainer sngan_projection discriminator"
_PREFIXES = {"G": "updater/model:gen/", "D": "updater/model:dis/"}


def read(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Reads a ``save_npz`` file (no pickle) into ``{"link/path": tensor}``; non-numeric entries are skipped.

    Example::

        >>> import tempfile, numpy as np
        >>> path = tempfile.mkdtemp() + "/gen.npz"
        >>> np.savez(path, **{"l1/W": np.zeros((4, 2), "f"), "b5/N": np.array(0)})
        >>> sorted(read(path))
        ['b5/N', 'l1/W']
    """
    import numpy as np

    what = f"{path}: not a numpy .npz archive of arrays as chainer.serializers.save_npz writes"
    try:
        data = np.load(os.fspath(path), allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f"{what} ({err})") from err
    if not hasattr(data, "files"):  # a single .npy array
        raise ValueError(f"{what} (a single array)")
    with data:
        arrays = {k: np.asarray(data[k]) for k in data.files}
    tensors = {k: torch.from_numpy(a) for k, a in arrays.items() if a.dtype.kind in "biuf"}
    if not tensors:
        raise ValueError(f"{what} (no numeric arrays in it)")
    return tensors


def _candidates(kind: str, resolution: int, classes: int, chans: Sequence[int]) -> List[str]:
    """The official (``CH``) projection presets of ``resolution``; exact widths first, then the class count."""

    def table(p: Preset) -> Tuple[int, ...]:
        if kind == "G":
            return RESNET_G_ARCHS[str(p.g_kwargs.get("arch", p.resolution))].channels
        return RESNET_D_ARCHS[str(p.d_kwargs.get("arch", p.resolution))].channels

    pool = [p for p in PRESETS.values() if p.source.startswith("CH ") and p.generator == "resnet"
            and p.resolution == resolution and "conditioning" not in p.d_kwargs and (p.num_classes > 0) == (classes > 0)]
    exact = [p for p in pool if tuple(table(p)) == tuple(chans)] or [p for p in pool if len(table(p)) == len(chans)]
    same = [p for p in exact if p.num_classes == classes]
    return [p.name for p in (same or exact)]


def _block_index(state: StateDict, offset: int) -> StateDict:
    return {re.sub(r"^block(\d+)\.", lambda m: f"blocks.{int(m.group(1)) - offset}.", k): v for k, v in state.items()}


def _convert_g(state: StateDict, preset: Optional[str]) -> Converted:
    n = len({int(m.group(1)) for k in state for m in [re.match(r"block(\d+)\.", k)] if m})
    first_in = state["block2.c1.W"].shape[1] if "block2.c1.W" in state else 1
    res = math.isqrt(state["l1.W"].shape[0] // first_in) * 2 ** n
    classes = state["block2.b1.gammas.W"].shape[0] if "block2.b1.gammas.W" in state else 0
    chans = [first_in] + [state[k].shape[0] for i in range(2, n + 2) for k in [f"block{i}.c2.W"] if k in state]
    name = choose_preset(_candidates("G", res, classes, chans), preset, f"{_WHAT_G} ({res} px)")
    record = get_preset(name)
    table = RESNET_G_ARCHS[str(record.g_kwargs.get("arch", record.resolution))].channels
    model = build_target(name, "G", classes, **channel_override(table, chans))
    stats = r"\1.bn.running_\2" if classes else r"\1.running_\2"  # cBN keeps its statistics in an inner BN
    out = rename(_block_index(state, 2), [
        (r"l1\.W", "dense.weight"), (r"l1\.b", "dense.bias"),
        (r"(blocks\.\d+\.c1|blocks\.\d+\.c2|blocks\.\d+\.c_sc)\.W", r"\1.weight"),
        (r"(blocks\.\d+\.c1|blocks\.\d+\.c2|blocks\.\d+\.c_sc)\.b", r"\1.bias"),
        (r"(blocks\.\d+\.b[12])\.(?:gammas\.W|gamma)", r"\1.weight"),
        (r"(blocks\.\d+\.b[12])\.(?:betas\.W|beta)", r"\1.bias"),
        (r"(blocks\.\d+\.b[12])\.avg_(mean|var)", stats),
        (r"blocks\.\d+\.b[12]\.N", ""),
        (rf"b{n + 2}\.gamma", "final_bn.weight"), (rf"b{n + 2}\.beta", "final_bn.bias"),
        (rf"b{n + 2}\.avg_(mean|var)", r"final_bn.running_\1"), (rf"b{n + 2}\.N", ""),
        (rf"[cl]{n + 2}\.W", "conv_out.weight"), (rf"[cl]{n + 2}\.b", "conv_out.bias"),
    ], _WHAT_G)
    return Converted(finish(model, out, _WHAT_G), name, "G")


def _convert_d(state: StateDict, preset: Optional[str]) -> Converted:
    n = len({int(m.group(1)) for k in state for m in [re.match(r"block(\d+)\.", k)] if m})
    heads = sorted({int(m.group(1)) for k in state for m in [re.fullmatch(r"l(\d+)\..+", k)] if m})
    classes = state["l_y.W"].shape[0] if "l_y.W" in state else 0
    res = {(4, 5): 32, (5, 6): 64, (6, 7): 128, (7, 8): 256}.get((n, heads[0] if heads else -1), 0)
    chans = [state[k].shape[0] for i in range(1, n + 1) for k in [f"block{i}.c2.W"] if k in state]
    name = choose_preset(_candidates("D", res, classes, chans) if res else [], preset, f"{_WHAT_D} ({n} blocks)")
    record = get_preset(name)
    table = RESNET_D_ARCHS[str(record.d_kwargs.get("arch", record.resolution))].channels
    model = build_target(name, "D", classes, **channel_override(table, chans))
    head = heads[0] if heads else 0
    out = rename(_block_index(state, 1), [
        (r"(blocks\.\d+\.c(?:1|2|_sc))\.W", r"\1.weight"), (r"(blocks\.\d+\.c(?:1|2|_sc))\.(b)", r"\1.bias"),
        (r"(blocks\.\d+\.c(?:1|2|_sc))\.u", r"\1.u"),
        (rf"l{head}\.W", "head.linear.weight"), (rf"l{head}\.b", "head.linear.bias"), (rf"l{head}\.u", "head.linear.u"),
        (r"l_y\.W", "head.embed.weight"), (r"l_y\.u", "head.embed.u"),
    ], _WHAT_D)
    out = fill_sn(out, model, "u")
    finish(model, out, _WHAT_D)
    # max_sv.py iterates on every forward (eval included): so does the converted D, storing nothing in eval.
    sn_layers = [k[: -len(".weight_u")] for k in model.state_dict() if k.endswith(".weight_u")]
    power_iteration_in_eval(model, 1, sn_layers)
    return Converted(model, name, "D")


def convert(obj: Dict[str, Any], preset: Optional[str] = None) -> Converted:
    """Converts an official Chainer G or D snapshot (``snapshot_object``), or a trainer snapshot holding both.

    Args:
        obj: ``{"block2/c1/W": array, ...}`` as :func:`read` returns it.
        preset: target preset; default inferred (the official config of that resolution and class count).

    Returns:
        :class:`~specnorm_gan.convert.Converted` (``kind == "GAN"`` for a trainer snapshot).

    Example::

        >>> convert(read("ResNetGenerator_50000.npz"))  # doctest: +SKIP
    """
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    parts = {kind: {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)} for kind, p in _PREFIXES.items()}
    dotted = {kind: {k.replace("/", "."): v for k, v in part.items()} for kind, part in parts.items()}
    if dotted["G"] and dotted["D"]:
        d = _convert_d(dotted["D"], preset)
        g = _convert_g(dotted["G"], d.preset)
        spec = GANSpec(G=g.model, D=d.model, hparams=get_preset(d.preset).hparams, preset=get_preset(d.preset))
        result = Converted(spec, d.preset, "GAN")
    else:
        state = {k.replace("/", "."): v for k, v in tensors.items()}
        result = convert_g_or_d(state, preset, ["l1.W"], _convert_g, ["block1.c1.W", "block1.c1.u"], _convert_d,
                                "not a Chainer sngan_projection snapshot: expected 'l1/W' (G), 'block1/c1/W' with "
                                "'block1/c1/u' (D), or a trainer snapshot with 'updater/model:gen/...' and "
                                "'updater/model:dis/...'")
    result.source = {"format": "chainer"}
    return result
