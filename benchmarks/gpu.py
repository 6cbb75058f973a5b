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
import contextlib
import copy
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import specnorm_gan as sg  # noqa: E402
from specnorm_gan.data import ImageDataset  # noqa: E402
from specnorm_gan.training import TrainConfig, Trainer  # noqa: E402
from suite import to_torch_spectral_norm, without_spectral_norm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESET = "cifar10-resnet"
MIMICRY_PRESET = "cifar10-resnet-mimicry"  # the same network as torch-mimicry's SNGAN-32
DEFAULT_OUT = os.path.join(ROOT, "docs", "benchmarks-gpu.md")
DEFAULT_JSON = os.path.join(ROOT, "benchmarks", "results", "gpu.json")
AMPS = {"fp32": "none", "bf16": "bf16", "fp16": "fp16"}
PASS, FAIL = "pass", "FAIL"


@dataclass(frozen=True)
class Mode:
    """How much each section does: ``full``, ``quick`` (< 3 min) or ``smoke`` (CPU, tiny)."""

    name: str
    width: float  # channel multiplier of the networks (1.0: the official widths)
    batches: Optional[Tuple[int, int]]  # (D, G) batch; None: the preset's official batches
    sn_batches: Tuple[int, ...]  # D batches of section d
    repeats: int  # interleaved repeats of every timing
    inner: int  # timed calls per repeat (one host clock read around them)
    iterations: int  # timed iterations of section f
    budget: float  # seconds for all sections
    reserve: float  # seconds section e leaves for section f
    compiled_variants: int  # how many torch.compile variants section e times (of 6)


MODES = {
    "full": Mode("full", 1.0, None, (8, 64), 5, 5, 30, 450.0, 45.0, 6),
    "quick": Mode("quick", 1.0, None, (8, 64), 3, 3, 15, 165.0, 25.0, 0),
    "smoke": Mode("smoke", 0.0625, (4, 8), (2, 4), 1, 1, 2, 600.0, 0.0, 1),
}


# --------------------------------------------------------------------------------------------
# Run context, sections and their records
# --------------------------------------------------------------------------------------------
class _OutOfBudget(Exception):
    """Raised by :meth:`Context.require` when the rest of a section would overrun the budget."""


class NotSupported(Exception):
    """The installed library rejects an option (e.g. ``amp="fp16"`` before fp16 support)."""


@dataclass
class Context:
    mode: Mode
    device: torch.device
    budget: float
    compile_backend: str
    start: float = field(default_factory=time.perf_counter)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def require(self, seconds: float, what: str) -> None:
        if self.left() < seconds:
            raise _OutOfBudget(f"skipped: time budget ({what} needs ~{seconds:.0f} s, {max(0.0, self.left()):.0f} s left)")

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)


