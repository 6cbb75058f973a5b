"""Speed and memory of specnorm-gan against torch's own spectral norm, in one command.

Every number comes with a baseline measured in the same process, with repeats interleaved
(ours, torch, torch, ours, ...), so machine noise hits both alike: the tables report per-repeat
ratios ours / baseline as the median and the min-max over repeats.

The baseline is the *same* network: a deep copy of our model in which every spectral-norm layer
is turned back into its plain torch class (same raw weight, same ``u``/``v``) and wrapped by
``torch.nn.utils.parametrizations.spectral_norm``. Before any timing the suite checks that the
copy has the same parameter count and gives the same outputs in eval mode, and the same outputs
and power-iteration vectors after one training-mode forward.

Sections:

1. **Presets**: one representative preset per (resolution, architecture family, conditional):
   a D step, a G step and a training iteration of :class:`specnorm_gan.training.Trainer` at the
   published batch and ``n_dis`` (reduced batches where a full-width step costs many seconds on a
   CPU; the table says so), real images per second, and the peak-memory growth of each step.
2. **Batch scaling**: D update (D forward+backward on the concatenated real+fake batch, hinge loss,
   Adam) of the 32 px ResNet against the batch size, for our layers, torch's parametrization and no
   spectral norm at all (the share of the step spent in spectral norm).
3. **Resolution scaling**: the same at 32, 48, 96 and 128 px at a fixed batch.
4. **Options**: ``channels_last``, ``torch.compile`` (compile time reported separately),
   bfloat16 autocast and fused vs per-layer power iteration, one row each.

Memory: the peak resident-set growth of one step over the resident set just before it (glibc's
freed heap first returned to the OS with ``malloc_trim`` and the kernel's high-water mark reset
through ``/proc/self/clear_refs``), i.e. activations, gradients and temporaries of that step; the
state that lives across steps (parameters, buffers, Adam moments) is listed separately.

    python benchmarks/suite.py                    # whole suite, < 15 min on 2 cores; writes docs/benchmarks-suite.md + docs/img/*.png
    python benchmarks/suite.py --quick            # smoke run: tiny widths and batches, 1 repeat (a few minutes)
    python benchmarks/suite.py --out /tmp/b.md --threads 2 --budget 720

Needs matplotlib for the plots (``pip install specnorm-gan[benchmark]``); without it the tables
are still written.
"""


from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import specnorm_gan as sg  # noqa: E402
from specnorm_gan.training import ALLOCATOR_SETTINGS, reexec_with_allocator_settings  # noqa: E402

from _baselines import to_torch_spectral_norm, verify_baseline, without_spectral_norm  # noqa: E402,F401
from _harness import ROOT, cpu_name, save_json, utc_date  # noqa: E402
from _suite_dupdate import (  # noqa: E402,F401
    RESOLUTION_BATCH, RESOLUTION_PRESETS, SCALING_BATCHES, SCALING_PRESET, DUpdate, bench_options, bench_scaling,
)
from _suite_presets import PICKS, Pick, bench_preset  # noqa: E402,F401
from _suite_report import _plot, write_report  # noqa: E402


