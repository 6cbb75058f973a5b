"""PyTorch-StudioGAN ResNet SNGAN checkpoints (``POSTECH-CVLab/PyTorch-StudioGAN``) -> ``studiogan-*`` presets.

Layout read from the published code (v0.4): ``src/models/resnet.py`` names the layers (G:
``linear0``, ``blocks.<i>.0`` :class:`GenBlock` with ``bn1``, ``conv2d1``, ``bn2``, ``conv2d2`` and
the always-present 1x1 shortcut ``conv2d0``, then ``bn4``, ``conv2d5``; D: ``blocks.<i>.0``
``DiscOptBlock`` / ``DiscBlock`` with ``conv2d0`` (shortcut, absent when a block neither
downsamples nor changes width), ``conv2d1``, ``conv2d2``, the head ``linear1`` (with bias) and the
projection ``embedding``); ``src/utils/ops.py`` gives ``snconv2d`` / ``snlinear`` / ``sn_embedding``
as ``torch.nn.utils.spectral_norm(..., eps=1e-6)`` (``weight_orig``, ``weight_u``, ``weight_v``),
BN with eps 1e-4 and the conditional BN ``bn`` (affine-free) + ``embed0`` (gain ``1 + embed0(y)``)
+ ``embed1`` (shift); ``src/utils/ckpt.py`` reads ``{"state_dict", "seed", "run_name", "step", ...}``
from ``model=G-*.pth`` / ``model=D-*.pth`` / ``model=G_ema-*.pth``. The ``studiogan-*`` presets carry
its quirks: D blocks whose shortcut reads ``ReLU(x)`` (its ``nn.ReLU(inplace=True)`` runs on the
tensor the shortcut keeps), D hidden width = out, a D head bias, BN eps 1e-4.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

from ..models import RESNET_D_ARCHS, RESNET_G_ARCHS
from ._common import (Converted, StateDict, block_count, build_target, channel_override, choose_preset,
                      convert_g_or_d, fill_sn, finish, int_fields, rename, torch_sn_names, unwrap)

_CONTAINERS = ("state_dict",)
_WHAT_G, _WHAT_D = "PyTorch-StudioGAN generator", "PyTorch-StudioGAN discriminator"
_P = r"(weight|bias)"
_BN = r"(weight|bias|running_mean|running_var|num_batches_tracked)"
_CONV = {"conv2d0": "c_sc", "conv2d1": "c1", "conv2d2": "c2"}


def _preset_name(resolution: int, classes: int, preset: Optional[str], what: str) -> str:
    family = "projection" if classes else "sngan"
    candidates = [f"studiogan-{family}-32"] if resolution == 32 else []
    return choose_preset(candidates, preset, f"{what} ({resolution} px; only 32 px is supported)")


def _block_rules(params: str) -> List[Tuple[str, str]]:
    return [(rf"blocks\.(\d+)\.0\.{src}\.{params}", rf"blocks.\1.{dst}.\2") for src, dst in _CONV.items()]


def _convert_g(state: StateDict, preset: Optional[str]) -> Converted:
    n = block_count(state, r"blocks\.(\d+)\.0\.")
    first_in = state["blocks.0.0.conv2d1.weight"].shape[1] if "blocks.0.0.conv2d1.weight" in state else 1
    res = math.isqrt(state["linear0.weight"].shape[0] // first_in) * 2 ** n
    classes = state["blocks.0.0.bn1.embed0.weight"].shape[0] if "blocks.0.0.bn1.embed0.weight" in state else 0
    name = _preset_name(res, classes, preset, _WHAT_G)
    chans = [first_in] + [state[f"blocks.{i}.0.conv2d2.weight"].shape[0] for i in range(n) if f"blocks.{i}.0.conv2d2.weight" in state]
    model = build_target(name, "G", classes, **channel_override(RESNET_G_ARCHS["32"].channels, chans))
    # cBN: gamma = 1 + embed0(y), beta = embed1(y); this library stores gamma itself.
    state = {k: (1 + v if k.endswith(".embed0.weight") else v) for k, v in state.items()}
    out = rename(state, [
        (rf"linear0\.{_P}", r"dense.\1"),
        *_block_rules(_P),
        (r"blocks\.(\d+)\.0\.bn([12])\.embed0\.weight", r"blocks.\1.b\2.weight"),
        (r"blocks\.(\d+)\.0\.bn([12])\.embed1\.weight", r"blocks.\1.b\2.bias"),
        (rf"blocks\.(\d+)\.0\.bn([12])\.bn\.{_BN}", r"blocks.\1.b\2.bn.\3"),
        (rf"blocks\.(\d+)\.0\.bn([12])\.{_BN}", r"blocks.\1.b\2.\3"),
        (rf"bn4\.{_BN}", r"final_bn.\1"),
        (rf"conv2d5\.{_P}", r"conv_out.\1"),
    ], _WHAT_G)
    return Converted(finish(model, out, _WHAT_G), name, "G")


def _convert_d(state: StateDict, preset: Optional[str]) -> Converted:
    n = block_count(state, r"blocks\.(\d+)\.0\.")
    classes = state["embedding.weight"].shape[0] if "embedding.weight" in state else 0
    name = _preset_name({4: 32}.get(n, -n), classes, preset, _WHAT_D)
    chans = [state[f"blocks.{i}.0.conv2d2.weight"].shape[0] for i in range(n) if f"blocks.{i}.0.conv2d2.weight" in state]
    model = build_target(name, "D", classes, **channel_override(RESNET_D_ARCHS["32"].channels, chans))
    sn = r"(weight|bias|weight_u|weight_v)"
    out = rename(state, [*_block_rules(sn), (rf"linear1\.{sn}", r"head.linear.\1"), (rf"embedding\.{sn}", r"head.embed.\1")], _WHAT_D)
    return Converted(finish(model, fill_sn(out, model), _WHAT_D), name, "D")


def convert(obj: Dict[str, Any], preset: Optional[str] = None) -> Converted:
    """Converts a StudioGAN ResNet G, G_ema or D (a state dict, or the checkpoint dict it saves).

    Args:
        obj: ``model.state_dict()`` or ``{"state_dict": ..., "step": ..., ...}``.
        preset: target preset; default inferred (``studiogan-sngan-32`` / ``studiogan-projection-32``).

    Returns:
        :class:`~specnorm_gan.convert.Converted`.

    Example::

        >>> convert(torch.load("model=G-best-weights-step=100000.pth"))  # doctest: +SKIP
    """
    state = torch_sn_names(unwrap(obj, _CONTAINERS))
    result = convert_g_or_d(state, preset, ["linear0.weight"], _convert_g,
                            ["linear1.weight", "blocks.0.0.conv2d1.weight"], _convert_d,
                            "not a PyTorch-StudioGAN ResNet checkpoint: expected 'linear0.weight' (G) or "
                            "'blocks.0.0.conv2d1.weight_orig' with 'linear1.weight_orig' (D)")
    result.source = {"format": "studiogan", **int_fields(obj, ["step", "best_step"])}
    return result
