"""Overhead of the training loop over its bare G and D steps.

Times ``Trainer.train()`` (progress bar, CSV log read every ``--log-every`` iterations, sample grid
and atomic checkpoint every ``--ckpt-every`` iterations, LR schedule, EMA) against the same number
of bare steps (``g_step()`` followed by ``n_dis`` ``d_step()``, nothing else) on identical
trainers, with interleaved repeats in one process. Reports the median and min-max over repeats of
the loop's time divided by the bare steps' time.

    python benchmarks/loop_overhead.py [--preset cifar10-resnet] [--width 0.25] [--iterations 40] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from specnorm_gan.data import ImageDataset
from specnorm_gan.training import TrainConfig, Trainer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cifar10-resnet")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--ckpt-every", type=int, default=20)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    images = torch.randint(0, 256, (2048, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    data = ImageDataset(images)
    out = tempfile.mkdtemp(prefix="loop_overhead_")

    def make(run_dir: str | None) -> Trainer:
        cfg = TrainConfig(
            preset=args.preset, width=args.width, iterations=10**6, device="cpu", out_dir=run_dir, ema=True,
            log_every=args.log_every, sample_every=args.ckpt_every, ckpt_every=args.ckpt_every,
            tensorboard=False, progress=True,
        )
        return Trainer(cfg, data)

    loop_times, bare_times = [], []
    for r in range(args.repeats):
        loop = make(f"{out}/run{r}")
        bare = make(None)
        loop.train(stop_at=2)  # warm-up both
        for _ in range(2):
            bare.train_iteration()
        t0 = time.perf_counter()
        loop.train(stop_at=2 + args.iterations)
        loop_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(args.iterations):
            bare.g_step()
            for _ in range(bare.config.n_dis):
                bare.d_step()
        bare_times.append(time.perf_counter() - t0)
    ratios = [a / b for a, b in zip(loop_times, bare_times)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; preset {args.preset} at width {args.width}, "
          f"{args.iterations} iterations per repeat, {args.repeats} repeats; loop logs every {args.log_every}, "
          f"samples and checkpoints every {args.ckpt_every} iterations, EMA on")
    print()
    print("| | median | min-max |")
    print("|---|---|---|")
    print(f"| loop (`Trainer.train`) | {statistics.median(loop_times):.2f} s | {min(loop_times):.2f}-{max(loop_times):.2f} |")
    print(f"| bare steps | {statistics.median(bare_times):.2f} s | {min(bare_times):.2f}-{max(bare_times):.2f} |")
    print(f"| loop / bare | **{statistics.median(ratios):.3f}** | {min(ratios):.3f}-{max(ratios):.3f} |")


if __name__ == "__main__":
    main()
