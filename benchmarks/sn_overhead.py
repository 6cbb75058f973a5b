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
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import add_threads_arg, apply_threads, env_line, fmt_median_range, interleaved, med, ratios  # noqa: E402
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
    add_threads_arg(parser)
    args = parser.parse_args()
    apply_threads(args)
    models = {k: build(k) for k in KINDS}
    n_sn = sum(1 for m in models["fused"].modules() if type(m).__name__.startswith("SN"))
    small = torch.randn(4, 3, 32, 32)
    ops = {k: count_ops(m, small) for k, m in models.items()}
    x = torch.randn(args.batch, 3, 32, 32)
    for m in models.values():
        step(m, x)  # warm-up
    # interleaved: machine noise hits every variant alike
    times = interleaved({k: (lambda m=models[k]: step(m, x)) for k in KINDS}, args.repeats)
    base = med(times["none"])
    print(f"{env_line()}, batch {args.batch} x 3x32x32, "
          f"{n_sn} SN layers, {args.repeats} interleaved repeats")
    print()
    print("| variant | fwd+bwd median (min-max) | ratio to no SN | ATen ops / forward | ops added by SN | SN ops vs torch |")
    print("|---|---|---|---|---|---|")
    torch_added = ops["torch"] - ops["none"]
    for k in KINDS:
        ms, spread = fmt_median_range([t * 1e3 for t in times[k]], "{:.0f}")
        added = ops[k] - ops["none"]
        rel = f"{added / torch_added:.2f}" if k != "none" else "-"
        print(f"| {k} | {ms} ms ({spread}) | {med(times[k]) / base:.3f} | {ops[k]} | {added} | {rel} |")
    print()
    for other in ("none", "torch"):
        r = ratios(times["fused"], times[other])
        print(f"fused / {other} per repeat: median {med(r):.3f}, min {min(r):.3f}, max {max(r):.3f}")


if __name__ == "__main__":
    main()
