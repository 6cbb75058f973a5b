"""MkDocs hook: writes the generated parts of the pages at build time, so they cannot drift.

In ``architectures.md``, ``<!-- presets-table -->`` becomes the table of every preset of
:func:`specnorm_gan.list_presets`, read from the preset records (:func:`specnorm_gan.get_preset`),
and ``<!-- design-tables -->`` the rows of the architecture tables of :mod:`specnorm_gan.models`.
In ``training.md``, ``<!-- train-flags -->`` becomes the tables of every flag of
``examples/train.py``, read from its argument parser (``build_parser()``).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
MARKERS = {
    "architectures.md": ("<!-- presets-table -->", "<!-- design-tables -->"),
    "training.md": ("<!-- train-flags -->",),
}

# Prefix of a preset name -> the group it is listed under (the seed repositories' grids).
GROUPS = {
    "k2-": "Experiment grid of koshian2/SNGAN (reference section 5.1)",
    "ck-": "ChenKaiXuSan/SNGAN_projection-PyTorch (reference section 5.2)",
    "xy-": "xyfJASON/GANs-Implementations (reference section 5.2)",
    "ct-": "ctjoy/deep-learning-project (reference section 5.2)",
}
PUBLISHED = "Published configurations: the official code, the papers and the major ports"


def _cell(value: Any) -> str:
    """A table cell: pipes escaped; outside code spans, characters Markdown would act on escaped."""
    parts = re.split(r"(`[^`]*`)", str(value).replace("\n", " "))
    for i, part in enumerate(parts):
        if not part.startswith("`"):
            part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            part = re.sub(r"([\\*_\[\]])", r"\\\1", part)
        parts[i] = part.replace("|", "\\|")
    return "".join(parts)


def _lr(value: float) -> str:
    return f"{value:g}"


def presets_markdown() -> str:
    """The presets tables, one per group, as Markdown."""
    import specnorm_gan

    groups: Dict[str, List[str]] = {PUBLISHED: []}
    groups.update({title: [] for title in GROUPS.values()})
    for name in specnorm_gan.list_presets():
        p = specnorm_gan.get_preset(name)
        h = p.hparams
        cond = f"{p.num_classes} classes" if p.num_classes else "uncond."
        lrs = _lr(h.lr_g) if h.lr_g == h.lr_d else f"G {_lr(h.lr_g)} / D {_lr(h.lr_d)}"
        betas = f"{tuple(h.betas_g)}" if h.betas_g == h.betas_d else f"G {tuple(h.betas_g)} / D {tuple(h.betas_d)}"
        opt = h.optimizer_g if h.optimizer_g == h.optimizer_d else f"{h.optimizer_g} / {h.optimizer_d}"
        training = (
            f"{h.loss}, n_dis {h.n_dis}, batch {h.batch_size} (G {h.g_batch_size}), "
            f"{opt} {lrs} {betas}, {h.iterations:,} G steps, "
            + (f"linear decay from {h.decay_start:,}" if h.lr_decay == "linear" else "no decay")
        )
        row = "| " + " | ".join(
            _cell(c)
            for c in (
                f"`{name}`",
                p.description,
                f"{p.dataset}, {p.resolution} px, {cond}",
                f"{p.generator} / {p.discriminator}",
                training,
                p.source,
            )
        ) + " |"
        group = next((title for prefix, title in GROUPS.items() if name.startswith(prefix)), PUBLISHED)
        groups[group].append(row)
    out = []
    for title, rows in groups.items():
        if not rows:
            continue
        out += [
            f"### {title}",
            "",
            "| Preset | What it reproduces | Data | G / D | Training | Source |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(out)


def _flags(values: Any) -> str:
    return "".join("↓" if v else "·" for v in values)


def designs_markdown() -> str:
    """The architecture tables of :mod:`specnorm_gan.models` (one row per design key), as Markdown."""
    from specnorm_gan import models

    out = [
        "#### ResNet generators (`SNResNetGenerator(arch=...)`, `RESNET_G_ARCHS`)",
        "",
        "| Key | Output | Bottom width | Dense, then block output channels | Source |",
        "|---|---|---|---|---|",
    ]
    for key, a in models.RESNET_G_ARCHS.items():
        out.append(f"| `{key}` | {a.resolution} px | {a.bottom_width} | {', '.join(map(str, a.channels))} | {_cell(a.source)} |")
    out += [
        "",
        "#### ResNet discriminators (`SNResNetDiscriminator(arch=...)`, `RESNET_D_ARCHS`)",
        "",
        "Downsampling per block: ↓ halves the size, · keeps it.",
        "",
        "| Key | Block output channels | Downsampling | First block | Block hidden width | Head bias | Source |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, a in models.RESNET_D_ARCHS.items():
        first = a.first_block + (f", stem conv {a.stem[1]}x{a.stem[1]} s{a.stem[2]} p{a.stem[3]} → {a.stem[0]}" if a.stem else "")
        if a.order != "pre":
            first += f", {a.order}-activation blocks"
        out.append(
            f"| `{key}` | {', '.join(map(str, a.channels))} | {_flags(a.downsample)} | {_cell(first)} | {a.hidden} | "
            f"{'yes' if a.head_bias else 'no'} | {_cell(a.source)} |"
        )
    out += [
        "",
        "#### Standard-CNN generators (`SNDCGANGenerator(variant=...)`, `DCGAN_G_ARCHS`)",
        "",
        "| Key | Output | Stem | Deconv 4x4 s2 channels | Output layer | Source |",
        "|---|---|---|---|---|---|",
    ]
    for key, a in models.DCGAN_G_ARCHS.items():
        stem = f"{a.stem} → {a.bottom_width}x{a.bottom_width}x{a.stem_channels}, norm {a.stem_norm}"
        kind, k, st, p = a.out_layer
        out.append(
            f"| `{key}` | {a.resolution} px | {_cell(stem)} | {', '.join(map(str, a.channels))} | "
            f"{kind} {k}x{k} s{st} p{p}, tanh | {_cell(a.source)} |"
        )
    out += [
        "",
        "#### Standard-CNN discriminators (`SNDCGANDiscriminator(variant=...)`, `DCGAN_D_ARCHS`)",
        "",
        "| Key | SN conv layers (channels kernel/stride) | LeakyReLU slope | Head | Published for | Source |",
        "|---|---|---|---|---|---|",
    ]
    for key, a in models.DCGAN_D_ARCHS.items():
        layers = ", ".join(f"{c} {k}/{st}" + (" +BN" if bn else "") for c, k, st, _, bn in a.layers)
        res = ", ".join(f"{r} px" for r in a.resolutions)
        out.append(f"| `{key}` | {layers} | {a.negative_slope:g} | {a.head} | {res} | {_cell(a.source)} |")
    return "\n".join(out) + "\n"


def _train_parser() -> argparse.ArgumentParser:
    spec = importlib.util.spec_from_file_location("_specnorm_gan_train_script", ROOT / "examples" / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the script only runs under __main__
    return module.build_parser(prog="train.py")


def _flag_cell(action: argparse.Action) -> str:
    names = ", ".join(f"`{o}`" for o in action.option_strings)
    if action.choices is not None:
        names += " `{" + ",".join(map(str, action.choices)) + "}`"
    elif action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction):
        pass
    elif action.metavar is not None:
        meta = action.metavar if isinstance(action.metavar, str) else " ".join(action.metavar)
        names += f" `{meta}`" if action.nargs != "?" else f" `[{meta}]`"
    else:
        names += f" `{action.dest.upper()}`"
    return names


def train_flags_markdown() -> str:
    """Every option of ``examples/train.py`` as Markdown tables, one per argument group."""
    parser = _train_parser()
    out: List[str] = []
    for group in parser._action_groups:  # argparse keeps its groups here (stable since Python 3.2)
        actions = [a for a in group._group_actions if a.option_strings and a.help != argparse.SUPPRESS]
        actions = [a for a in actions if "-h" not in a.option_strings]
        if not actions:
            continue
        out += [f"#### {group.title[0].upper() + group.title[1:]}", "", "| Flag | Meaning |", "|---|---|"]
        for action in actions:
            out.append(f"| {_flag_cell(action)} | {_cell(action.help or '')} |")
        out.append("")
    return "\n".join(out)


GENERATORS = {
    "<!-- presets-table -->": presets_markdown,
    "<!-- design-tables -->": designs_markdown,
    "<!-- train-flags -->": train_flags_markdown,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    for marker in MARKERS.get(page.file.src_uri, ()):
        if marker not in markdown:
            from mkdocs.exceptions import PluginError

            raise PluginError(f"{page.file.src_uri} lost its {marker} marker")
        markdown = markdown.replace(marker, GENERATORS[marker]())
    return markdown
