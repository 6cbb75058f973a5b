"""Sections a-c of ``benchmarks/gpu.py``: correctness of the spectral norms, no host sync, compile.

a. the fused power iteration, the per-layer path and torch's parametrization against a float64
   CPU recomputation, and float32 SN under fp16/bf16 autocast (the section itself is
   ``gpu.sec_correctness``, which calls the checks here);
b. ``sec_no_sync``: the Trainer's steps under ``torch.cuda.set_sync_debug_mode("error")``;
c. ``sec_compile``: ``torch.compile(fullgraph=True)``, the Trainer's CUDA graphs and a manual
   ``torch.cuda.CUDAGraph`` capture against eager, step by step.
"""

from __future__ import annotations

import contextlib
import copy
import time
from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

import specnorm_gan as sg
from specnorm_gan.training import Trainer

from _baselines import to_torch_spectral_norm
from _gpu_common import (
    AMPS, FAIL, PASS, PRESET, Context, Section, _compile, _discriminator, _float_images, _grads, _max_rel,
    _no_tf32, _raise_compile_cache_limits, _sn_state, _sync_models, _torch_sn_state, _trainer,
)
from _harness import fmt_e as _fmt_e
from _harness import one_line as _one_line


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

