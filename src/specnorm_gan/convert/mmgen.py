"""mmgeneration / mmagic SNGAN and SNGAN-Proj checkpoints (``open-mmlab/mmgeneration``) -> ``mmgen-*`` presets.

Layout read from the published code: ``mmgen/models/architectures/sngan_proj/generator_discriminator.py``
(``SNGANGenerator``: ``noise2feat``, ``conv_blocks.<i>``, ``to_rgb`` = mmcv ``ConvModule`` with ``bn`` then
``conv``; ``ProjDiscriminator``: ``from_rgb``, ``conv_blocks.<i>``, ``decision`` and ``proj_y`` under
``torch.nn.utils.spectral_norm``; channel tables ``32: [1, 1, 1]`` x 256 (G) / x 128 (D) and
``128: [16, 16, 8, 4, 2]`` x 64 (G), ``[2, 4, 8, 16, 16]`` x 64 (D)) and ``modules.py``
(``SNGANGenResBlock`` / ``SNGANDiscResBlock`` / ``SNGANDiscHeadResBlock``: ``conv_1.conv``, ``conv_2.conv``,
``shortcut.conv``, hidden width = out; ``SNConditionNorm``: ``norm`` + ``weight_embedding`` /
``bias_embedding``, the gain being ``1 + weight_embedding(y)`` when ``init_cfg`` is ``BigGAN`` or
``studio`` (all published configs) and ``weight_embedding(y)`` for the ``SNGAN`` inits). Checkpoints are
mmcv's ``{"meta", "state_dict", "optimizer"}`` with ``generator.`` / ``discriminator.`` prefixes (and
``generator_ema.`` where the config keeps an EMA); a file holding both becomes a GAN folder.

The ``wReLUinplace`` configs make the D shortcut read ``ReLU(x)``; the weights do not say which config
trained them, so a D asks for ``--preset mmgen-...`` or ``mmgen-...-inplace`` unless the checkpoint's
``meta["config"]`` text answers it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..models import RESNET_D_ARCHS, RESNET_G_ARCHS
from ..presets import GANSpec, get_preset
from ._common import (Converted, StateDict, block_count, build_target, channel_override, choose_preset, fill_sn,
                      finish, rename, torch_sn_names, unwrap)

_WHAT_G, _WHAT_D = "mmgeneration SNGAN generator", "mmgeneration SNGAN discriminator"
_DATA = {32: "cifar10", 128: "imagenet128"}
_P = r"(weight|bias)"
_SN = r"(weight|bias|weight_u|weight_v)"
_BN = r"(weight|bias|running_mean|running_var|num_batches_tracked)"


def _conv_rules(params: str) -> List[Tuple[str, str]]:
    return [(rf"{src}\.conv\.{params}", rf"{dst}.\1") for src, dst in (("conv_1", "c1"), ("conv_2", "c2"), ("shortcut", "c_sc"))]


def _per_block(state: StateDict, prefix: str, rules: List[Tuple[str, str]], offset: int, what: str) -> StateDict:
    out: StateDict = {}
    for key, value in state.items():
        m = re.fullmatch(rf"{prefix}(.+)", key)
        if m is None:
            out[key] = value
            continue
        index, rest = (int(m.group(1)), m.group(2)) if m.lastindex == 2 else (0, m.group(1))
        out.update({f"blocks.{index + offset}.{k}": v for k, v in rename({rest: value}, rules, what).items()})
    return out


def _config_text(obj: Mapping[str, Any]) -> str:
    meta = obj.get("meta")
    return str(meta.get("config", "")) if isinstance(meta, Mapping) else ""


def _convert_g(state: StateDict, preset: Optional[str], reweight: bool) -> Converted:
    n = block_count(state, r"conv_blocks\.(\d+)\.")
    first_in = state["conv_blocks.0.conv_1.conv.weight"].shape[1] if "conv_blocks.0.conv_1.conv.weight" in state else 1
    res = math.isqrt(state["noise2feat.weight"].shape[0] // first_in) * 2 ** n
    emb = "conv_blocks.0.norm_1.weight_embedding.weight"
    classes = state[emb].shape[0] if emb in state else 0
    family = "projection" if classes else "sngan"
    name = choose_preset([f"mmgen-{_DATA[res]}-{family}"] if res in _DATA else [], preset, f"{_WHAT_G} ({res} px)")
    chans = [first_in] + [state[k].shape[0] for i in range(n) for k in [f"conv_blocks.{i}.conv_2.conv.weight"] if k in state]
    table = RESNET_G_ARCHS[str(get_preset(name).resolution)].channels
    model = build_target(name, "G", classes, **channel_override(table, chans))
    shift = 1.0 if reweight else 0.0
    state = {k: (v + shift if k.endswith(".weight_embedding.weight") else v) for k, v in state.items()}
    rules = _conv_rules(_P) + [
        (r"norm_([12])\.weight_embedding\.weight", r"b\1.weight"),
        (r"norm_([12])\.bias_embedding\.weight", r"b\1.bias"),
        (rf"norm_([12])\.norm\.{_BN}", (r"b\1.bn.\2" if classes else r"b\1.\2")),
    ]
    out = _per_block(state, r"conv_blocks\.(\d+)\.", rules, 0, _WHAT_G)
    out = rename(out, [(rf"noise2feat\.{_P}", r"dense.\1"), (rf"to_rgb\.conv\.{_P}", r"conv_out.\1"),
                       (rf"to_rgb\.bn\.{_BN}", r"final_bn.\1"), (r"(blocks\..+)", r"\1")], _WHAT_G)
    return Converted(finish(model, out, _WHAT_G), name, "G")


def _convert_d(state: StateDict, preset: Optional[str], config: str) -> Converted:
    n = 1 + block_count(state, r"conv_blocks\.(\d+)\.")
    classes = state["proj_y.weight"].shape[0] if "proj_y.weight" in state else 0
    res = {4: 32, 6: 128}.get(n, 0)
    base = f"mmgen-{_DATA[res]}-{'projection' if classes else 'sngan'}" if res else ""
    candidates = [base, base + "-inplace"] if res else []
    if config and res:  # the training config says whether its ReLUs were in place
        candidates = [base + "-inplace"] if re.search(r"type=.ReLU.,\s*inplace=True", config) else [base]
    name = choose_preset(candidates, preset, f"{_WHAT_D} ({n} blocks; in-place ReLU or not is not in the weights)")
    chans = [state[k].shape[0] for k in ["from_rgb.conv_2.conv.weight"] + [f"conv_blocks.{i}.conv_2.conv.weight" for i in range(n - 1)]
             if k in state]
    table = RESNET_D_ARCHS[str(get_preset(name).resolution)].channels
    model = build_target(name, "D", classes, **channel_override(table, chans))
    out = _per_block(state, r"from_rgb\.", _conv_rules(_SN), 0, _WHAT_D)
    out = _per_block(out, r"conv_blocks\.(\d+)\.", _conv_rules(_SN), 1, _WHAT_D)
    out = rename(out, [(rf"decision\.{_SN}", r"head.linear.\1"), (rf"proj_y\.{_SN}", r"head.embed.\1"),
                       (r"(blocks\..+)", r"\1")], _WHAT_D)
    return Converted(finish(model, fill_sn(out, model), _WHAT_D), name, "D")


def _split(state: StateDict) -> Dict[str, StateDict]:
    parts: Dict[str, StateDict] = {}
    for key, value in state.items():
        for prefix in ("generator_ema.module.", "generator_ema.", "generator.", "discriminator."):
            if key.startswith(prefix):
                parts.setdefault(prefix.split(".")[0], {})[key[len(prefix):]] = value
                break
    parts.get("generator_ema", {}).pop("steps", None)  # mmagic's EMA step counter
    return parts


def convert(obj: Dict[str, Any], preset: Optional[str] = None) -> Converted:
    """Converts an mmgen / mmagic SNGAN(-Proj) G, D, or whole-model checkpoint (G and D -> a GAN).

    Args:
        obj: mmcv's ``{"meta", "state_dict", ...}`` (keys ``generator.*`` / ``discriminator.*``), or a bare
            ``SNGANGenerator`` / ``ProjDiscriminator`` state dict.
        preset: target preset (a D needs it unless ``meta["config"]`` tells whether ReLUs were in place).

    Returns:
        :class:`~specnorm_gan.convert.Converted`; for a whole model ``kind == "GAN"`` and ``model`` is a
        :class:`~specnorm_gan.GANSpec` (G from ``generator_ema`` where present).

    Example::

        >>> convert(torch.load("sngan_proj_cifar10_32_woReLUinplace.pth"), "mmgen-cifar10-projection")  # doctest: +SKIP
    """
    config = _config_text(obj)
    m = re.search(r"init_cfg\s*=\s*dict\(\s*type\s*=\s*['\"]([\w-]+)['\"]", config)
    reweight = m is None or m.group(1).upper() in ("BIGGAN", "STUDIO")
    state = torch_sn_names(unwrap(obj, ("state_dict",)))
    parts = _split(state)
    if parts:
        g_key = "generator_ema" if "generator_ema" in parts else "generator"
        if g_key not in parts or "discriminator" not in parts:
            raise ValueError(f"mmgen checkpoint holds {sorted(parts)}; expected 'generator' and 'discriminator'")
        d = _convert_d(parts["discriminator"], preset, config)
        g = _convert_g(parts[g_key], d.preset, reweight)
        spec = GANSpec(G=g.model, D=d.model, hparams=get_preset(d.preset).hparams, preset=get_preset(d.preset))
        result = Converted(spec, d.preset, "GAN")
        result.source = {"format": "mmgen", "generator": g_key}
    elif "noise2feat.weight" in state:
        result = _convert_g(state, preset, reweight)
    elif "from_rgb.conv_1.conv.weight" in state and "decision.weight" in state:
        result = _convert_d(state, preset, config)
    else:
        raise ValueError("not an mmgeneration SNGAN checkpoint: expected 'generator.noise2feat.weight' / "
                         "'discriminator.from_rgb.conv_1.conv.weight_orig', or a bare G ('noise2feat.weight') or "
                         "D ('from_rgb.conv_1.conv.weight_orig') state dict")
    result.source.setdefault("format", "mmgen")
    result.source["cbn_gain_plus_one"] = reweight
    meta = obj.get("meta")
    if isinstance(meta, Mapping) and isinstance(meta.get("iter"), int):
        result.source["iter"] = int(meta["iter"])
    return result
