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
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from specnorm_gan.data import ImageDataset  # noqa: E402
from specnorm_gan.training import TrainConfig, Trainer  # noqa: E402

from _harness import add_threads_arg, apply_threads, env_line, fmt_median_range, ratios, timed  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="cifar10-resnet")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--ckpt-every", type=int, default=20)
    add_threads_arg(p)
    args = p.parse_args()
    apply_threads(args)
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

    def bare_steps(bare: Trainer) -> None:
        for _ in range(args.iterations):
            bare.g_step()
            for _ in range(bare.config.n_dis):
                bare.d_step()

    loop_times, bare_times = [], []
    for r in range(args.repeats):
        loop = make(f"{out}/run{r}")
        bare = make(None)
        loop.train(stop_at=2)  # warm-up both
        for _ in range(2):
            bare.train_iteration()
        loop_times.append(timed(lambda: loop.train(stop_at=2 + args.iterations)))
        bare_times.append(timed(lambda: bare_steps(bare)))
    print(f"{env_line()}; preset {args.preset} at width {args.width}, "
          f"{args.iterations} iterations per repeat, {args.repeats} repeats; loop logs every {args.log_every}, "
          f"samples and checkpoints every {args.ckpt_every} iterations, EMA on")
    print()
    print("| | median | min-max |")
    print("|---|---|---|")
    print("| loop (`Trainer.train`) | {} s | {} |".format(*fmt_median_range(loop_times)))
    print("| bare steps | {} s | {} |".format(*fmt_median_range(bare_times)))
    print("| loop / bare | **{}** | {} |".format(*fmt_median_range(ratios(loop_times, bare_times), "{:.3f}")))


if __name__ == "__main__":
    main()
