"""The suite's markdown report (``docs/benchmarks-suite.md``) and its plots.

:func:`write_report` writes the sections in the order the suite runs them; each ``_*_md`` helper
appends one part of the report to the list of lines ``w`` appends to.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, List, Optional

from _harness import fmt_mib, fmt_ratio, fmt_time, md_table, med, mem_ratio
from _suite_dupdate import SCALING_PRESET
from _suite_presets import NOT_PICKED

Write = Callable[[str], None]


def _plot(rows: List[Dict[str, Any]], x_key: str, xlabel: str, path: str, title: str, log_x: bool) -> Optional[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return None
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 3.8))
    xs = [r[x_key] for r in rows]
    styles = {"ours": ("specnorm-gan (fused)", "-o"), "torch": ("torch parametrizations.spectral_norm", "--s"),
              "none": ("no spectral norm", ":^")}
    for k, (label, style) in styles.items():
        t = [med(r["times"][k]) * 1e3 for r in rows]
        lo = [min(r["times"][k]) * 1e3 for r in rows]
        hi = [max(r["times"][k]) * 1e3 for r in rows]
        ax_t.plot(xs, t, style, label=label)
        ax_t.fill_between(xs, lo, hi, alpha=0.15)
        m = [(r["mem"][k] or 0) / 2 ** 20 for r in rows]
        ax_m.plot(xs, m, style, label=label)
    for ax in (ax_t, ax_m):
        ax.set_xlabel(xlabel)
        if log_x:
            ax.set_xscale("log", base=2)
        ax.set_xticks(xs)
        ax.set_xticklabels([str(x) for x in xs])
        ax.grid(alpha=0.3)
    ax_t.set_yscale("log")
    ax_t.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax_t.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax_t.set_ylabel("D update time, ms (median, min-max band)")
    ax_m.set_ylabel("peak RSS growth of the step, MiB")
    ax_t.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _header_md(w: Write, results: Dict[str, Any], args: argparse.Namespace) -> None:
    w("# Benchmarks: speed and memory")
    w("")
    w("<!-- written by benchmarks/suite.py; do not edit by hand -->")
    w("")
    w(f"Command: `{results['command']}` ({results['total_s'] / 60:.1f} min on this machine).")
    w("")
    for line in results["machine"]:
        w(line)
    w("")
    if args.quick:
        w(f"**Smoke run (`--quick`): width multiplier {args.width}, tiny batches, few repeats. Not a measurement.**")
        w("")
    w("How to read: *ours* is specnorm-gan (fused power iteration); *torch* is the same network, a deep copy with each "
      "spectral-norm layer turned back into the plain torch layer with the same raw weight and `u`/`v`, wrapped by "
      "`torch.nn.utils.parametrizations.spectral_norm`. Before timing, each baseline was checked to have the same "
      "parameter count and number of spectral-normalized layers, and the same outputs in eval mode (relative "
      "difference <= 1e-4; column *baseline check*). In training mode each forward runs one power-iteration step; "
      "torch updates `u` then `v`, specnorm-gan `v` then `u` (Algorithm 1 of the SNGAN paper), so after that step the "
      "outputs agree only to within the iteration's convergence (checked <= 5%, reported as *train diff*). The same "
      "number of matrix-vector products either way. Repeats are interleaved (ours, torch, torch, ours, "
      "...) in one process; ratios are ours / torch per repeat, given as median (min-max). Timings exclude a warm-up "
      "at batch 1 and two untimed steps at the timed batch (the second one measures memory).")
    w("")
    w("Memory: *peak RSS growth* of one step over the resident set just before it, after returning glibc's free heap "
      "to the OS (`malloc_trim`) and resetting the kernel's high-water mark (`/proc/self/clear_refs`): the "
      "activations, gradients and temporaries of that step. The state that lives across steps (parameters, buffers, "
      "Adam moments of G and D) is listed separately; the process's peak is about state + step growth + the Python/torch "
      "runtime.")
    w("")


def _summary_md(w: Write, results: Dict[str, Any]) -> None:
    pres = results.get("presets", [])
    summary: List[str] = []
    if pres:
        for what, name in (("d", "D step"), ("g", "G step"), ("it", "training iteration")):
            meds = [med(r["ratios"][what]) for r in pres]
            summary.append(f"{name}, ours / torch over the {len(pres)} presets: median {med(meds):.3f}, "
                           f"range of the per-preset medians {min(meds):.3f}-{max(meds):.3f}.")
    for key, label in (("batch_scaling", "batch"), ("resolution_scaling", "resolution")):
        rows = results.get(key, [])
        if rows:
            summary.append(
                f"Share of a D update spent in spectral norm, against {label} ("
                + ", ".join(f"{r['batch' if label == 'batch' else 'resolution']}: ours {med(r['share_ours']):.0%} / "
                            f"torch {med(r['share_torch']):.0%}" for r in rows) + ").")
    opt = results.get("options")
    if opt:
        summary.append("Options on the 32 px ResNet D update, time x default: " + "; ".join(
            f"{r['option'].split(' (')[0]} {med(r['vs_default']):.2f}" for r in opt["rows"][1:]) + ".")
    if summary:
        w("## Summary")
        w("")
        for line in summary:
            w(f"- {line}")
        w("")


PRESET_HEADER = ["preset", "px", "G/D", "classes", "batch D/G timed (published)", "n_dis", "D step ours", "D ours/torch",
                 "G step ours", "G ours/torch", "iteration ours", "iteration ours/torch", "images/s ours / torch",
                 "repeats"]
MEMORY_HEADER = ["preset", "G params", "D params", "state G+D ours / torch, MiB", "D step growth ours / torch, MiB (ratio)",
                 "G step growth ours / torch, MiB (ratio)", "baseline check (D)"]


def _preset_row(r: Dict[str, Any]) -> List[str]:
    pub, b = r["published_batch"], r["batch"]
    bs = f"{b[0]}/{b[1]}" + ("" if not r["reduced"] else f" **reduced** ({pub[0]}/{pub[1]})")
    it = fmt_time(med(r["times"]["ours"]["it"])) + ("" if r["direct_iteration"] else " (derived)")
    t = r["times"]["ours"]
    return [r["label"], str(r["resolution"]), r["arch"], str(r["num_classes"] or "-"), bs, str(r["n_dis"]),
            fmt_time(med(t["d"])), fmt_ratio(r["ratios"]["d"]), fmt_time(med(t["g"])), fmt_ratio(r["ratios"]["g"]), it,
            fmt_ratio(r["ratios"]["it"]), f"{r['img_s']['ours']:.1f} / {r['img_s']['torch']:.1f}", str(r["repeats"])]


def _memory_row(r: Dict[str, Any]) -> List[str]:
    m = r["mem"]

    def growth(step: str) -> str:
        return f"{fmt_mib(m['ours'][step])} / {fmt_mib(m['torch'][step])} ({mem_ratio(m['ours'][step], m['torch'][step])})"

    return [r["label"], f"{r['params_g']:,}", f"{r['params_d']:,}",
            f"{fmt_mib(r['state']['ours'])} / {fmt_mib(r['state']['torch'])}", growth("d"), growth("g"), r["check_d"]]


def _presets_md(w: Write, pres: List[Dict[str, Any]], args: argparse.Namespace) -> None:
    if pres:
        w("## Presets: D step, G step, training iteration")
        w("")
        w("`Trainer.d_step()` (a real batch, fakes from G under `no_grad`, D forward on the concatenated real+fake "
          "batch, hinge loss, backward, Adam), `Trainer.g_step()` (G forward, D forward in training mode, backward, "
          "Adam), `Trainer.train_iteration()` (1 G step + `n_dis` D steps, LR schedules). Synthetic uint8 images "
          "already in memory, so no data loading. *Images/s* = real images consumed per second of training "
          "(`n_dis` x D batch / iteration time).")
        w("")
        for line in md_table(PRESET_HEADER, [_preset_row(r) for r in pres], escape=False):
            w(line)
        w("")
        w(f"*Reduced*: at the published full widths the 48, 96 and 128 px ResNets cost several seconds per step "
          f"on this CPU, so they are timed at the smaller batch shown (full widths, the published G:D batch ratio). "
          f"*(derived)*: iteration time = `n_dis` x D step + G step from the same repeat, used where an iteration "
          f"costs more than {args.iter_direct_max:.0f} s to run directly; elsewhere `train_iteration()` is timed "
          f"directly.")
        w("")
        for line in md_table(MEMORY_HEADER, [_memory_row(r) for r in pres], escape=False):
            w(line)
        w("")
        w("Why these presets:")
        w("")
        for r in pres:
            w(f"- `{r['label']}`: {r['why']}.")
        w(f"- {NOT_PICKED}")
        w("")


def _scaling_md(w: Write, results: Dict[str, Any]) -> None:
    def scaling_table(rows: List[Dict[str, Any]], key: str, head: str, against: str) -> None:
        w(f"| {head} | ours | torch | no SN | ours/torch | SN share ours | SN share torch | growth ours / torch / no SN, MiB | ms per image ours | repeats |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            t = r["times"]
            share_o = r["share_ours"]
            share_t = r["share_torch"]
            w(f"| {r[key]} | {fmt_time(med(t['ours']))} | {fmt_time(med(t['torch']))} | {fmt_time(med(t['none']))} | "
              f"{fmt_ratio(r['ratio_torch'])} | {med(share_o):.1%} ({min(share_o):.1%} to {max(share_o):.1%}) | "
              f"{med(share_t):.1%} ({min(share_t):.1%} to {max(share_t):.1%}) | "
              f"{fmt_mib(r['mem']['ours'])} / {fmt_mib(r['mem']['torch'])} / {fmt_mib(r['mem']['none'])} | "
              f"{med(t['ours']) * 1e3 / (2 * r['batch']):.2f} | {r['repeats']} |")
        w("")
        plot = results.get("plots", {}).get(key)
        if plot:
            w(f"![D update time and memory against {against}]({plot})")
            w("")

    bs_rows = results.get("batch_scaling", [])
    if bs_rows:
        w(f"## How cost grows with the batch ({SCALING_PRESET} D, 32 px)")
        w("")
        w("D update: D forward on `2 x batch` images (real + fake, a fixed tensor: G is not timed), hinge loss, "
          "backward, Adam. *No SN*: the same D with every spectral-norm layer removed (`remove_spectral_norm` on a "
          "copy, `W / sigma` baked in). *SN share* = 1 - time(no SN) / time(with SN), per repeat: the share of a D "
          "update spent in spectral norm (power iteration, `W / sigma` and their backward).")
        w("")
        scaling_table(bs_rows, "batch", "batch (D sees 2x)", "batch size")
    rs_rows = results.get("resolution_scaling", [])
    if rs_rows:
        w(f"## How cost grows with the resolution (ResNet D, batch {rs_rows[0]['batch']})")
        w("")
        w("Same D update, unconditional ResNet D of each resolution at its published widths ("
          + ", ".join(f"{r['resolution']} px: `{r['preset']}`" for r in rs_rows) + ").")
        w("")
        scaling_table(rs_rows, "resolution", "resolution", "resolution")


def _options_md(w: Write, results: Dict[str, Any]) -> None:
    opt = results.get("options")
    if opt:
        w(f"## Options that change speed ({SCALING_PRESET} D update, batch {opt['batch']}, {opt['repeats']} repeats)")
        w("")
        w("Each option applied alone to our D and, where it applies, to the torch baseline. *x default*: time with "
          "the option / time of the same implementation without it, per repeat.")
        w("")
        w("| option | ours | ours x default | torch x default | ours/torch (same option) | step growth ours / torch, MiB |")
        w("|---|---|---|---|---|---|")
        for r in opt["rows"]:
            w(f"| {r['option']} | {fmt_time(med(r['ours']))} | {fmt_ratio(r['vs_default'])} | "
              f"{fmt_ratio(r.get('torch_vs_default', [])) if 'torch' in r else '(torch is per-layer)'} | "
              f"{fmt_ratio(r['vs_torch'])}{'' if 'torch' in r else ' (vs torch default)'} | "
              f"{fmt_mib(r['mem_ours'])} / {fmt_mib(r.get('mem_torch'))} |")
        w("")
        if opt["compile_s"]:
            w("torch.compile: compilation time (first two calls minus two steps, not in the timings above; cold "
              "inductor cache in a temporary directory): "
              + ", ".join(f"{k} {v:.0f} s" for k, v in opt["compile_s"].items()) + "; graphs / graph breaks "
              "(`torch._dynamo.explain` of the forward + loss): "
              + ", ".join(f"{k} {g[0]} / {g[1]}" for k, g in opt["graphs"].items()) + ".")
            w("")
    if results.get("notes"):
        w("## Notes")
        w("")
        for n in results["notes"]:
            w(f"- {n}")
        w("")


def write_report(results: Dict[str, Any], args: argparse.Namespace, out: str, img_dir: str) -> str:
    """Writes the report of ``results`` to ``out`` and returns its text."""
    L: List[str] = []
    w = L.append
    _header_md(w, results, args)
    _summary_md(w, results)
    _presets_md(w, results.get("presets", []), args)
    _scaling_md(w, results)
    _options_md(w, results)
    text = "\n".join(L)
    with open(out, "w") as f:
        f.write(text)
    return text

