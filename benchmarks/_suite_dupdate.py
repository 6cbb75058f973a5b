"""Sections 2-4 of the suite: the D update against batch and resolution, and the options that change speed.

:class:`DUpdate` is one discriminator update (hinge loss on real + fake, backward, Adam) of a D;
:func:`bench_scaling` times it for this library's layers, torch's parametrization and no spectral
norm per (preset, batch); :func:`bench_options` one row per option (channels_last, bf16, per-layer
power iteration, torch.compile) on the 32 px ResNet D.
"""

from __future__ import annotations

import argparse
import copy
import gc
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import specnorm_gan as sg

from _baselines import _inputs, to_torch_spectral_norm, verify_baseline, without_spectral_norm
from _harness import fmt_mib, fmt_ratio, fmt_time, interleaved, measure_memory, med, ratios, state_bytes, timed

SCALING_PRESET = "cifar10-resnet"
SCALING_BATCHES = (16, 32, 64, 128, 256)
RESOLUTION_PRESETS = ("cifar10-resnet", "stl10-resnet48", "animeface96-resnet", "imagenet128-resnet")
RESOLUTION_BATCH = 8
OPTIONS_BATCH = 32
VARIANTS = ("ours", "torch", "none")


def _adam(params: Any) -> torch.optim.Optimizer:
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=2e-4, betas=(0.0, 0.9), fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=2e-4, betas=(0.0, 0.9), foreach=True)