@dataclass
class Section:
    """What one section found: checks (pass/FAIL/skipped/...), tables, notes and raw numbers."""

    name: str
    title: str
    checks: List[Tuple[str, str, str]] = field(default_factory=list)
    tables: List[Tuple[str, List[str], List[List[str]]]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    data: Dict[str, Any] = field(default_factory=dict)
    status: str = "not run"
    seconds: float = 0.0
    error: Optional[str] = None

    def check(self, what: str, ok: bool, detail: str) -> bool:
        self.checks.append((what, PASS if ok else FAIL, detail))
        return ok

    def record(self, what: str, result: str, detail: str = "") -> None:
        self.checks.append((what, result, detail))

    def attempt(self, what: str, fn: Callable[[], None]) -> None:
        """Runs one sub-check; an exception is recorded against ``what`` and the section goes on."""
        try:
            fn()
        except NotSupported as e:
            self.record(what, "not supported by this version", str(e))
        except _OutOfBudget as e:
            self.record(what, str(e))
        except Exception as e:  # noqa: BLE001 - the report must survive any failure
            self.record(what, "error", f"{type(e).__name__}: {_one_line(str(e))}")
            self.data.setdefault("tracebacks", {})[what] = traceback.format_exc()[-4000:]

    def table(self, title: str, header: List[str], rows: List[List[str]]) -> None:
        self.tables.append((title, header, rows))

    def to_json(self) -> Dict[str, Any]:
        return {
            "title": self.title, "status": self.status, "seconds": round(self.seconds, 2), "error": self.error,
            "checks": [{"check": c, "result": r, "detail": d} for c, r, d in self.checks],
            "tables": [{"title": t, "header": h, "rows": r} for t, h, r in self.tables],
            "notes": self.notes, "data": self.data,
        }


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Helpers: models, trainers, comparisons, timing
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _no_tf32() -> Iterator[None]:
    """Float32 matrix products and convolutions in full float32 (for comparisons with float64)."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _compile(ctx: Context, fn: Callable[..., Any], **kw: Any) -> Callable[..., Any]:
    if ctx.compile_backend != "inductor":
        kw.pop("mode", None)  # modes are inductor's
        kw["backend"] = ctx.compile_backend
    return torch.compile(fn, **kw)


@contextlib.contextmanager
def _trainer_compile_backend(ctx: Context) -> Iterator[None]:
    """Makes ``torch.compile`` calls inside a Trainer's construction use ``ctx.compile_backend``."""
    if ctx.compile_backend == "inductor":
        yield
        return
    original = torch.compile

    def patched(fn: Any = None, **kw: Any) -> Any:
        kw.pop("mode", None)
        kw["backend"] = ctx.compile_backend
        return original(fn, **kw) if fn is not None else original(**kw)

    torch.compile = patched  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.compile = original  # type: ignore[assignment]


def _images(n: int, seed: int = 0) -> Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _float_images(n: int, seed: int = 0) -> Tensor:
    return _images(n, seed).float().div_(127.5).sub_(1.0)


def _discriminator(ctx: Context) -> nn.Module:
    """The 32 px SNGAN D of the ``cifar10-resnet`` preset (fused power iteration, as built)."""
    torch.manual_seed(0)
    return sg.build_gan(PRESET, width=ctx.mode.width).D


def _trainer(ctx: Context, preset: str = PRESET, **overrides: Any) -> Trainer:
    """A Trainer on ``ctx.device`` writing nothing; options the library rejects raise NotSupported."""
    kw: Dict[str, Any] = dict(preset=preset, width=ctx.mode.width, device=str(ctx.device), out_dir=None,
                              progress=False, tensorboard=False, log_every=10**6, seed=0)
    if ctx.mode.batches is not None:
        kw["batch_size"], kw["g_batch_size"] = ctx.mode.batches
    kw.update(overrides)
    batch = max(kw.get("batch_size") or 64, 64)
    try:
        cfg = TrainConfig(**kw)
        with _trainer_compile_backend(ctx):
            return Trainer(cfg, ImageDataset(_images(8 * batch)))
    except (TypeError, ValueError) as e:
        # Only the options that a version may lack (issue 13's fp16 and CUDA graphs) count as unsupported.
        opts = {k: v for k, v in overrides.items() if (k, v) in (("amp", "fp16"), ("compile_mode", "reduce-overhead"))}
        if opts and any(str(v) in str(e) or k in str(e) for k, v in opts.items()):
            raise NotSupported(f"{opts}: {_one_line(str(e))}") from e
        raise


def _max_rel(a: Sequence[Optional[Tensor]], b: Sequence[Optional[Tensor]]) -> float:
    """max over pairs of max|a - b| / max|b| (float64, on the CPU); inf if one side is missing.

    Each pair's scale is floored at 1e-3 of the largest ``|b|`` of all pairs: a gradient that is
    zero in exact arithmetic (a convolution bias followed by BatchNorm) holds only rounding noise.
    """
    if len(a) != len(b):
        return float("inf")
    pairs = []
    for x, y in zip(a, b):
        if x is None and y is None:
            continue
        if x is None or y is None or x.shape != y.shape:
            return float("inf")
        pairs.append((x.detach().double().cpu(), y.detach().double().cpu()))
    if not pairs:
        return 0.0
    floor = 1e-3 * max(float(y.abs().max()) for _, y in pairs)
    return max(float((x - y).abs().max()) / max(float(y.abs().max()), floor, 1e-30) for x, y in pairs)


def _grads(m: nn.Module) -> List[Optional[Tensor]]:
    """Gradients in the order of the parameter names, with torch's parametrized weights under their plain name."""
    named = {n.replace(".parametrizations.weight.original", ".weight"): p for n, p in m.named_parameters()}
    return [named[n].grad for n in sorted(named)]


def _sn_state(m: nn.Module) -> Dict[str, List[Tensor]]:
    layers = [x for x in m.modules() if sg.is_spectral_norm(x)]
    return {"u": [x.weight_u for x in layers], "v": [x.weight_v for x in layers],
            "sigma": list(sg.spectral_norms(m).values())}


def _torch_sn_state(m: nn.Module) -> Dict[str, List[Tensor]]:
    """u, v and sigma = u^T W v of every layer parametrized by torch's spectral norm."""
    out: Dict[str, List[Tensor]] = {"u": [], "v": [], "sigma": []}
    for x in m.modules():
        if hasattr(x, "parametrizations") and "weight" in x.parametrizations:
            sn = x.parametrizations.weight[0]
            w = x.parametrizations.weight.original
            mat = w.movedim(sn.dim, 0).reshape(w.shape[sn.dim], -1) if sn.dim else w.reshape(w.shape[0], -1)
            out["u"].append(sn._u)
            out["v"].append(sn._v)
            out["sigma"].append(torch.dot(sn._u, mat.detach() @ sn._v))
    return out


def _sync_models(dst: Trainer, src: Trainer) -> None:
    dst.G.load_state_dict(src.G.state_dict())
    dst.D.load_state_dict(src.D.state_dict())


def _interleaved(ctx: Context, fns: Dict[str, Callable[[], Any]], repeats: int, inner: int) -> Dict[str, List[float]]:
    """Seconds per call of each function, ``repeats`` times, interleaved (ours, theirs, ours, ...)."""
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            ctx.sync()
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            ctx.sync()
            times[k].append((time.perf_counter() - t0) / inner)
    return times


def _ratios(times: Dict[str, List[float]], base: str) -> Dict[str, List[float]]:
    return {k: [a / b for a, b in zip(v, times[base])] for k, v in times.items()}


def _fmt_ratio(xs: Sequence[float]) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"


def _fmt_ms(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def _fmt_e(x: float) -> str:
    return f"{x:.1e}"


def _peak_memory(ctx: Context, fn: Callable[[], Any]) -> Optional[int]:
    """Peak bytes allocated on the device during ``fn`` above what was allocated before it."""
    if not ctx.cuda:
        fn()
        return None
    ctx.sync()
    torch.cuda.reset_peak_memory_stats(ctx.device)
    before = torch.cuda.memory_allocated(ctx.device)
    fn()
    ctx.sync()
    return torch.cuda.max_memory_allocated(ctx.device) - before


def _mib(b: Optional[int]) -> str:
    return "n/a (no CUDA)" if b is None else f"{b / 2**20:.0f} MiB"


def _raise_compile_cache_limits() -> None:
    # Every Trainer compiles the same methods for another ``self``: dynamo would fall back to eager
    # (with only a warning) after its default 8 recompilations of one code object.
    cfg = torch._dynamo.config
    for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(cfg, name):
            setattr(cfg, name, max(getattr(cfg, name), 256))


# --------------------------------------------------------------------------------------------
# a. correctness of the three spectral norms on the device
# --------------------------------------------------------------------------------------------
def sec_correctness(ctx: Context, sec: Section) -> None:
    with _no_tf32():
        sec.attempt("fused / per-layer vs float64 CPU, 3 training steps", lambda: _check_paths(ctx, sec))
        sec.attempt("torch parametrizations.spectral_norm vs ours", lambda: _check_torch_sn(ctx, sec))
        for amp in ("fp16", "bf16"):
            sec.attempt(f"float32 SN under {amp} autocast", lambda amp=amp: _check_autocast(ctx, sec, amp))


def _check_paths(ctx: Context, sec: Section) -> None:
    D = _discriminator(ctx)
    models = {"fused": D, "per-layer": sg.fuse_spectral_norm(copy.deepcopy(D), enable=False)}
    ref = copy.deepcopy(models["per-layer"]).double().train()  # float64 on the CPU: the reference
    for m in models.values():
        m.to(ctx.device).train()
    x = _float_images(8 if ctx.mode.name != "smoke" else 2, seed=1)
    worst: Dict[str, Dict[str, float]] = {k: {} for k in ("fused", "per-layer", "fused vs per-layer")}
    lr = 0.05
    for _ in range(3):  # forward, backward, SGD step: u/v advance and the weights move every step
        got: Dict[str, Dict[str, List[Optional[Tensor]]]] = {}
        for name, m in [*models.items(), ("ref", ref)]:
            xin = x.double() if name == "ref" else x.to(ctx.device)
            m.zero_grad(set_to_none=True)
            out = m(xin)
            out.square().mean().backward()
            state = _sn_state(m)
            got[name] = {"output": [out], **state, "gradients": _grads(m)}  # type: ignore[dict-item]
            with torch.no_grad():
                for p in m.parameters():
                    p.sub_(lr * p.grad)
        for label, a, b in (("fused", "fused", "ref"), ("per-layer", "per-layer", "ref"),
                            ("fused vs per-layer", "fused", "per-layer")):
            for key in got[a]:
                worst[label][key] = max(worst[label].get(key, 0.0), _max_rel(got[a][key], got[b][key]))
    tol = {"output": 1e-4, "sigma": 1e-4, "u": 1e-4, "v": 1e-4, "gradients": 1e-3}
    rows = []
    for label, diffs in worst.items():
        ok = all(diffs[k] <= tol[k] for k in tol)
        rows.append([label, *(_fmt_e(diffs[k]) for k in tol), PASS if ok else FAIL])
        sec.check(f"{label} {'vs float64 CPU' if 'vs' not in label else ''}".strip(), ok,
                  ", ".join(f"{k} {_fmt_e(v)}" for k, v in diffs.items()))
    sec.table("Max relative difference over 3 training steps (TF32 off; float64 CPU reference; tolerance "
              + ", ".join(f"{k} {v:g}" for k, v in tol.items()) + ")",
              ["path", *tol, "result"], rows)
    sec.data["paths_max_rel"] = worst


def _check_torch_sn(ctx: Context, sec: Section) -> None:
    D = _discriminator(ctx)
    theirs = to_torch_spectral_norm(D)  # same raw weights and u, v, wrapped by torch's parametrization
    ours = D.to(ctx.device)
    theirs.to(ctx.device)
    x = _float_images(8 if ctx.mode.name != "smoke" else 2, seed=2).to(ctx.device)
    diffs: Dict[str, float] = {}
    # Eval mode: u, v fixed, so both compute the same function and the same gradient through sigma.
    for m in (ours, theirs):
        m.eval().zero_grad(set_to_none=True)
    o, t = ours(x), theirs(x)
    o.square().mean().backward()
    t.square().mean().backward()
    diffs["eval output"] = _max_rel([o], [t])
    diffs["eval gradients"] = _max_rel(_grads(ours), _grads(theirs))
    diffs["eval sigma"] = _max_rel(_sn_state(ours)["sigma"], _torch_sn_state(theirs)["sigma"])
    # Training mode: one power iteration each; torch updates u then v, this library v then u
    # (Algorithm 1), so the results agree only to the iteration's convergence.
    for m in (ours, theirs):
        m.train()
    with torch.no_grad():
        diffs["train output"] = _max_rel([ours(x)], [theirs(x)])
    diffs["train sigma"] = _max_rel(_sn_state(ours)["sigma"], _torch_sn_state(theirs)["sigma"])
    # Their state dict loads into our layers (a fresh D with other weights) and gives their function.
    fresh = _fresh_d(ctx)
    sg.load_torch_spectral_norm_state_dict(fresh, theirs.state_dict())
    fresh.to(ctx.device).eval()
    theirs.eval()
    with torch.no_grad():
        diffs["loaded state, eval output"] = _max_rel([fresh(x)], [theirs(x)])
    tol = {"eval output": 1e-4, "eval gradients": 1e-3, "eval sigma": 1e-5, "train output": 5e-2,
           "train sigma": 5e-2, "loaded state, eval output": 1e-4}
    for k, v in diffs.items():
        sec.check(f"vs torch SN: {k}", v <= tol[k], f"max rel diff {_fmt_e(v)} (tolerance {tol[k]:g})")
    sec.data["torch_sn_max_rel"] = diffs


def _fresh_d(ctx: Context) -> nn.Module:
    torch.manual_seed(1)
    return sg.build_gan(PRESET, width=ctx.mode.width).D


def _check_autocast(ctx: Context, sec: Section, amp: str) -> None:
    dtype = torch.float16 if amp == "fp16" else torch.bfloat16
    D = _discriminator(ctx).to(ctx.device).train()
    x = _float_images(8 if ctx.mode.name != "smoke" else 2, seed=3).to(ctx.device)
    for path in ("fused", "per-layer"):
        base = copy.deepcopy(D) if path == "fused" else sg.fuse_spectral_norm(copy.deepcopy(D), enable=False)
        half = copy.deepcopy(base)
        out32 = base(x)
        try:
            with torch.autocast(ctx.device.type, dtype=dtype):
                out = half(x)
        except RuntimeError as e:
            if not ctx.cuda:
                sec.record(f"{path}: SN under {amp} autocast", f"skipped: CPU autocast cannot run {amp}",
                           _one_line(str(e)))
                continue
            raise
        out.float().square().mean().backward()
        s32, s = _sn_state(base), _sn_state(half)
        buffers_f32 = all(b.dtype == torch.float32 for b in half.buffers()) and all(
            t.dtype == torch.float32 for t in s["sigma"])
        grads_ok = all(p.grad is not None and p.grad.dtype == torch.float32 and bool(torch.isfinite(p.grad).all())
                       for p in half.parameters())
        d_uv = max(_max_rel(s["u"], s32["u"]), _max_rel(s["v"], s32["v"]))
        d_sigma = _max_rel(s["sigma"], s32["sigma"])
        d_out = _max_rel([out.float()], [out32])
        out_tol = 5e-2 if amp == "fp16" else 1e-1
        sec.check(f"{path}: SN under {amp} autocast", buffers_f32 and grads_ok and d_uv <= 1e-5 and d_sigma <= 1e-5
                  and out.dtype == dtype and d_out <= out_tol,
                  f"u/v/sigma float32: {buffers_f32}, equal to the float32 run's: u/v {_fmt_e(d_uv)}, sigma "
                  f"{_fmt_e(d_sigma)} (<= 1e-5); output {out.dtype}, {_fmt_e(d_out)} from float32 (<= {out_tol:g}); "
                  f"gradients float32 and finite: {grads_ok}")
        sec.data[f"autocast_{amp}_{path}"] = {"uv": d_uv, "sigma": d_sigma, "output": d_out}


# --------------------------------------------------------------------------------------------
# b. no host synchronisation in the steps
# --------------------------------------------------------------------------------------------
def sec_no_sync(ctx: Context, sec: Section) -> None:
    for label, amp in AMPS.items():
        sec.attempt(f"{label} steps", lambda label=label, amp=amp: _check_no_sync(ctx, sec, label, amp))


def _check_no_sync(ctx: Context, sec: Section, label: str, amp: str) -> None:
    tr = _trainer(ctx, amp=amp)
    for _ in range(2):  # warm-up: lazy state (optimizer moments, packed SN storage, cuDNN plans)
        tr.train_iteration()
    ctx.sync()
    for step in ("d_step", "g_step", "train_iteration"):
        fn = getattr(tr, step)
        if not ctx.cuda:
            fn()
            sec.record(f"{label}: {step}", "skipped: no CUDA", "the step ran; sync debug mode needs CUDA")
            continue
        torch.cuda.set_sync_debug_mode("error")
        try:
            fn()
            err = None
        except RuntimeError as e:
            err = _one_line(str(e))
        finally:
            torch.cuda.set_sync_debug_mode(0)
        sec.check(f"{label}: {step}", err is None, "no synchronising CUDA call" if err is None else err)
    ctx.sync()


# --------------------------------------------------------------------------------------------
# c. torch.compile and CUDA graphs against eager
# --------------------------------------------------------------------------------------------
def sec_compile(ctx: Context, sec: Section) -> None:
    _raise_compile_cache_limits()
    torch._dynamo.reset()
    with _no_tf32():
        sec.attempt("torch.compile(fullgraph=True) of the D and G steps",
                    lambda: _check_compiled_trainer(ctx, sec, "fullgraph", _fullgraph_trainer(ctx)))
        sec.attempt("CUDA graphs: Trainer(compile_mode='reduce-overhead')",
                    lambda: _check_compiled_trainer(ctx, sec, "reduce-overhead", _graphed_trainer(ctx)))
        sec.attempt("CUDA graphs: torch.cuda.CUDAGraph of the fused D forward+backward",
                    lambda: _check_graph_capture(ctx, sec))


def _fullgraph_trainer(ctx: Context) -> Trainer:
    ctx.require(30.0, "compiling two step functions")
    tr = _trainer(ctx)
    # The Trainer's own step functions (what TrainConfig(compile=True) compiles), with
    # fullgraph=True so that any graph break fails, as tests/test_training.py does on the CPU.
    tr._d_step_fn = _compile(ctx, tr._d_forward, fullgraph=True)
    tr._g_step_fn = _compile(ctx, tr._g_forward, fullgraph=True)
    return tr


def _graphed_trainer(ctx: Context) -> Trainer:
    ctx.require(30.0, "compiling two step functions")
    return _trainer(ctx, compile=True, compile_mode="reduce-overhead")


def _check_compiled_trainer(ctx: Context, sec: Section, label: str, compiled: Trainer) -> None:
    """Steps of ``compiled`` against an eager Trainer of the same config and seed, state synced before each."""
    eager = _trainer(ctx, **{k: getattr(compiled.config, k) for k in ("amp", "channels_last")})
    steps = 4  # the first calls compile (and record graphs); later ones replay
    skips0 = _cudagraph_skips()
    worst = {"d stats": 0.0, "d gradients": 0.0, "d u/v": 0.0, "g loss": 0.0, "g gradients": 0.0}
    t0 = time.perf_counter()
    for _ in range(steps):
        _sync_models(compiled, eager)
        a, b = compiled.d_step().clone(), eager.d_step()
        worst["d stats"] = max(worst["d stats"], _max_rel([a], [b]))
        worst["d gradients"] = max(worst["d gradients"], _max_rel(_grads(compiled.D), _grads(eager.D)))
        sa, sb = _sn_state(compiled.D), _sn_state(eager.D)
        worst["d u/v"] = max(worst["d u/v"], _max_rel(sa["u"] + sa["v"], sb["u"] + sb["v"]))
        _sync_models(compiled, eager)
        la, lb = compiled.g_step().clone(), eager.g_step()
        worst["g loss"] = max(worst["g loss"], _max_rel([la], [lb]))
        worst["g gradients"] = max(worst["g gradients"], _max_rel(_grads(compiled.G), _grads(eager.G)))
    ctx.sync()
    tol = 1e-3
    ok = all(v <= tol for v in worst.values())
    sec.check(f"{label}: {steps} D and G steps match eager", ok,
              ", ".join(f"{k} {_fmt_e(v)}" for k, v in worst.items()) + f" (max rel, tolerance {tol:g}; TF32 off)")
    if ctx.compile_backend != "inductor" and label == "reduce-overhead":
        sec.notes.append(f"{label}: compiled with backend {ctx.compile_backend!r}; its mode argument is dropped "
                         "(inductor's), so no CUDA graphs are recorded in this run.")
    elif ctx.cuda and label == "reduce-overhead":
        skips = _cudagraph_skips() - skips0
        sec.check(f"{label}: inductor recorded CUDA graphs", skips == 0,
                  f"{skips} graph(s) skipped CUDA graphs (inductor's cudagraph_skips counter)")
    sec.data[f"{label}_max_rel"] = worst
    sec.data[f"{label}_seconds_incl_compile"] = time.perf_counter() - t0


def _cudagraph_skips() -> int:
    return int(torch._dynamo.utils.counters["inductor"].get("cudagraph_skips", 0))


def _check_graph_capture(ctx: Context, sec: Section) -> None:
    D = _discriminator(ctx).to(ctx.device).train()
    eager = copy.deepcopy(D)
    n = 8 if ctx.mode.name != "smoke" else 2
    x = _float_images(n, seed=4).to(ctx.device)

    def step(m: nn.Module) -> Tensor:
        out = m(x)
        out.square().mean().backward()
        return out

    warmup = 3
    stream = torch.cuda.Stream(ctx.device) if ctx.cuda else None
    with (torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()):  # type: ignore[attr-defined]
        if stream is not None:
            stream.wait_stream(torch.cuda.current_stream(ctx.device))
        for _ in range(warmup):  # side-stream warm-up, as torch.cuda.graph requires
            D.zero_grad(set_to_none=True)
            step(D)
    if stream is not None:
        torch.cuda.current_stream(ctx.device).wait_stream(stream)
    for _ in range(warmup):
        eager.zero_grad(set_to_none=True)
        step(eager)
    if not ctx.cuda:
        sec.record("CUDAGraph capture and replay", "skipped: no CUDA", "the warm-up steps ran")
        return
    D.zero_grad(set_to_none=True)  # gradients are allocated inside the graph and rewritten by each replay
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = step(D)
    worst = {"output": 0.0, "gradients": 0.0, "u/v": 0.0}
    replays = 3
    for _ in range(replays):
        graph.replay()
        eager.zero_grad(set_to_none=True)
        ref = step(eager)
        worst["output"] = max(worst["output"], _max_rel([static_out], [ref]))
        worst["gradients"] = max(worst["gradients"], _max_rel(_grads(D), _grads(eager)))
        sa, sb = _sn_state(D), _sn_state(eager)
        worst["u/v"] = max(worst["u/v"], _max_rel(sa["u"] + sa["v"], sb["u"] + sb["v"]))
    tol = 1e-4
    sec.check(f"CUDAGraph: {replays} replays match eager (u/v advance in the persistent buffers)",
              all(v <= tol for v in worst.values()),
              ", ".join(f"{k} {_fmt_e(v)}" for k, v in worst.items()) + f" (max rel, tolerance {tol:g})")
    sec.data["cudagraph_max_rel"] = worst


# --------------------------------------------------------------------------------------------
# d. cost of spectral norm: kernels per D forward, time per D step
# --------------------------------------------------------------------------------------------
SN_VARIANTS = ("none", "torch", "per-layer", "fused")


def _sn_variants(ctx: Context) -> Dict[str, nn.Module]:
    D = _discriminator(ctx)
    models = {"none": without_spectral_norm(D), "torch": to_torch_spectral_norm(D),
              "per-layer": sg.fuse_spectral_norm(copy.deepcopy(D), enable=False), "fused": D}
    return {k: models[k].to(ctx.device).train() for k in SN_VARIANTS}


def _count_dispatches(ctx: Context, fn: Callable[[], Any]) -> Tuple[int, Optional[int]]:
    """(ATen operators, CUDA kernels incl. memcpy/memset or None without CUDA) of one call of ``fn``."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    fn()
    ctx.sync()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if ctx.cuda else [])
    with profile(activities=acts) as prof:
        fn()
        ctx.sync()
    events = prof.events()
    aten = sum(1 for e in events if e.name.startswith("aten::") and e.device_type == DeviceType.CPU)
    kernels = sum(1 for e in events if e.device_type == DeviceType.CUDA) if ctx.cuda else None
    return aten, kernels


def sec_sn_cost(ctx: Context, sec: Section) -> None:
    models = _sn_variants(ctx)
    n_sn = sum(1 for m in models["fused"].modules() if sg.is_spectral_norm(m))
    x8 = _float_images(ctx.mode.sn_batches[0], seed=5).to(ctx.device)
    rows = []
    counts: Dict[str, Any] = {}
    for k, m in models.items():
        with torch.no_grad():
            fwd = _count_dispatches(ctx, lambda m=m: m(x8))
        fb = _count_dispatches(ctx, lambda m=m: m(x8).mean().backward())
        counts[k] = {"forward": fwd, "forward+backward": fb}
    sn_kernels = None
    for k in SN_VARIANTS:
        (a_f, k_f), (a_fb, k_fb) = counts[k]["forward"], counts[k]["forward+backward"]
        kn = counts["none"]["forward"][1]
        added = "-" if k == "none" or k_f is None or kn is None else str(k_f - kn)
        rows.append([k, str(a_f), "n/a" if k_f is None else str(k_f), added, "n/a" if k_fb is None else str(k_fb)])
    if counts["fused"]["forward"][1] is not None:
        sn_kernels = {k: counts[k]["forward"][1] - counts["none"]["forward"][1] for k in SN_VARIANTS}
        sec.check("fused SN launches fewer kernels than torch's SN", sn_kernels["fused"] < sn_kernels["torch"],
                  f"kernels added by SN per forward: fused {sn_kernels['fused']}, per-layer {sn_kernels['per-layer']}, "
                  f"torch {sn_kernels['torch']}")
    else:
        sec.record("kernel counts", "skipped: no CUDA", "ATen operator counts measured instead")
    sec.table(f"Dispatches per train-mode D forward (batch {ctx.mode.sn_batches[0]}, {n_sn} SN layers; kernels include "
              "memcpy/memset; forward under no_grad)",
              ["variant", "ATen ops / forward", "CUDA kernels / forward", "kernels added by SN", "kernels / fwd+bwd"], rows)
    sec.data["dispatches"] = counts

    timings: Dict[str, Any] = {}
    for batch in ctx.mode.sn_batches:
        x = _float_images(batch, seed=6).to(ctx.device)
        fns = {k: _d_update(ctx, m, x) for k, m in models.items()}
        for fn in fns.values():
            fn()
            fn()
        times = _interleaved(ctx, fns, ctx.mode.repeats, ctx.mode.inner * 4)
        rel = _ratios(times, "none")
        vs_torch = _ratios(times, "torch")
        timings[batch] = times
        sec.table(f"D step (forward, backward, Adam) at batch {batch}: median over {ctx.mode.repeats} interleaved repeats "
                  f"of {ctx.mode.inner * 4} steps",
                  ["variant", "time / step", "ratio to no SN", "ratio to torch SN"],
                  [[k, _fmt_ms(statistics.median(times[k])), _fmt_ratio(rel[k]), _fmt_ratio(vs_torch[k])]
                   for k in SN_VARIANTS])
    sec.data["d_step_seconds"] = timings


def _d_update(ctx: Context, m: nn.Module, x: Tensor) -> Callable[[], None]:
    kw = {"fused": True} if ctx.cuda else {"foreach": True}
    opt = torch.optim.Adam(m.parameters(), 2e-4, betas=(0.0, 0.9), **kw)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        m(x).mean().backward()
        opt.step()

    return step


# --------------------------------------------------------------------------------------------
# e. one training iteration: precision, channels_last, compile; peak memory; torch-mimicry
# --------------------------------------------------------------------------------------------
def _iteration_variants() -> List[Tuple[str, Dict[str, Any]]]:
    eager = [(f"{p}{'+CL' if cl else ''}", {"amp": AMPS[p], "channels_last": cl})
             for p in AMPS for cl in (False, True)]
    compiled = [(f"{name}+compile", {**kw, "compile": True}) for name, kw in eager]
    order = ["fp32+compile", "bf16+CL+compile", "fp16+CL+compile", "bf16+compile", "fp16+compile", "fp32+CL+compile"]
    return eager + sorted(compiled, key=lambda nk: order.index(nk[0]))


def sec_iteration(ctx: Context, sec: Section) -> None:
    _raise_compile_cache_limits()
    torch._dynamo.reset()
    trainers: Dict[str, Trainer] = {}
    memory: Dict[str, Optional[int]] = {}
    warm: Dict[str, float] = {}
    n_compiled = 0
    for name, kw in _iteration_variants():
        compiled = kw.get("compile", False)
        if compiled:
            n_compiled += 1
            if n_compiled > ctx.mode.compiled_variants:
                sec.record(name, f"skipped: --{ctx.mode.name} mode", "every compiled variant runs in the full mode")
                continue
        try:
            ctx.require(ctx.mode.reserve + (60.0 if compiled else 5.0), name)
            tr = _trainer(ctx, **kw)
        except NotSupported as e:
            sec.record(name, "not supported by this version", str(e))
            continue
        except _OutOfBudget as e:
            sec.record(name, str(e))
            continue
        t0 = time.perf_counter()
        tr.train_iteration()  # warm-up (compilation happens here)
        memory[name] = _peak_memory(ctx, tr.train_iteration)
        warm[name] = time.perf_counter() - t0
        trainers[name] = tr
    if "fp32" not in trainers:
        raise RuntimeError("the fp32 baseline could not be built")
    fns = {k: tr.train_iteration for k, tr in trainers.items()}
    times = _interleaved(ctx, fns, ctx.mode.repeats, ctx.mode.inner)
    rel = _ratios(times, "fp32")
    cfg = trainers["fp32"].config
    rows = [[k, _fmt_ms(statistics.median(times[k])), _fmt_ratio(rel[k]), _mib(memory[k]),
             "-" if memory[k] is None or not memory["fp32"] else f"{memory[k] / memory['fp32']:.2f}",
             f"{warm[k]:.1f} s"] for k in trainers]
    sec.table(f"`{PRESET}` at width {ctx.mode.width:g}, D batch {cfg.batch_size} (+{cfg.batch_size} fakes), G batch "
              f"{cfg.g_batch_size}, n_dis {cfg.n_dis}: one iteration, median over {ctx.mode.repeats} interleaved "
              f"repeats of {ctx.mode.inner} iterations; ratio = time / fp32 time (lower is faster); CL = channels_last",
              ["variant", "time / iteration", "ratio to fp32", "peak memory of an iteration", "memory ratio",
               "first two iterations (compile)"], rows)
    sec.data.update(iteration_seconds=times, peak_bytes=memory, warmup_seconds=warm)
    del trainers, fns
    sec.attempt("torch-mimicry SNGAN-32 side by side", lambda: _mimicry(ctx, sec))


def _import_mimicry_side() -> Any:
    import importlib.util

    if importlib.util.find_spec("torch_mimicry") is None:
        return None
    from vs_mimicry import MimicrySide

    return MimicrySide


def _mimicry(ctx: Context, sec: Section) -> None:
    MimicrySide = _import_mimicry_side()
    if MimicrySide is None:
        sec.record("torch-mimicry SNGAN-32 side by side", "skipped: torch-mimicry not installed",
                   "pip install --no-deps torch-mimicry==0.1.16")
        return
    batch = 64 if ctx.mode.batches is None else ctx.mode.batches[0]
    images = _images(1024)
    theirs = MimicrySide(32, batch, 5, images)
    theirs.G.to(ctx.device)
    theirs.D.to(ctx.device)
    theirs.opt_g = torch.optim.Adam(theirs.G.parameters(), 2e-4, betas=(0.0, 0.9))
    theirs.opt_d = torch.optim.Adam(theirs.D.parameters(), 2e-4, betas=(0.0, 0.9))
    theirs.images, theirs.device = images.to(ctx.device), ctx.device
    # The settings of benchmarks/vs_mimicry.py: mimicry's README schedule on the same network.
    same = dict(g_batch_size=batch, batch_size=batch, n_dis=5, lr_g=2e-4, lr_d=2e-4, betas_g=(0.0, 0.9),
                betas_d=(0.0, 0.9))
    fns: Dict[str, Callable[[], None]] = {"mimicry": theirs.iteration}
    for name, kw in (("ours fp32", {}), ("ours bf16+CL", {"amp": "bf16", "channels_last": True})):
        fns[name] = _trainer(ctx, preset=MIMICRY_PRESET, **same, **kw).train_iteration
    for fn in fns.values():
        fn()
    times = _interleaved(ctx, fns, ctx.mode.repeats, ctx.mode.inner)
    speed = {k: [m / o for m, o in zip(times["mimicry"], v)] for k, v in times.items()}
    sec.table(f"torch-mimicry SNGAN-32 `train_step` (official widths) against `{MIMICRY_PRESET}` at width "
              f"{ctx.mode.width:g} (the same network at width 1, batch {batch}+{batch}, "
              f"G batch {batch}, n_dis 5, Adam 2e-4, betas (0, 0.9)); speed-up = mimicry time / ours",
              ["side", "time / iteration", "speed-up over mimicry"],
              [[k, _fmt_ms(statistics.median(v)), "-" if k == "mimicry" else _fmt_ratio(speed[k])]
               for k, v in times.items()])
    sec.data["mimicry_iteration_seconds"] = times


# --------------------------------------------------------------------------------------------
# f. images per second and the time to 50,000 iterations
# --------------------------------------------------------------------------------------------
def sec_throughput(ctx: Context, sec: Section) -> None:
    variants: List[Tuple[str, Dict[str, Any]]] = [("fp32", {}), ("bf16+CL", {"amp": "bf16", "channels_last": True})]
    rows, raw = [], {}
    for name, kw in variants:
        tr = _trainer(ctx, **kw)
        cfg = tr.config
        for _ in range(2):
            tr.train_iteration()
        n = ctx.mode.iterations
        ctx.sync()
        t0 = time.perf_counter()
        for _ in range(n):
            tr.train_iteration()
        ctx.sync()
        per_it = (time.perf_counter() - t0) / n
        real = cfg.n_dis * cfg.batch_size / per_it
        fakes = (cfg.n_dis * cfg.batch_size + cfg.g_batch_size) / per_it
        hours = per_it * cfg.iterations / 3600
        raw[name] = {"seconds_per_iteration": per_it, "real_images_per_s": real, "generated_images_per_s": fakes,
                     "iterations": cfg.iterations, "projected_hours": hours}
        rows.append([name, _fmt_ms(per_it), f"{real:,.0f}", f"{fakes:,.0f}", f"{cfg.iterations:,}", f"{hours:.2f} h"])
    sec.table(f"`{PRESET}` at width {ctx.mode.width:g}, official schedule (D batch {cfg.batch_size}, G batch "
              f"{cfg.g_batch_size}, n_dis {cfg.n_dis}); {ctx.mode.iterations} iterations after 2 warm-up ones; "
              "training steps only (no sampling, checkpoints or evaluation)",
              ["variant", "time / iteration", "real images / s", "generated images / s", "iterations",
               "projected time"], rows)
    sec.data["throughput"] = raw


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
            sec.error = f"{type(e).__name__}: {_one_line(str(e), 1000)}"
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
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
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


def _md_table(header: List[str], rows: List[List[str]]) -> List[str]:
    esc = [[str(c).replace("|", "\\|") for c in r] for r in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in esc)]


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
            lines += [""] + _md_table(["check", "result", "detail"], [list(c) for c in s.checks])
        for title, header, rows in s.tables:
            lines += ["", title + ":", ""] + _md_table(header, rows)
        for note in s.notes:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def _atomic_write(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_default(o: Any) -> Any:
    if isinstance(o, Tensor):
        return o.tolist()
    return str(o)


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
    _atomic_write(out, render(env, sections, total))
    payload = {"environment": env, "total_seconds": total, "sections": {s.name: s.to_json() for s in sections}}
    _atomic_write(js, json.dumps(payload, indent=1, default=_json_default) + "\n")
    print(f"[gpu.py] wrote {out} and {js} ({total:.0f} s)")
    for s in sections:
        print(f"  {s.name:12s} {s.status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
