"""Folded resampling and the CPU upsampling kernels against the plain operations, fwd+bwd.

Prints, from one run with interleaved repeats, the median time of forward + backward (input and
weight gradients) and of a forward under ``no_grad`` (as G runs in D steps), with the ratio
plain / ours per repeat, for:

  * ``conv3x3 -> avg_pool2d`` against the folded 4x4 stride-2 convolution (D blocks);
  * ``nearest upsample -> conv3x3`` against the folded 4x4 stride-2 transposed convolution (G blocks);
  * ``F.interpolate`` (nearest and bilinear) against this library's ``_upsample`` on contiguous
    NCHW CPU tensors;
  * G's output convolution (3x3, 256 -> 3 channels) against ``_conv3x3_few_outputs``.

Shapes are those of the SNGAN 32 px ResNets (G: batch 64, 256 channels; D: batch 128 = real +
fake, 128 channels). Run it with the allocator settings of the launcher, as the training loop
runs:

    MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 python benchmarks/resampling.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from specnorm_gan.blocks import _conv3x3_few_outputs, _pair_sum_kernel, _upsample  # noqa: E402

from _harness import env_line, fmt_median_range, med, ratios, timed  # noqa: E402

Case = Tuple[str, Callable[[], torch.Tensor], Callable[[], torch.Tensor], List[torch.Tensor]]


def _cases() -> List[Case]:
    torch.manual_seed(0)
    cases: List[Case] = []
    for n, c, h in ((128, 128, 32), (128, 128, 16)):
        x = torch.randn(n, c, h, h, requires_grad=True)
        w = torch.randn(c, c, 3, 3, requires_grad=True)
        cases.append((
            f"D: conv3x3 -> avgpool, {n}x{c}x{h}x{h}",
            lambda x=x, w=w: F.avg_pool2d(F.conv2d(x, w, padding=1), 2),
            lambda x=x, w=w: F.conv2d(x, _pair_sum_kernel(w), stride=2, padding=1),
            [x, w],
        ))
    for n, c, h in ((64, 256, 8), (64, 256, 16)):
        x = torch.randn(n, c, h, h, requires_grad=True)
        w = torch.randn(c, c, 3, 3, requires_grad=True)
        cases.append((
            f"G: nearest up -> conv3x3, {n}x{c}x{h}x{h}",
            lambda x=x, w=w: F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), w, padding=1),
            lambda x=x, w=w: F.conv_transpose2d(x, 4.0 * _pair_sum_kernel(w.flip(2, 3)).transpose(0, 1), stride=2, padding=1),
            [x, w],
        ))
    for mode in ("nearest", "bilinear"):
        x = torch.randn(64, 256, 16, 16, requires_grad=True)
        kw = {} if mode == "nearest" else {"align_corners": False}
        cases.append((
            f"upsample {mode}, 64x256x16x16",
            lambda x=x, mode=mode, kw=kw: F.interpolate(x, scale_factor=2, mode=mode, **kw),
            lambda x=x, mode=mode: _upsample(x, mode),
            [x],
        ))
    x = torch.randn(64, 256, 32, 32, requires_grad=True)
    conv = nn.Conv2d(256, 3, 3, padding=1)
    cases.append((
        "G: output conv3x3 256 -> 3, 64x256x32x32",
        lambda x=x, conv=conv: conv(x),
        lambda x=x, conv=conv: _conv3x3_few_outputs(conv, x),
        [x, *conv.parameters()],
    ))
    return cases


def _fwd_bwd(fn: Callable[[], torch.Tensor], leaves: List[torch.Tensor]) -> float:
    for t in leaves:
        t.grad = None
    return timed(lambda: fn().sum().backward())


def _fwd(fn: Callable[[], torch.Tensor], leaves: List[torch.Tensor]) -> float:
    with torch.no_grad():
        return timed(fn)


def _cell(times: Dict[str, List[float]]) -> str:
    speedup, spread = fmt_median_range(ratios(times["plain"], times["ours"]))
    return f"{med(times['plain']) * 1e3:.1f} / {med(times['ours']) * 1e3:.1f} ms, **{speedup}x** ({spread})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(f"{env_line()}, {args.repeats} interleaved repeats")
    print()
    print("| operation | fwd+bwd: plain / ours, speed-up median (min-max) | no_grad fwd: plain / ours, speed-up |")
    print("|---|---|---|")
    for name, plain, ours, leaves in _cases():
        with torch.no_grad():
            err = (plain() - ours()).abs().max().item() / plain().abs().max().item()
        cells = []
        for timer in (_fwd_bwd, _fwd):
            times: Dict[str, List[float]] = {"plain": [], "ours": []}
            timer(plain, leaves), timer(ours, leaves)  # warm-up
            for _ in range(args.repeats):
                times["plain"].append(timer(plain, leaves))
                times["ours"].append(timer(ours, leaves))
            cells.append(_cell(times))
        print(f"| {name} (max rel. diff {err:.0e}) | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
