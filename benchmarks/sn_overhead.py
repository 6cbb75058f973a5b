"""Cost of spectral normalization in a discriminator-shaped stack (SNGAN ResNet CIFAR-10 widths).

Prints, from one run with interleaved repeats:
  * forward+backward time of a train-mode D step on a batch of 128 32x32 images for this library's
    fused path, its per-layer path, torch.nn.utils.parametrizations.spectral_norm and no SN at all,
    as the median and min-max over repeats and as ratios to the no-SN stack;
  * the number of ATen operators dispatched per train-mode forward (torch.profiler), and the part
    that spectral norm adds (total minus the no-SN stack), ours against torch's.

    python benchmarks/sn_overhead.py [--batch 128] [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _sn_stack import build  # noqa: E402

KINDS = ("none", "torch", "per-layer", "fused")


def count_ops(model: torch.nn.Module, x: torch.Tensor) -> int:
    model.train()
    model(x)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x)
    return sum(e.count for e in prof.key_averages() if e.key.startswith("aten::"))


def step(model: torch.nn.Module, x: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    model(x).mean().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = {k: build(k) for k in KINDS}
    n_sn = sum(1 for m in models["fused"].modules() if type(m).__name__.startswith("SN"))
    small = torch.randn(4, 3, 32, 32)
    ops = {k: count_ops(m, small) for k, m in models.items()}
    x = torch.randn(args.batch, 3, 32, 32)
    for m in models.values():
        step(m, x)  # warm-up
    times = {k: [] for k in KINDS}
    for _ in range(args.repeats):
        for k in KINDS:  # interleaved: machine noise hits every variant alike
            t0 = time.perf_counter()
            step(models[k], x)
            times[k].append(time.perf_counter() - t0)
    base = statistics.median(times["none"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch} x 3x32x32, "
          f"{n_sn} SN layers, {args.repeats} interleaved repeats")
    print()
    print("| variant | fwd+bwd median (min-max) | ratio to no SN | ATen ops / forward | ops added by SN | SN ops vs torch |")
    print("|---|---|---|---|---|---|")
    torch_added = ops["torch"] - ops["none"]
    for k in KINDS:
        med = statistics.median(times[k])
        added = ops[k] - ops["none"]
        rel = f"{added / torch_added:.2f}" if k != "none" else "-"
        print(f"| {k} | {med * 1e3:.0f} ms ({min(times[k]) * 1e3:.0f}-{max(times[k]) * 1e3:.0f}) | "
              f"{med / base:.3f} | {ops[k]} | {added} | {rel} |")
    ratios = [f / n for f, n in zip(times["fused"], times["none"])]
    print()
    print(f"fused / none per repeat: median {statistics.median(ratios):.3f}, "
          f"min {min(ratios):.3f}, max {max(ratios):.3f}")
    ratios_t = [f / t for f, t in zip(times["fused"], times["torch"])]
    print(f"fused / torch per repeat: median {statistics.median(ratios_t):.3f}, "
          f"min {min(ratios_t):.3f}, max {max(ratios_t):.3f}")


if __name__ == "__main__":
    main()
