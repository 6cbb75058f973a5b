"""Sections d-f of ``benchmarks/gpu.py``: the cost of spectral norm, one iteration, throughput.

d. ``sec_sn_cost``: kernels per train-mode D forward and time per D step without SN, with
   torch's SN, the per-layer and the fused path;
e. ``sec_iteration``: one training iteration per precision, ``channels_last`` and compile, as
   ratios to fp32 from interleaved repeats, with its peak GPU memory (and torch-mimicry's beside);
f. ``sec_throughput``: real images per second and the projected time of 50,000 iterations.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

import specnorm_gan as sg
from specnorm_gan.training import Trainer

from _baselines import to_torch_spectral_norm, without_spectral_norm
from _gpu_common import (
    AMPS, MIMICRY_PRESET, PRESET, Context, NotSupported, Section, _OutOfBudget, _discriminator, _float_images, _images,
    _interleaved, _mib, _peak_memory, _raise_compile_cache_limits, _trainer,
)
from _harness import fmt_ms as _fmt_ms
from _harness import fmt_ratio as _fmt_ratio
from _harness import med
from _harness import ratios_to as _ratios


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
                  [[k, _fmt_ms(med(times[k])), _fmt_ratio(rel[k]), _fmt_ratio(vs_torch[k])]
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
    rows = [[k, _fmt_ms(med(times[k])), _fmt_ratio(rel[k]), _mib(memory[k]),
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
              [[k, _fmt_ms(med(v)), "-" if k == "mimicry" else _fmt_ratio(speed[k])]
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