def machine_info(args: argparse.Namespace, allocator_msg: str) -> List[str]:
    in_force = {k: os.environ.get(k) for k in ALLOCATOR_SETTINGS}
    return [
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch threads: {torch.get_num_threads()}",
        f"- torch {torch.__version__}, Python {platform.python_version()}, specnorm-gan {sg.__version__}, {platform.platform()}",
        f"- allocator: {allocator_msg.split(':', 1)[-1].strip()}; in force: "
        + ", ".join(f"`{k}={v}`" if v is not None else f"`{k}` unset" for k, v in in_force.items()),
        f"- date: {utc_date()}; load average at start: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny widths and batches, 1 repeat")
    parser.add_argument("--out", default=None, help="markdown report (default docs/benchmarks-suite.md; with --quick a temporary folder)")
    parser.add_argument("--img-dir", default=None, help="folder for the PNG plots (default: img/ beside --out)")
    parser.add_argument("--json", default=None, help="also write the raw measurements here")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--budget", type=float, default=720.0, help="seconds the timed sections aim at (default 720)")
    parser.add_argument("--repeats", type=int, default=None, help="fixed repeats everywhere (default: as many as the budget allows, 3-7)")
    parser.add_argument("--min-repeats", type=int, default=3)
    parser.add_argument("--max-repeats", type=int, default=7)
    parser.add_argument("--iter-direct-max", type=float, default=3.0,
                        help="time train_iteration() directly when it costs at most this many seconds (else n_dis*D+G)")
    parser.add_argument("--width", type=float, default=None, help="channel multiplier (default 1.0; --quick 0.0625)")
    parser.add_argument("--sections", default="presets,batch,resolution,options",
                        help="comma-separated subset of presets,batch,resolution,options")
    parser.add_argument("--presets", default=None, help="comma-separated labels of the representative presets to run")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    parser.add_argument("--no-allocator-tuning", action="store_true", help="keep glibc's default allocator settings")
    args = parser.parse_args(argv)
    allocator_msg = reexec_with_allocator_settings(disable=args.no_allocator_tuning)
    torch.set_num_threads(args.threads)
    if args.width is None:
        args.width = 0.0625 if args.quick else 1.0
    if args.quick:
        args.repeats = args.repeats or 1
        args.min_repeats = 1
    out = args.out or (os.path.join(ROOT, "docs", "benchmarks-suite.md") if not args.quick
                       else os.path.join(tempfile.mkdtemp(prefix="suite-quick-"), "benchmarks-suite.md"))
    img_dir = args.img_dir or os.path.join(os.path.dirname(os.path.abspath(out)), "img")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    os.makedirs(img_dir, exist_ok=True)
    sections = set(s.strip() for s in args.sections.split(",") if s.strip())
    # A cold, private inductor cache: compile times do not depend on earlier runs.
    inductor_cache = None
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        inductor_cache = os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="suite-inductor-")

    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)

    results: Dict[str, Any] = {
        "command": " ".join(["python benchmarks/suite.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine_info(args, allocator_msg),
        "plots": {},
        "notes": [],
    }
    for line in results["machine"]:
        log(line[2:])
    # Budget shares of the sections (presets dominate: full-width G steps at the published batch).
    shares = {k: v for k, v in {"presets": 0.58, "batch": 0.17, "resolution": 0.07, "options": 0.18}.items() if k in sections}

    class _Budget(dict):  # a section's budget: its share of what is left, so overruns come out of later sections
        def __missing__(self, key: str) -> float:
            later = sum(v for k, v in shares.items() if k not in done)
            value = max(0.0, args.budget - (time.perf_counter() - t0)) * shares[key] / later
            self[key] = value
            return value

    done: set = set()
    budget = _Budget()

    if "presets" in sections:
        picks = PICKS
        if args.presets:
            wanted = [p.strip() for p in args.presets.split(",")]
            picks = [p for p in PICKS if p.label in wanted]
        log(f"presets: {len(picks)} representative presets, budget {budget['presets']:.0f} s")
        # Budget per preset in proportion to the cost of a step (rough FLOP weights of a repeat).
        weights = {p.label: p.tflop for p in picks}
        results["presets"] = []
        spent = 0.0
        for i, p in enumerate(picks):
            left = budget["presets"] - spent
            remaining_w = sum(weights[q.label] for q in picks[i:])
            t_p = time.perf_counter()
            results["presets"].append(bench_preset(p, args, left * weights[p.label] / remaining_w, log))
            spent += time.perf_counter() - t_p
            gc.collect()
        done.add("presets")
    if "batch" in sections:
        batches = (2, 4, 8) if args.quick else SCALING_BATCHES
        log(f"batch scaling: {SCALING_PRESET} D, batches {batches}, budget {budget['batch']:.0f} s")
        results["batch_scaling"] = bench_scaling([SCALING_PRESET], batches, args, budget["batch"], log)
        results["plots"]["batch"] = _rel(_plot(
            results["batch_scaling"], "batch", "batch (real; D sees 2x)", os.path.join(img_dir, "bench-batch-scaling.png"),
            f"{SCALING_PRESET} D update against batch size (width {args.width:g}, {torch.get_num_threads()} threads)",
            log_x=True), out)
        done.add("batch")
    if "resolution" in sections:
        rb = 2 if args.quick else RESOLUTION_BATCH
        log(f"resolution scaling: {RESOLUTION_PRESETS} D at batch {rb}, budget {budget['resolution']:.0f} s")
        rows = []
        spent = 0.0
        for i, p in enumerate(RESOLUTION_PRESETS):
            t_p = time.perf_counter()
            left = budget["resolution"] - spent
            # Cost grows about with the pixel count: give each resolution its share of what is left.
            res_w = [get_res(q) ** 2 for q in RESOLUTION_PRESETS[i:]]
            rows += bench_scaling([p], [rb], args, left * res_w[0] / sum(res_w), log)
            spent += time.perf_counter() - t_p
        results["resolution_scaling"] = rows
        results["plots"]["resolution"] = _rel(_plot(
            rows, "resolution", "resolution, px", os.path.join(img_dir, "bench-resolution-scaling.png"),
            f"ResNet D update against resolution, batch {rb} (width {args.width:g}, {torch.get_num_threads()} threads)",
            log_x=False), out)
        done.add("resolution")
    if "options" in sections:
        log(f"options: {SCALING_PRESET} D update, budget {budget['options']:.0f} s")
        results["options"] = bench_options(args, budget["options"], log)
    if results["plots"] and not any(results["plots"].values()):
        results["notes"].append("matplotlib is not installed (`pip install specnorm-gan[benchmark]`): no plots written.")
    results["total_s"] = time.perf_counter() - t0
    text = write_report(results, args, out, img_dir)
    print()
    print(text)
    log(f"wrote {out}" + (f" and plots in {img_dir}" if any(results["plots"].values()) else ""))
    if args.json:
        save_json(args.json, results)
    if inductor_cache:
        shutil.rmtree(inductor_cache, ignore_errors=True)


def get_res(preset: str) -> int:
    return sg.get_preset(preset).resolution


def _rel(path: Optional[str], out: str) -> Optional[str]:
    if path is None:
        return None
    return os.path.relpath(path, os.path.dirname(os.path.abspath(out)))


if __name__ == "__main__":
    main()
