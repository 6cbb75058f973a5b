"""This library's training loop against torch-mimicry's ``train_step``, side by side on one machine.

The same architecture (equal parameter counts: mimicry's SNGAN32 / SNGAN48 and this library's
``cifar10-resnet-mimicry`` / ``stl10-resnet48`` with bilinear upsampling), the same batch (64 real +
64 fake per D step, G batch 64), the same schedule (5 D steps + 1 G step per iteration, Adam
2e-4, betas (0, 0.9)), synthetic uint8 images already in memory (no data loading on either
side). Repeats are interleaved (mimicry, ours, ours with options, mimicry, ...) inside one
process, so machine noise hits every variant alike; the tables report the median ratio and its
min-max over repeats.

Allocator: glibc returns large freed buffers to the OS every step unless
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` are raised; this library's launcher raises them
(``specnorm_gan.training.ALLOCATOR_SETTINGS``). The comparison runs in two worker processes, one
with glibc's defaults and one with those settings, so both implementations are compared under
the same allocator, and the effect of the settings is measured for each.

torch-mimicry is only installed for this benchmark (never a dependency):
``pip install --no-deps torch-mimicry==0.1.16``. Its top-level ``__init__`` does not import on
torch 2, so its sub-packages are loaded without it.

    python benchmarks/vs_mimicry.py                 # 32 and 48 px, 3 repeats (about 15 min on 2 cores)
    python benchmarks/vs_mimicry.py --res 32 --repeats 5 --options default bf16
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import types
from typing import Any, Dict, List

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import add_threads_arg, env_line, fmt_median_range, med, peak_rss_mib, ratios, timed  # noqa: E402

OPTIONS = {
    # name: TrainConfig overrides of this library's loop
    "default": {},
    "channels_last": {"channels_last": True},
    "bf16": {"amp": "bf16"},
    "bf16+channels_last": {"amp": "bf16", "channels_last": True},
    "compile": {"compile": True},
    "bf16+compile": {"amp": "bf16", "compile": True},
}


# ------------------------------------------------------------------------------ mimicry side
def _import_mimicry() -> Any:
    spec = importlib.util.find_spec("torch_mimicry")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torch-mimicry is not installed: pip install --no-deps torch-mimicry==0.1.16")
    root = list(spec.submodule_search_locations)[0]
    for name, path in (("torch_mimicry", root), ("torch_mimicry.training", os.path.join(root, "training"))):
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [path]  # type: ignore[attr-defined]
            sys.modules[name] = pkg
    from torch_mimicry.nets.sngan import sngan_32, sngan_48
    from torch_mimicry.training.metric_log import MetricLog

    return sngan_32, sngan_48, MetricLog


class MimicrySide:
    def __init__(self, res: int, batch: int, n_dis: int, images: torch.Tensor) -> None:
        sngan_32, sngan_48, MetricLog = _import_mimicry()
        mod = sngan_32 if res == 32 else sngan_48
        torch.manual_seed(0)
        self.G = getattr(mod, f"SNGANGenerator{res}")().train()
        self.D = getattr(mod, f"SNGANDiscriminator{res}")().train()
        # mimicry's README settings: Adam 2e-4, betas (0, 0.9) for both
        self.opt_g = torch.optim.Adam(self.G.parameters(), 2e-4, betas=(0.0, 0.9))
        self.opt_d = torch.optim.Adam(self.D.parameters(), 2e-4, betas=(0.0, 0.9))
        self.MetricLog = MetricLog
        self.images, self.batch, self.n_dis = images, batch, n_dis
        self.i = 0
        self.device = torch.device("cpu")

    def _real(self) -> Any:
        n = self.images.shape[0]
        idx = torch.arange(self.i * self.batch, (self.i + 1) * self.batch) % n
        self.i += 1
        x = self.images[idx].float().div_(127.5).sub_(1.0)
        return (x, torch.zeros(self.batch, dtype=torch.long))

    def d_step(self) -> None:
        self.D.train_step(self._real(), self.G, self.opt_d, self.MetricLog(), device=self.device)

    def g_step(self) -> None:
        self.G.train_step(self._real(), self.D, self.opt_g, self.MetricLog(), device=self.device)

    def iteration(self) -> None:
        # mimicry's Trainer: n_dis D steps, then one G step (its train_step order)
        for _ in range(self.n_dis):
            self.d_step()
        self.g_step()

    def params(self) -> tuple:
        return sum(p.numel() for p in self.G.parameters()), sum(p.numel() for p in self.D.parameters())


# ------------------------------------------------------------------------------ our side
class OurSide:
    def __init__(self, res: int, batch: int, n_dis: int, images: torch.Tensor, overrides: Dict[str, Any]) -> None:
        from specnorm_gan.data import ImageDataset
        from specnorm_gan.training import TrainConfig, Trainer

        preset = "cifar10-resnet-mimicry" if res == 32 else "stl10-resnet48"
        model_kwargs = {} if res == 32 else {"upsample_mode": "bilinear"}
        cfg = TrainConfig(
            preset=preset, model_kwargs=model_kwargs, batch_size=batch, g_batch_size=batch, n_dis=n_dis,
            lr_g=2e-4, lr_d=2e-4, betas_g=(0.0, 0.9), betas_d=(0.0, 0.9), iterations=10_000,
            out_dir=None, progress=False, tensorboard=False, device="cpu", log_every=10_000, **overrides,
        )
        self.trainer = Trainer(cfg, ImageDataset(images))

    def d_step(self) -> None:
        self.trainer.d_step()

    def g_step(self) -> None:
        self.trainer.g_step()

    def iteration(self) -> None:
        self.trainer.train_iteration()

    def params(self) -> tuple:
        t = self.trainer
        return sum(p.numel() for p in t.G.parameters()), sum(p.numel() for p in t.D.parameters())


# ------------------------------------------------------------------------------ worker
def worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads or torch.get_num_threads())
    res = args.res[0]
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (1024, 3, res, res), dtype=torch.uint8, generator=g)
    sides: Dict[str, Any] = {"mimicry": MimicrySide(res, args.batch, args.n_dis, images)}
    for name in args.options:
        sides[name] = OurSide(res, args.batch, args.n_dis, images, OPTIONS[name])
    params = {k: s.params() for k, s in sides.items()}
    for s in sides.values():  # warm-up (compilation, allocator, caches)
        s.iteration()
        s.iteration() if args.options and "compile" in "".join(args.options) else None
    it: Dict[str, List[float]] = {k: [] for k in sides}
    d: Dict[str, List[float]] = {k: [] for k in sides}
    gs: Dict[str, List[float]] = {k: [] for k in sides}
    for _ in range(args.repeats):
        for k, s in sides.items():
            it[k].append(timed(s.iteration))
        for k, s in sides.items():
            d[k].append(timed(s.d_step))
            gs[k].append(timed(s.g_step))
    print(json.dumps({"iteration": it, "d_step": d, "g_step": gs, "params": params,
                      "maxrss_mib": peak_rss_mib(),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


def memory_worker(args: argparse.Namespace) -> None:
    """Peak RSS of one implementation alone: two iterations in a fresh process."""
    res = args.res[0]
    images = torch.randint(0, 256, (1024, 3, res, res), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    side = MimicrySide(res, args.batch, args.n_dis, images) if args.options == ["mimicry"] else \
        OurSide(res, args.batch, args.n_dis, images, OPTIONS[args.options[0]])
    before = peak_rss_mib()
    side.iteration()
    side.iteration()
    print(json.dumps({"maxrss_mib": peak_rss_mib(), "before_mib": before}))


# ------------------------------------------------------------------------------ driver
def _run(args: argparse.Namespace, res: int, options: List[str], tuned: bool, mode: str = "--worker") -> Dict[str, Any]:
    from specnorm_gan.training import ALLOCATOR_SETTINGS

    env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_SETTINGS}
    if tuned:
        env.update(ALLOCATOR_SETTINGS)
    cmd = [sys.executable, os.path.abspath(__file__), mode, "--res", str(res), "--repeats", str(args.repeats),
           "--batch", str(args.batch), "--n-dis", str(args.n_dis), "--options", *options]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"worker failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ratio_line(label: str, r: Dict[str, Any], key: str, what: str) -> str:
    base = r[what]["mimicry"]
    ours = r[what][key]
    speedup, spread = fmt_median_range(ratios(base, ours))
    return f"| {label} | {med(ours):.2f} s | {med(base):.2f} s | **{speedup}x** ({spread}) |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--res", type=int, nargs="+", default=[32, 48], choices=[32, 48])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n-dis", type=int, default=5)
    add_threads_arg(p)
    p.add_argument("--options", nargs="+", default=["default", "channels_last", "bf16", "bf16+channels_last"],
                   help=f"configurations of this library's loop, from {list(OPTIONS)}")
    p.add_argument("--skip-untuned", action="store_true", help="skip the glibc-default allocator run")
    p.add_argument("--memory-repeats", type=int, default=3, help="fresh processes per side for the peak RSS")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--memory-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    if args.memory_worker:
        return memory_worker(args)

    from specnorm_gan.training import ALLOCATOR_SETTINGS

    print(f"{env_line(args.threads)}, batch {args.batch} "
          f"(+{args.batch} fake) per D step, G batch {args.batch}, n_dis {args.n_dis}, {args.repeats} interleaved repeats; "
          f"synthetic uint8 images in memory")
    for res in args.res:
        t0 = time.time()
        runs = {"tuned": _run(args, res, args.options, tuned=True)}
        if not args.skip_untuned:
            runs["glibc defaults"] = _run(args, res, ["default"], tuned=False)
        params = runs["tuned"]["params"]
        print()
        print(f"## {res} px (G {params['mimicry'][0]:,} / D {params['mimicry'][1]:,} parameters in mimicry; "
              f"ours G {params['default'][0]:,} / D {params['default'][1]:,})")
        for alloc, r in runs.items():
            settings = " ".join(f"{k}={v}" for k, v in ALLOCATOR_SETTINGS.items()) if alloc == "tuned" else "unset"
            print()
            print(f"Allocator: {alloc} ({settings})")
            print()
            print("| ours | ours per iteration | mimicry per iteration | speed-up (mimicry / ours) |")
            print("|---|---|---|---|")
            for key in r["iteration"]:
                if key != "mimicry":
                    print(_ratio_line(key, r, key, "iteration"))
            print()
            print("| step (ours = default) | ours | mimicry | speed-up |")
            print("|---|---|---|---|")
            print(_ratio_line("D step (64 real + 64 fake)", r, "default", "d_step"))
            print(_ratio_line("G step (batch 64)", r, "default", "g_step"))
        if "glibc defaults" in runs:
            tuned, untuned = runs["tuned"]["iteration"], runs["glibc defaults"]["iteration"]
            print()
            print("Effect of the allocator settings (separate processes, medians): "
                  f"mimicry {med(untuned['mimicry']):.2f} -> {med(tuned['mimicry']):.2f} s, "
                  f"ours {med(untuned['default']):.2f} -> {med(tuned['default']):.2f} s; "
                  f"ours with the launcher's settings vs mimicry as shipped (glibc defaults): "
                  f"{med(untuned['mimicry']) / med(tuned['default']):.2f}x")
        if args.memory_repeats:
            print()
            print(f"Peak RSS of two iterations in a fresh process (each alone; {args.memory_repeats} processes "
                  "per side, alternating; median (min-max)):")
        for alloc in (("tuned", True), ("glibc defaults", False)):
            if not args.memory_repeats or (alloc[0] == "glibc defaults" and args.skip_untuned):
                continue
            mem: Dict[str, List[float]] = {"mimicry": [], "default": []}
            for _ in range(args.memory_repeats):  # glibc's arenas make one process's peak vary by ~10%
                for k in mem:
                    mem[k].append(_run(args, res, [k], tuned=alloc[1], mode="--memory-worker")["maxrss_mib"])
            meds = {k: med(v) for k, v in mem.items()}
            print(f"- {alloc[0]}: mimicry {meds['mimicry']:.0f} MiB ({min(mem['mimicry']):.0f}-{max(mem['mimicry']):.0f}), "
                  f"ours {meds['default']:.0f} MiB ({min(mem['default']):.0f}-{max(mem['default']):.0f}); "
                  f"ratio of medians {meds['default'] / meds['mimicry']:.2f}")
        print(f"\n({res} px took {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