class DUpdate:
    """One discriminator update: hinge loss of D on ``2 * batch`` images (real + fake), backward, Adam.

    The fakes are a fixed tensor, so only D is timed.
    """

    def __init__(
        self, D: nn.Module, batch: int, *, channels_last: bool = False, bf16: bool = False, compile: bool = False
    ) -> None:
        self.D = D.train()
        self.batch = batch
        self.bf16 = bf16
        self.opt = _adam(D.parameters())
        self.x, self.y = _inputs(D, 2 * batch, seed=1)
        if channels_last:
            self.D.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.fn: Callable[[Tensor, Optional[Tensor]], Tensor] = self._loss
        if compile:
            self.fn = torch.compile(self._loss)

    def _loss(self, x: Tensor, y: Optional[Tensor]) -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.D(x, y)
        logits = logits.float().view(-1)
        n = x.shape[0] // 2
        return F.relu(1 - logits[:n]).mean() + F.relu(1 + logits[n:]).mean()

    def __call__(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss = self.fn(self.x, self.y)
        loss.backward()
        self.opt.step()

    def warmup(self) -> None:
        """One eager update on 1 real + 1 fake image: creates the Adam state, runs every code path."""
        self.opt.zero_grad(set_to_none=True)
        self._loss(self.x[:2], None if self.y is None else self.y[:2]).backward()
        self.opt.step()


def _variants(D: nn.Module, which: Sequence[str]) -> Dict[str, nn.Module]:
    out: Dict[str, nn.Module] = {}
    for k in which:
        if k == "ours":
            out[k] = D
        elif k == "torch":
            out[k] = to_torch_spectral_norm(D)
            verify_baseline(D, out[k], is_d=True)
        elif k == "none":
            out[k] = without_spectral_norm(D)
    return out


def _repeats_for(args: argparse.Namespace, cost: float, budget: float) -> int:
    if args.repeats:
        return args.repeats
    return max(args.min_repeats, min(args.max_repeats, int(budget // max(cost, 1e-9))))


def bench_scaling(
    presets: Sequence[str], batches: Sequence[int], args: argparse.Namespace, budget_s: float, log: Callable[[str], None]
) -> List[Dict[str, Any]]:
    """D update time and memory for ours / torch / no SN, for each (preset, batch)."""
    t_start = time.perf_counter()
    cases = [(p, b) for p in presets for b in batches]
    rows: List[Dict[str, Any]] = []
    for i, (preset, batch) in enumerate(cases):
        torch.manual_seed(0)
        D = sg.build_gan(preset, width=args.width).D
        models = _variants(D, VARIANTS)
        # Tiny warm-up for Adam state and every code path, then the memory-measured step at this batch.
        steps = {k: DUpdate(m, batch) for k, m in models.items()}
        for step in steps.values():
            step.warmup()
        for step in steps.values():  # shapes' one-time caches, paid by whichever runs first
            step()
        # This case's share of what is left of the budget: cost grows about linearly with the batch.
        left = budget_s - (time.perf_counter() - t_start)
        case_budget = left * batch / sum(b2 for _, b2 in cases[i:])
        mem: Dict[str, Optional[int]] = {}
        first: Dict[str, float] = {}
        for k, fn in steps.items():
            first[k], mem[k] = measure_memory(fn)
        cost = sum(first.values())
        repeats = _repeats_for(args, cost, case_budget - cost)
        times = interleaved(steps, repeats, alternate=True)
        row = {
            "preset": preset, "resolution": D.resolution, "batch": batch, "repeats": repeats,
            "times": times, "mem": mem,
            "ratio_torch": ratios(times["ours"], times["torch"]),
            "share_ours": [1 - n / o for o, n in zip(times["ours"], times["none"])],
            "share_torch": [1 - n / t for t, n in zip(times["torch"], times["none"])],
            "state": state_bytes(D),
        }
        rows.append(row)
        log(
            f"  {preset} batch {batch}: ours {fmt_time(med(times['ours']))}, torch {fmt_time(med(times['torch']))}, "
            f"none {fmt_time(med(times['none']))}; ours/torch {fmt_ratio(row['ratio_torch'])}; "
            f"SN share ours {med(row['share_ours']):.1%}, torch {med(row['share_torch']):.1%}; "
            f"mem {fmt_mib(mem['ours'])}/{fmt_mib(mem['torch'])}/{fmt_mib(mem['none'])} MiB; {repeats} repeats"
        )
        del steps, models, D
        gc.collect()
    return rows


def bench_options(args: argparse.Namespace, budget_s: float, log: Callable[[str], None]) -> Dict[str, Any]:
    """One row per option on the 32 px ResNet D update, for ours and for the torch baseline."""
    t_start = time.perf_counter()
    batch = 4 if args.quick else OPTIONS_BATCH
    torch.manual_seed(0)
    D = sg.build_gan(SCALING_PRESET, width=args.width).D
    D_t = to_torch_spectral_norm(D)
    verify_baseline(D, D_t, is_d=True)
    D_pl = sg.fuse_spectral_norm(copy.deepcopy(D), enable=False)
    rows = [
        ("default (fused power iteration, fp32, contiguous, eager)", {}),
        ("channels_last", {"channels_last": True}),
        ("bfloat16 autocast", {"bf16": True}),
        ("per-layer power iteration (`fuse_spectral_norm(D, enable=False)`)", {"per_layer": True}),
    ]
    if not args.no_compile:
        rows.append(("torch.compile (inductor)", {"compile": True}))
    steps: Dict[Tuple[str, str], DUpdate] = {}
    compile_s: Dict[str, float] = {}
    graphs: Dict[str, Tuple[int, int]] = {}
    if not args.no_compile:
        # Inductor's one-time start-up (imports, compiler checks, worker pool) on a throwaway network,
        # so that neither implementation's compile time includes it.
        t0 = time.perf_counter()
        toy = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))
        toy(torch.randn(2, 3, 6, 6))
        torch.compile(lambda v: toy(v).mean())(torch.randn(2, 3, 6, 6)).backward()
        compile_s["inductor start-up (throwaway network)"] = time.perf_counter() - t0
        torch._dynamo.reset()
    mem: Dict[Tuple[str, str], Optional[int]] = {}
    for name, opt in rows:
        for impl in ("ours", "torch"):
            if opt.get("per_layer") and impl == "torch":
                continue  # torch's parametrization is per-layer by construction
            src = D_pl if opt.get("per_layer") else (D if impl == "ours" else D_t)
            model = copy.deepcopy(src)
            if not opt.get("per_layer") and impl == "ours":
                sg.fuse_spectral_norm(model)  # deepcopy keeps the hook; re-fuse to be explicit
            kw = {k: v for k, v in opt.items() if k != "per_layer"}
            if kw.get("compile"):
                probe = DUpdate(copy.deepcopy(model), 1)
                explained = torch._dynamo.explain(probe._loss)(probe.x, probe.y)
                graphs[impl] = (explained.graph_count, explained.graph_break_count)
                del probe, explained
                torch._dynamo.reset()  # compile below starts cold
            step = DUpdate(model, batch, **kw)
            step.warmup()  # Adam state (eager; compilation happens below)
            if kw.get("compile"):
                t0 = time.perf_counter()
                step()
                step()  # the second call may recompile (e.g. Adam state); both count as compilation
                compile_s[impl] = time.perf_counter() - t0
                log(f"  compiled {impl} D update in {compile_s[impl]:.0f} s (2 calls, minus 2 steps later)")
            steps[(name, impl)] = step
    for key, step in steps.items():
        step()  # shapes' one-time caches, paid by whichever runs first
    for key, step in steps.items():
        _, mem[key] = measure_memory(step)
    first_cost = sum(timed(s) for s in steps.values())  # one more warm round, also the cost estimate
    left = budget_s - (time.perf_counter() - t_start)
    repeats = _repeats_for(args, first_cost, left)
    times: Dict[Tuple[str, str], List[float]] = interleaved(steps, repeats, alternate=True)  # type: ignore[arg-type]
    default = rows[0][0]
    out_rows = []
    for name, opt in rows:
        ours = times[(name, "ours")]
        row: Dict[str, Any] = {
            "option": name, "ours": ours, "mem_ours": mem[(name, "ours")],
            "vs_default": ratios(ours, times[(default, "ours")]),
        }
        if (name, "torch") in times:
            tt = times[(name, "torch")]
            row.update(torch=tt, mem_torch=mem[(name, "torch")],
                       vs_torch=ratios(ours, tt),
                       torch_vs_default=ratios(tt, times[(default, "torch")]))
        else:
            tt = times[(default, "torch")]
            row.update(vs_torch=ratios(ours, tt))
        out_rows.append(row)
        log(f"  {name}: ours {fmt_time(med(ours))}, x{fmt_ratio(row['vs_default'])} of default, "
            f"x{fmt_ratio(row['vs_torch'])} of torch")
    for impl in ("ours", "torch"):
        if impl in compile_s:
            compile_s[impl] = max(0.0, compile_s[impl] - 2 * med(times[("torch.compile (inductor)", impl)]))
    return {"batch": batch, "repeats": repeats, "rows": out_rows, "compile_s": compile_s, "graphs": graphs}


# --------------------------------------------------------------------------------------------
# Report
