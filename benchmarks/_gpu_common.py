"""The shared part of ``benchmarks/gpu.py``: modes, the run context, section records and helpers.

:class:`Mode` says how much each section does (``full``, ``quick``, ``smoke``); :class:`Context`
holds the device, the compile backend and the time budget; :class:`Section` collects one
section's checks, tables, notes and raw numbers. The helpers build the 32 px discriminator and
trainers, compare tensors (:func:`_max_rel`) and time interleaved variants on the device.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

import specnorm_gan as sg
from specnorm_gan.data import ImageDataset
from specnorm_gan.training import TrainConfig, Trainer

from _harness import ROOT, cuda_peak_memory, interleaved, one_line

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
            self.record(what, "error", f"{type(e).__name__}: {one_line(str(e))}")
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
            raise NotSupported(f"{opts}: {one_line(str(e))}") from e
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
    return interleaved(fns, repeats, inner, sync=ctx.sync)


def _peak_memory(ctx: Context, fn: Callable[[], Any]) -> Optional[int]:
    """Peak bytes allocated on the device during ``fn`` above what was allocated before it."""
    return cuda_peak_memory(ctx.device, fn)


def _mib(b: Optional[int]) -> str:
    return "n/a (no CUDA)" if b is None else f"{b / 2**20:.0f} MiB"


def _raise_compile_cache_limits() -> None:
    # Every Trainer compiles the same methods for another ``self``: dynamo would fall back to eager
    # (with only a warning) after its default 8 recompilations of one code object.
    cfg = torch._dynamo.config
    for name in ("cache_size_limit", "recompile_limit", "accumulated_cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(cfg, name):
            setattr(cfg, name, max(getattr(cfg, name), 256))


