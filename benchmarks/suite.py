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
import copy
import ctypes
import ctypes.util
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import specnorm_gan as sg
from specnorm_gan.training import ALLOCATOR_SETTINGS, TrainConfig, Trainer, reexec_with_allocator_settings

# --------------------------------------------------------------------------------------------
# What is measured
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """A representative preset: ``build_gan(preset, **kwargs)``."""

    label: str
    preset: str
    why: str
    kwargs: Dict[str, Any] = field(default_factory=dict)
    # (D batch, G batch) timed in the full run; None = the published batches.
    batch: Optional[Tuple[int, int]] = None
    # TFLOP of one timed repeat (D step + G step, + an iteration where timed directly), from
    # torch.utils.flop_counter at full width: only shares the time budget between presets.
    tflop: float = 1.0


PICKS: List[Pick] = [
    Pick("cifar10-cnn", "cifar10-cnn",
         "standard CNN, 32 px, unconditional: the SNGAN paper's CIFAR-10 CNN (Table 2, hinge loss)", tflop=0.36),
    Pick("cifar10-cnn +proj", "cifar10-cnn",
         "standard CNN, 32 px, conditional: no CIFAR preset pairs the paper's CNN with a projection D "
         "(k2-c2 drops SN on the last dense layer, xy-sngan-proj has other widths and batch 512), so the "
         "paper's CNN with a projection head and cBN G (`build_gan('cifar10-cnn', num_classes=10)`), the "
         "conditional model of the real-image benchmark",
         {"num_classes": 10}, tflop=0.36),
    Pick("cifar10-resnet", "cifar10-resnet",
         "ResNet, 32 px, unconditional: official sn_cifar10_unconditional.yml", tflop=1.92),
    Pick("cifar10-projection", "cifar10-projection",
         "ResNet, 32 px, conditional (cBN G + projection D): official sn_cifar10.yml", tflop=1.92),
    Pick("stl10-cnn48", "stl10-cnn48", "standard CNN, 48 px, unconditional: the SNGAN paper's STL-10 CNN",
         tflop=0.8),
    Pick("stl10-resnet48", "stl10-resnet48", "ResNet, 48 px, unconditional: the SNGAN paper's STL-10 ResNet",
         batch=(16, 32), tflop=0.33),
    Pick("stl10-projection48", "stl10-projection48",
         "ResNet, 48 px, conditional: the STL-10 ResNet with cBN + projection (the only 48 px projection preset "
         "with the paper's widths)", batch=(16, 32), tflop=0.33),
    Pick("animeface96-resnet", "animeface96-resnet",
         "ResNet, 96 px, unconditional: the 96 px design at published widths (flowers96-resnet is the same network)",
         batch=(4, 4), tflop=0.28),
    Pick("animeface96-projection", "animeface96-projection",
         "ResNet, 96 px, conditional (176 classes): 96 px projection at published widths", batch=(4, 4),
         tflop=0.28),
    Pick("imagenet128-resnet", "imagenet128-resnet", "ResNet, 128 px, unconditional: the paper's ImageNet 128 px ResNet",
         batch=(4, 4), tflop=0.5),
    Pick("imagenet128-projection", "imagenet128-projection",
         "ResNet, 128 px, conditional (1000 classes): official sn_projection.yml", batch=(4, 8), tflop=0.79),
]
NOT_PICKED = (
    "Not timed: the other 84 presets repeat these networks with other hyperparameters or a port's topology "
    "options (cifar10-cnn-a...f, k2-*, ck-*, ct-*, xy-*, *-mimicry, mmgen-*, *-d512, *-cgl, flowers96-*), or are at "
    "resolutions outside 32/48/96/128 (celeba64-resnet, imagenet64-projection, dogcat64/128/256-projection); "
    "no 48 px standard-CNN conditional preset with the paper's widths exists."
)

