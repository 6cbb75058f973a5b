"""The GPU check of specnorm-gan: correctness and speed on one CUDA device, in one command.

GPU time is lent rarely and briefly, so everything the library claims about GPUs is checked and
measured by this one script in one short run, which leaves a report (markdown) and the raw
numbers (JSON). Sections (each runs on its own: one that raises records its error in the report
and the others still run; a global time budget skips the sections that no longer fit, with a note):

a. ``correctness``: the 32 px SNGAN discriminator (``cifar10-resnet``) with the fused power
   iteration, the per-layer path and ``torch.nn.utils.parametrizations.spectral_norm`` on the
   device against a float64 CPU recomputation (outputs, sigma, ``u``/``v``, gradients over three
   training steps, TF32 off); float32 spectral norm under fp16 and bf16 autocast.
b. ``no_sync``: a D step, a G step and an iteration of :class:`~specnorm_gan.training.Trainer`
   under ``torch.cuda.set_sync_debug_mode("error")`` (after warm-up), for fp32, bf16 and fp16.
c. ``compile``: ``torch.compile(fullgraph=True)`` of the Trainer's D and G step functions, the
   Trainer's CUDA graphs (``compile_mode="reduce-overhead"``) and a ``torch.cuda.CUDAGraph`` capture
   of the fused D forward+backward, each matching eager step by step.
d. ``sn_cost``: CUDA kernels (profiler) per train-mode D forward and time per D step (forward,
   backward, Adam) without SN, with torch's SN, the per-layer path and the fused path, at batch 8
   and 64.
e. ``iteration``: one training iteration of ``cifar10-resnet`` at the official widths and batches
   for fp32, bf16, fp16, each with and without ``channels_last`` and ``torch.compile``, as ratios
   to fp32 measured in the same run (interleaved repeats), with the peak GPU memory of the
   iteration; torch-mimicry's SNGAN-32 iteration beside ours when it is installed.
f. ``throughput``: real images per second at the official batch sizes and the projected time
   of the preset's 50,000 iterations.

Usage::

    python benchmarks/gpu.py                 # < 8 min on one H100; writes docs/benchmarks-gpu.md and benchmarks/results/gpu.json
    python benchmarks/gpu.py --quick         # < 3 min: fewer repeats, no compiled variants in section e
    python benchmarks/gpu.py --smoke --out /tmp/gpu.md --json /tmp/gpu.json   # CPU, tiny widths, seconds (the test suite runs it)
    python benchmarks/gpu.py --sections correctness no_sync --budget 120

What it needs: torch and this repository's ``src`` on ``PYTHONPATH`` (nothing else; torch-mimicry
is optional). On a machine lent for a short time (for example a device machine that receives a
copy of the working tree and returns files written under ``$OUT``), from the repository root::

    PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 python3 benchmarks/gpu.py \\
        --out $OUT/benchmarks-gpu.md --json $OUT/gpu.json 2>&1 | tee $OUT/gpu.log

then copy the two files back to ``docs/benchmarks-gpu.md`` and ``benchmarks/results/gpu.json``.
Use the machine's own Python with its CUDA build of torch rather than building a virtual
environment there. For the side-by-side with torch-mimicry, carry its wheel (pure Python):
``pip download --no-deps torch-mimicry==0.1.16 -d .whl`` here, then start the command there with
``pip install --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=$PWD/src:/tmp/site``.
Give the command a limit above the budget (``--budget``, default 450 s; 165 s with ``--quick``).

``--smoke`` runs every section's code path on the CPU in seconds: CUDA-only checks report
"skipped: no CUDA" but the steps around them still run, ``torch.compile`` uses the ``aot_eager``
backend (``--compile-backend``) and the report goes to a temporary folder unless ``--out`` says
otherwise. Options the installed library rejects (e.g. ``TrainConfig(amp="fp16")`` before fp16
support) are reported as "not supported by this version".
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import specnorm_gan as sg  # noqa: E402

from _gpu_checks import _check_autocast, _check_paths, _check_torch_sn, sec_compile, sec_no_sync  # noqa: E402
from _gpu_common import (  # noqa: E402,F401
    DEFAULT_JSON, DEFAULT_OUT, FAIL, MODES, ROOT, Context, Mode, NotSupported, Section, _max_rel, _no_tf32,
    _OutOfBudget,
)
from _gpu_speed import sec_iteration, sec_sn_cost, sec_throughput  # noqa: E402
from _harness import atomic_write, md_table, one_line, save_json, utc_date  # noqa: E402


# --------------------------------------------------------------------------------------------
# a. correctness of the three spectral norms on the device (its checks are in _gpu_checks)
# --------------------------------------------------------------------------------------------
def sec_correctness(ctx: Context, sec: Section) -> None:
    with _no_tf32():
        sec.attempt("fused / per-layer vs float64 CPU, 3 training steps", lambda: _check_paths(ctx, sec))
        sec.attempt("torch parametrizations.spectral_norm vs ours", lambda: _check_torch_sn(ctx, sec))
        for amp in ("fp16", "bf16"):
            sec.attempt(f"float32 SN under {amp} autocast", lambda amp=amp: _check_autocast(ctx, sec, amp))




# --------------------------------------------------------------------------------------------
# Driver and report
# --------------------------------------------------------------------------------------------
SECTIONS: List[Tuple[str, str, Callable[[Context, Section], None]]] = [
    ("correctness", "a. Correctness: fused, per-layer and torch spectral norm; SN under autocast", sec_correctness),
    ("no_sync", "b. No host synchronisation in the D and G steps", sec_no_sync),
    ("compile", "c. torch.compile(fullgraph=True) and CUDA graphs against eager", sec_compile),
    ("sn_cost", "d. Kernel launches and D-step time by spectral-norm implementation", sec_sn_cost),
    ("iteration", "e. One training iteration: precision, channels_last, compile, memory", sec_iteration),
    ("throughput", "f. Images per second and time to 50,000 iterations", sec_throughput),
]


#: Seconds a section needs at least on one H100 (full and quick modes): it is skipped when less is left.
MIN_SECONDS = {"correctness": 10.0, "no_sync": 15.0, "compile": 45.0, "sn_cost": 15.0, "iteration": 30.0,
               "throughput": 10.0}


def run_sections(ctx: Context, names: Sequence[str]) -> List[Section]:
    done = []
    for name, title, fn in SECTIONS:
        sec = Section(name, title)
        done.append(sec)
        if name not in names:
            sec.status = "skipped: not selected (--sections)"
            continue
        need = 0.0 if ctx.mode.name == "smoke" else MIN_SECONDS[name]
        if ctx.left() <= need:
            sec.status = f"skipped: time budget ({max(0.0, ctx.left()):.0f} s of {ctx.budget:.0f} s left, needs ~{need:.0f} s)"
            continue
        t0 = time.perf_counter()
        print(f"[gpu.py] {name} ...", flush=True)
        try:
            fn(ctx, sec)
            bad = [c for c in sec.checks if c[1] == FAIL or c[1] == "error"]
            sec.status = "ok" if not bad else f"{len(bad)} check(s) failed"
        except _OutOfBudget as e:
            sec.status = str(e)
        except Exception as e:  # noqa: BLE001 - one failing section must not stop the others
            sec.status = "error"
            sec.error = f"{type(e).__name__}: {one_line(str(e), 1000)}"
            sec.data["traceback"] = traceback.format_exc()[-4000:]
        finally:
            if ctx.cuda:
                torch.cuda.synchronize(ctx.device)
                torch.cuda.empty_cache()
        sec.seconds = time.perf_counter() - t0
        print(f"[gpu.py] {name}: {sec.status} ({sec.seconds:.1f} s)", flush=True)
    return done


def environment(ctx: Context, command: str) -> Dict[str, Any]:
    env: Dict[str, Any] = {
        "date": utc_date(),
        "command": command, "mode": ctx.mode.name, "budget_s": ctx.budget, "device": str(ctx.device),
        "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
        "platform": platform.platform(), "compile_backend": ctx.compile_backend,
        "specnorm_gan": getattr(sg, "__version__", "?"),
    }
    if ctx.cuda:
        p = torch.cuda.get_device_properties(ctx.device)
        env.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}",
                   cudnn=torch.backends.cudnn.version(),
                   tf32={"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32})
    else:
        env.update(gpu=f"none (CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)")
    return env


def render(env: Dict[str, Any], sections: List[Section], total: float) -> str:
    lines = [
        "# GPU check and benchmarks",
        "",
        f"Written by `benchmarks/gpu.py` ({env['mode']} mode) on {env['date']}.",
        "",
        "```bash",
        env["command"],
        "```",
        "",
        "| | |",
        "|---|---|",
        f"| GPU | {env['gpu']} |",
        f"| torch | {env['torch']} |",
        f"| CUDA (torch build) | {env['cuda']} |",
    ]
    if "cudnn" in env:
        lines += [f"| cuDNN | {env['cudnn']} |", f"| TF32 (speed sections) | matmul {env['tf32']['matmul']}, "
                  f"cuDNN {env['tf32']['cudnn']} |"]
    lines += [f"| Python | {env['python']} |", f"| compile backend | {env['compile_backend']} |",
              f"| total time | {total:.0f} s of a {env['budget_s']:.0f} s budget |", ""]
    lines += ["| section | status | time |", "|---|---|---|"]
    lines += [f"| {s.title} | {s.status} | {s.seconds:.1f} s |" for s in sections]
    for s in sections:
        lines += ["", f"## {s.title}", "", f"Status: **{s.status}** ({s.seconds:.1f} s)."]
        if s.error:
            lines += ["", f"Error: `{s.error}`"]
        if s.checks:
            lines += [""] + md_table(["check", "result", "detail"], [list(c) for c in s.checks])
        for title, header, rows in s.tables:
            lines += ["", title + ":", ""] + md_table(header, rows)
        for note in s.notes:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="fewer repeats, no compiled variants in section e (< 3 min)")
    g.add_argument("--smoke", action="store_true", help="CPU, tiny widths: every code path in seconds")
    p.add_argument("--out", default=None, help=f"markdown report (default {os.path.relpath(DEFAULT_OUT, ROOT)}; "
                   "with --smoke a temporary folder)")
    p.add_argument("--json", default=None, help=f"raw numbers (default {os.path.relpath(DEFAULT_JSON, ROOT)}; "
                   "with --smoke beside --out)")
    p.add_argument("--budget", type=float, default=None, help="seconds for all sections (default: 450, quick 165)")
    p.add_argument("--sections", nargs="+", default=[n for n, _, _ in SECTIONS], choices=[n for n, _, _ in SECTIONS])
    p.add_argument("--device", default=None, help="default: cuda if available (cpu with --smoke)")
    p.add_argument("--compile-backend", default=None, help="torch.compile backend (default inductor; aot_eager with --smoke)")
    args = p.parse_args(argv)
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    device = torch.device(args.device or ("cpu" if args.smoke or not torch.cuda.is_available() else "cuda"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda given but torch.cuda.is_available() is False")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    ctx = Context(mode, device, mode.budget if args.budget is None else args.budget,
                  args.compile_backend or ("aot_eager" if args.smoke else "inductor"))
    if args.smoke and args.out is None:
        args.out = os.path.join(tempfile.mkdtemp(prefix="gpu-smoke-"), "benchmarks-gpu.md")
    out = args.out or DEFAULT_OUT
    js = args.json or (os.path.splitext(out)[0] + ".json" if args.smoke else DEFAULT_JSON)
    if not ctx.cuda and not args.smoke:
        if args.out is None:  # never replace the committed GPU report with CPU numbers by accident
            raise SystemExit("no CUDA device: use --smoke for the CPU run, or give --out to run the full sizes on the CPU")
        print("[gpu.py] no CUDA device: the CUDA-only checks will be skipped", flush=True)
    command = " ".join(shlex.quote(a) for a in ["python", "benchmarks/gpu.py", *argv])
    env = environment(ctx, command)
    sections = run_sections(ctx, args.sections)
    total = time.perf_counter() - ctx.start
    atomic_write(out, render(env, sections, total))
    payload = {"environment": env, "total_seconds": total, "sections": {s.name: s.to_json() for s in sections}}
    save_json(js, payload, newline=True)
    print(f"[gpu.py] wrote {out} and {js} ({total:.0f} s)")
    for s in sections:
        print(f"  {s.name:12s} {s.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