SCALING_PRESET = "cifar10-resnet"
SCALING_BATCHES = (16, 32, 64, 128, 256)
RESOLUTION_PRESETS = ("cifar10-resnet", "stl10-resnet48", "animeface96-resnet", "imagenet128-resnet")
RESOLUTION_BATCH = 8
OPTIONS_BATCH = 32
VARIANTS = ("ours", "torch", "none")


# --------------------------------------------------------------------------------------------
# Memory helpers (Linux)
# --------------------------------------------------------------------------------------------
def _status_bytes(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


_LIBC: Any = None


def _malloc_trim() -> None:
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure_memory(fn: Callable[[], Any]) -> Tuple[float, Optional[int]]:
    """Runs ``fn`` once; returns (seconds, peak RSS growth in bytes over the RSS before it, or None)."""
    gc.collect()
    _malloc_trim()
    before = _status_bytes("VmRSS")
    ok = _reset_peak()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    peak = _status_bytes("VmHWM")
    if not ok or before is None or peak is None:
        return dt, None
    return dt, max(0, peak - before)


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def state_bytes(*modules: nn.Module, adam: bool = True) -> int:
    """Parameters + buffers (+ the two Adam moments per trainable parameter) of ``modules``."""
    total = 0
    for m in modules:
        for p in m.parameters():
            total += p.numel() * p.element_size() * (3 if adam and p.requires_grad else 1)
        for b in m.buffers():
            total += b.numel() * b.element_size()
    return total


# --------------------------------------------------------------------------------------------
# Baselines: the same network with torch's spectral norm, or without spectral norm
# --------------------------------------------------------------------------------------------
def _sn_layers(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if sg.is_spectral_norm(m)]


def to_torch_spectral_norm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` where each SN layer is the plain torch layer + torch's parametrization.

    The raw weight, ``u``, ``v``, ``dim``, ``eps`` and ``n_power_iterations`` are carried over, so the
    copy computes exactly what ``model`` computes.
    """
    out = copy.deepcopy(model)
    sg.fuse_spectral_norm(out, enable=False)  # removes every fusion hook inside ``out``
    for _, m in _sn_layers(out):
        raw = m.weight.detach().clone()
        u, v = m.weight_u.detach().clone(), m.weight_v.detach().clone()
        dim, eps, n_iter = m._sn_dim, m._sn_eps, m.n_power_iterations
        sg.remove_spectral_norm(m)  # in place: the torch class again (with weight / sigma baked in)
        with torch.no_grad():
            m.weight.copy_(raw)  # ... so restore the raw weight
        torch.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=n_iter, eps=eps, dim=dim)
        sn = m.parametrizations.weight[0]
        with torch.no_grad():
            sn._u.copy_(u)
            sn._v.copy_(v)
    return out


def without_spectral_norm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every SN layer replaced by its plain layer (weight / sigma baked in)."""
    out = copy.deepcopy(model)
    sg.fuse_spectral_norm(out, enable=False)
    for _, m in _sn_layers(out):
        sg.remove_spectral_norm(m)
    return out


def _torch_u(model: nn.Module) -> Dict[str, Tensor]:
    return {
        n: m.parametrizations.weight[0]._u
        for n, m in model.named_modules()
        if hasattr(m, "parametrizations") and "weight" in m.parametrizations
    }


def _inputs(D: nn.Module, n: int, seed: int = 0) -> Tuple[Tensor, Optional[Tensor]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, D.in_channels, D.resolution, D.resolution, generator=g) * 2 - 1
    y = torch.randint(D.num_classes, (n,), generator=g) if D.num_classes else None
    return x, y


def verify_baseline(ours: nn.Module, base: nn.Module, *, is_d: bool, z_dim: int = 0) -> str:
    """Checks that ``base`` is the same network as ``ours``; returns a one-line summary.

    Same parameter count and number of spectral-normalized layers; the same outputs in eval mode
    (same weights and ``u``/``v``: the same function, relative difference <= 1e-4). In training
    mode each forward runs one power iteration; torch updates ``u`` then ``v``, this library ``v``
    then ``u`` (Algorithm 1 of the paper), so the outputs after that step agree only to within the
    power iteration's convergence: checked loosely (<= 5%, which catches a missing or doubled
    normalization) and reported. Both models are left in the state they were in (a deep copy runs
    the training-mode forward).
    """
    n_ours = sum(p.numel() for p in ours.parameters())
    n_base = sum(p.numel() for p in base.parameters())
    if n_ours != n_base:
        raise AssertionError(f"baseline has {n_base} parameters, ours {n_ours}")
    n_sn = len(_sn_layers(ours))
    n_param = len(_torch_u(base))
    if n_sn != n_param:
        raise AssertionError(f"{n_sn} SN layers in ours, {n_param} parametrized layers in the baseline")
    if is_d:
        args: Tuple[Any, ...] = _inputs(ours, 2)
    else:
        g = torch.Generator().manual_seed(0)
        args = (torch.randn(2, z_dim, generator=g), torch.arange(2) % ours.num_classes if ours.num_classes else None)

    def rel(a: Tensor, b: Tensor) -> float:
        return float((a - b).abs().max() / a.abs().max().clamp_min(1e-30))

    with torch.no_grad():
        mode_o, mode_b = ours.training, base.training
        ours.eval(), base.eval()
        eval_diff = rel(ours(*args), base(*args))
        ours.train(mode_o), base.train(mode_b)
        train_diff = float("nan")
        if is_d:  # G has BatchNorm, whose training mode would only add running-statistics noise
            o, b = copy.deepcopy(ours).train(), copy.deepcopy(base).train()
            train_diff = rel(o(*args), b(*args))
            del o, b
    if not eval_diff <= 1e-4:
        raise AssertionError(f"baseline differs from ours in eval mode: max relative difference {eval_diff:.2e}")
    if is_d and not train_diff <= 5e-2:
        raise AssertionError(f"baseline differs from ours in training mode: max relative difference {train_diff:.2e}")
    text = f"{n_ours:,} params, {n_sn} SN layers; eval diff {eval_diff:.0e}"
    return text + (f", train diff {train_diff:.0e}" if is_d else "")


# --------------------------------------------------------------------------------------------
# Statistics and formatting
# --------------------------------------------------------------------------------------------
def med(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def fmt_time(s: float) -> str:
    return f"{s * 1e3:.0f} ms" if s < 10 else f"{s:.1f} s"


def fmt_ratio(xs: Sequence[float]) -> str:
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{med(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"


def fmt_mib(b: Optional[float]) -> str:
    return "n/a" if b is None else f"{b / 2 ** 20:.0f}"


def mem_ratio(a: Optional[int], b: Optional[int]) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


# --------------------------------------------------------------------------------------------
# Section 1: presets through the Trainer
# --------------------------------------------------------------------------------------------
def _dataset(res: int, channels: int, num_classes: int, n: int) -> sg.ImageDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, channels, res, res), dtype=torch.uint8, generator=g)
    if num_classes:
        labels = torch.arange(n) % num_classes
        return sg.ImageDataset(images, labels, class_names=[str(i) for i in range(num_classes)], name="synthetic")
    return sg.ImageDataset(images, None, name="synthetic")


def _trainer(spec: Any, G: nn.Module, D: nn.Module, data: sg.ImageDataset, batch: int, g_batch: int, **options: Any) -> Trainer:
    cfg = TrainConfig(
        preset=spec.preset.name, num_classes=G.num_classes, batch_size=batch, g_batch_size=g_batch,
        device="cpu", out_dir=None, progress=False, tensorboard=False, log_every=4096, seed=0, **options,
    )
    return Trainer(cfg, data, G=G, D=D, hparams=spec.hparams)


def bench_preset(pick: Pick, args: argparse.Namespace, budget_s: float, log: Callable[[str], None]) -> Dict[str, Any]:
    t_start = time.perf_counter()
    torch.manual_seed(0)
    spec = sg.build_gan(pick.preset, width=args.width, **pick.kwargs)
    hp = spec.hparams
    published = (hp.batch_size, hp.g_batch_size)
    if args.quick:
        batch = (4, 4 * hp.g_batch_size // hp.batch_size)
    else:
        batch = pick.batch or published
    G, D = spec.G, spec.D
    G_b, D_b = to_torch_spectral_norm(G), to_torch_spectral_norm(D)
    check_d = verify_baseline(D, D_b, is_d=True)
    check_g = verify_baseline(G, G_b, is_d=False, z_dim=G.z_dim) if _sn_layers(G) else "no SN layers in G"
    data = _dataset(D.resolution, D.in_channels, G.num_classes, 2 * max(batch))
    trainers = {
        "ours": _trainer(spec, G, D, data, *batch),
        "torch": _trainer(spec, G_b, D_b, data, *batch),
    }
    n_dis = trainers["ours"].config.n_dis
    # Warm-up at batch 1 with the same trainers: Adam state, lazy initialisation, every code path.
    x1 = sg.data.to_float_images(data.images[:1])
    y1 = data.labels[:1] if data.labels is not None else None
    for t in trainers.values():
        saved = t.batch_size, t.g_batch_size
        t.batch_size = t.g_batch_size = 1
        t.d_step(x1, y1)
        t.g_step()
        t.batch_size, t.g_batch_size = saved
    # One untimed step per implementation at the timed batch (oneDNN primitives and caches of these
    # shapes are created by whichever runs first), then one with its peak memory measured.
    for t in trainers.values():
        t.d_step(), t.g_step()
    mem: Dict[str, Dict[str, Optional[int]]] = {}
    first: Dict[str, Dict[str, float]] = {}
    for k, t in trainers.items():
        d_s, d_m = measure_memory(t.d_step)
        g_s, g_m = measure_memory(t.g_step)
        mem[k] = {"d": d_m, "g": g_m}
        first[k] = {"d": d_s, "g": g_s}
    est_iter = max(n_dis * first[k]["d"] + first[k]["g"] for k in trainers)
    direct = est_iter <= args.iter_direct_max
    per_repeat = sum(first[k]["d"] + first[k]["g"] + (est_iter if direct else 0) for k in trainers)
    left = budget_s - (time.perf_counter() - t_start)
    repeats = args.repeats or max(args.min_repeats, min(args.max_repeats, int(left // max(per_repeat, 1e-9))))
    times: Dict[str, Dict[str, List[float]]] = {k: {"d": [], "g": [], "it": []} for k in trainers}
    for r in range(repeats):
        order = ("ours", "torch") if r % 2 == 0 else ("torch", "ours")
        for what in ("d", "g", "it") if direct else ("d", "g"):
            for k in order:
                t = trainers[k]
                fn = {"d": t.d_step, "g": t.g_step, "it": t.train_iteration}[what]
                times[k][what].append(timed(fn))
    if not direct:
        for k in trainers:
            times[k]["it"] = [n_dis * d + g for d, g in zip(times[k]["d"], times[k]["g"])]
    ratios = {w: [a / b for a, b in zip(times["ours"][w], times["torch"][w])] for w in ("d", "g", "it")}
    res = {
        "label": pick.label, "preset": pick.preset, "why": pick.why, "resolution": D.resolution,
        "arch": f"{spec.preset.generator}/{spec.preset.discriminator}", "num_classes": G.num_classes,
        "published_batch": published, "batch": batch, "reduced": batch != published, "n_dis": n_dis,
        "direct_iteration": direct, "repeats": repeats,
        "params_g": sum(p.numel() for p in G.parameters()), "params_d": sum(p.numel() for p in D.parameters()),
        "check_d": check_d, "check_g": check_g,
        "times": times, "ratios": ratios, "mem": mem,
        "state": {"ours": state_bytes(G, D), "torch": state_bytes(G_b, D_b)},
        "img_s": {k: n_dis * batch[0] / med(times[k]["it"]) for k in trainers},
        "seconds": time.perf_counter() - t_start,
    }
    log(
        f"  {pick.label}: batch {batch[0]}/{batch[1]} ({'published' if not res['reduced'] else 'reduced'}), "
        f"{repeats} repeats, D {fmt_time(med(times['ours']['d']))} x{fmt_ratio(ratios['d'])}, "
        f"G {fmt_time(med(times['ours']['g']))} x{fmt_ratio(ratios['g'])}, "
        f"iter {fmt_time(med(times['ours']['it']))} x{fmt_ratio(ratios['it'])} ({'direct' if direct else 'derived'}), "
        f"mem D {fmt_mib(mem['ours']['d'])}/{fmt_mib(mem['torch']['d'])} MiB, "
        f"G {fmt_mib(mem['ours']['g'])}/{fmt_mib(mem['torch']['g'])} MiB; {res['seconds']:.0f} s; "
        f"baseline check: D {check_d}"
    )
    return res


# --------------------------------------------------------------------------------------------
# D update (sections 2-4)
# --------------------------------------------------------------------------------------------
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
        times: Dict[str, List[float]] = {k: [] for k in steps}
        keys = list(steps)
        for r in range(repeats):
            for k in (keys if r % 2 == 0 else keys[::-1]):
                times[k].append(timed(steps[k]))
        row = {
            "preset": preset, "resolution": D.resolution, "batch": batch, "repeats": repeats,
            "times": times, "mem": mem,
            "ratio_torch": [a / b for a, b in zip(times["ours"], times["torch"])],
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
    times: Dict[Tuple[str, str], List[float]] = {k: [] for k in steps}
    keys = list(steps)
    for r in range(repeats):
        for k in (keys if r % 2 == 0 else keys[::-1]):
            times[k].append(timed(steps[k]))
    default = rows[0][0]
    out_rows = []
    for name, opt in rows:
        ours = times[(name, "ours")]
        row: Dict[str, Any] = {
            "option": name, "ours": ours, "mem_ours": mem[(name, "ours")],
            "vs_default": [a / b for a, b in zip(ours, times[(default, "ours")])],
        }
        if (name, "torch") in times:
            tt = times[(name, "torch")]
            row.update(torch=tt, mem_torch=mem[(name, "torch")],
                       vs_torch=[a / b for a, b in zip(ours, tt)],
                       torch_vs_default=[a / b for a, b in zip(tt, times[(default, "torch")])])
        else:
            tt = times[(default, "torch")]
            row.update(vs_torch=[a / b for a, b in zip(ours, tt)])
        out_rows.append(row)
        log(f"  {name}: ours {fmt_time(med(ours))}, x{fmt_ratio(row['vs_default'])} of default, "
            f"x{fmt_ratio(row['vs_torch'])} of torch")
    for impl in ("ours", "torch"):
        if impl in compile_s:
            compile_s[impl] = max(0.0, compile_s[impl] - 2 * med(times[("torch.compile (inductor)", impl)]))
    return {"batch": batch, "repeats": repeats, "rows": out_rows, "compile_s": compile_s, "graphs": graphs}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def machine_info(args: argparse.Namespace, allocator_msg: str) -> List[str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    in_force = {k: os.environ.get(k) for k in ALLOCATOR_SETTINGS}
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; torch threads: {torch.get_num_threads()}",
        f"- torch {torch.__version__}, Python {platform.python_version()}, specnorm-gan {sg.__version__}, {platform.platform()}",
        f"- allocator: {allocator_msg.split(':', 1)[-1].strip()}; in force: "
        + ", ".join(f"`{k}={v}`" if v is not None else f"`{k}` unset" for k, v in in_force.items()),
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at start: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


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


def write_report(results: Dict[str, Any], args: argparse.Namespace, out: str, img_dir: str) -> str:
    L: List[str] = []
    w = L.append
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

    # ---- summary
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

    # ---- presets
    if pres:
        w("## Presets: D step, G step, training iteration")
        w("")
        w("`Trainer.d_step()` (a real batch, fakes from G under `no_grad`, D forward on the concatenated real+fake "
          "batch, hinge loss, backward, Adam), `Trainer.g_step()` (G forward, D forward in training mode, backward, "
          "Adam), `Trainer.train_iteration()` (1 G step + `n_dis` D steps, LR schedules). Synthetic uint8 images "
          "already in memory, so no data loading. *Images/s* = real images consumed per second of training "
          "(`n_dis` x D batch / iteration time).")
        w("")
        w("| preset | px | G/D | classes | batch D/G timed (published) | n_dis | D step ours | D ours/torch | G step ours "
          "| G ours/torch | iteration ours | iteration ours/torch | images/s ours / torch | repeats |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in pres:
            pub = r["published_batch"]
            b = r["batch"]
            bs = f"{b[0]}/{b[1]}" + ("" if not r["reduced"] else f" **reduced** ({pub[0]}/{pub[1]})")
            it = fmt_time(med(r["times"]["ours"]["it"])) + ("" if r["direct_iteration"] else " (derived)")
            w(f"| {r['label']} | {r['resolution']} | {r['arch']} | {r['num_classes'] or '-'} | {bs} | {r['n_dis']} | "
              f"{fmt_time(med(r['times']['ours']['d']))} | {fmt_ratio(r['ratios']['d'])} | "
              f"{fmt_time(med(r['times']['ours']['g']))} | {fmt_ratio(r['ratios']['g'])} | {it} | "
              f"{fmt_ratio(r['ratios']['it'])} | {r['img_s']['ours']:.1f} / {r['img_s']['torch']:.1f} | {r['repeats']} |")
        w("")
        w(f"*Reduced*: at the published full widths the 48, 96 and 128 px ResNets cost several seconds per step "
          f"on this CPU, so they are timed at the smaller batch shown (full widths, the published G:D batch ratio). "
          f"*(derived)*: iteration time = `n_dis` x D step + G step from the same repeat, used where an iteration "
          f"costs more than {args.iter_direct_max:.0f} s to run directly; elsewhere `train_iteration()` is timed "
          f"directly.")
        w("")
        w("| preset | G params | D params | state G+D ours / torch, MiB | D step growth ours / torch, MiB (ratio) "
          "| G step growth ours / torch, MiB (ratio) | baseline check (D) |")
        w("|---|---|---|---|---|---|---|")
        for r in pres:
            m = r["mem"]
            w(f"| {r['label']} | {r['params_g']:,} | {r['params_d']:,} | {fmt_mib(r['state']['ours'])} / "
              f"{fmt_mib(r['state']['torch'])} | {fmt_mib(m['ours']['d'])} / {fmt_mib(m['torch']['d'])} "
              f"({mem_ratio(m['ours']['d'], m['torch']['d'])}) | {fmt_mib(m['ours']['g'])} / {fmt_mib(m['torch']['g'])} "
              f"({mem_ratio(m['ours']['g'], m['torch']['g'])}) | {r['check_d']} |")
        w("")
        w("Why these presets:")
        w("")
        for r in pres:
            w(f"- `{r['label']}`: {r['why']}.")
        w(f"- {NOT_PICKED}")
        w("")

    # ---- scaling
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

    # ---- options
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
    text = "\n".join(L)
    with open(out, "w") as f:
        f.write(text)
    return text


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------
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
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = args.out or (os.path.join(root, "docs", "benchmarks-suite.md") if not args.quick
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
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
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
