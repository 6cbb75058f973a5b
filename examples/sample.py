#!/usr/bin/env python
"""Generate images from a training checkpoint.

Three outputs, chosen by ``--out``:

* ``grid.png``: one image grid (one row per class for conditional models);
* ``samples.npz``: ``--num`` images as ``x`` (uint8, N x H x W x C) and ``y`` (int64 labels; -1 for
  unconditional models), the format of ``specnorm_gan.data.load_npz`` that FID tools can read;
* a folder: ``--num`` PNG files (in one sub-folder per class with ``--per-class``), e.g. for
  ``torch-fidelity`` or ``pytorch-fid``.

For conditional models ``--num`` counts images per class with ``--per-class`` (intra-FID), else in
total (class-balanced). The EMA generator is used when the checkpoint has one (``--no-ema`` to
use the raw G); G runs in eval mode, as in the official evaluation code.

Examples::

    python examples/sample.py runs/cifar10 --out grid.png
    python examples/sample.py runs/cifar10 --num 10000 --out samples.npz
    python examples/sample.py runs/cifar10_cond --num 5000 --per-class --out fakes/
    python examples/sample.py runs/cifar10_biggan --truncation 0.5 --standing-stats 16 --out grid.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="checkpoint file or run folder (its newest checkpoint)")
    p.add_argument("--out", required=True, help="output: a .png grid, an .npz file, or a folder for PNG files")
    p.add_argument("--num", type=int, default=None, help="images to generate (per class with --per-class); default: the grid size")
    p.add_argument("--per-class", action="store_true", help="--num images for each class (conditional models)")
    p.add_argument("--classes", type=int, nargs="+", default=None, help="only these classes (conditional models)")
    p.add_argument("--rows", type=int, default=10, help="grid rows (classes for conditional models)")
    p.add_argument("--cols", type=int, default=10, help="grid columns")
    p.add_argument("--batch-size", type=int, default=100, help="images per generator call")
    p.add_argument("--no-ema", action="store_true", help="use the raw G even if the checkpoint has an EMA copy")
    p.add_argument("--seed", type=int, default=0, help="seed of z")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--truncation", type=float, default=None, help="truncation trick: z drawn with |z| <= T (BigGAN; T > 0)")
    p.add_argument("--standing-stats", type=int, default=0, metavar="N",
                   help="re-estimate G's BN statistics over N batches before sampling (BigGAN's standing statistics; 0: off)")
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch

    from specnorm_gan.truncation import check_sampling_args, truncated_normal

    try:
        check_sampling_args(args.truncation, args.standing_stats)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from specnorm_gan.data import to_uint8_images
    from specnorm_gan.training import CheckpointError, generator_from_checkpoint

    try:
        G, is_ema, ckpt = generator_from_checkpoint(args.checkpoint, device=args.device, ema=not args.no_ema)
        check_sampling_args(args.truncation, args.standing_stats, G)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    nc = int(getattr(G, "num_classes", 0) or 0)
    classes = list(range(nc)) if args.classes is None else args.classes
    if nc and any(not 0 <= c < nc for c in classes):
        print(f"error: --classes must be in [0, {nc}), got {args.classes}", file=sys.stderr)
        return 2
    if not nc and (args.classes is not None or args.per_class):
        print("error: --classes/--per-class need a conditional model; this one is unconditional", file=sys.stderr)
        return 2
    out = Path(args.out)
    grid = out.suffix.lower() in (".png", ".jpg", ".jpeg")

    # labels
    if grid:
        rows = min(args.rows, len(classes)) if nc else args.rows
        labels = [classes[r] for r in range(rows) for _ in range(args.cols)] if nc else None
        n = rows * args.cols
    else:
        num = args.num if args.num is not None else args.rows * args.cols
        if num < 1:
            print(f"error: --num must be >= 1, got {num}", file=sys.stderr)
            return 2
        if nc and args.per_class:
            labels = [c for c in classes for _ in range(num)]
        elif nc:
            labels = [classes[i % len(classes)] for i in range(num)]
        else:
            labels = None
        n = len(labels) if labels is not None else num

    device = torch.device(args.device)
    if args.standing_stats:
        from specnorm_gan.standing_stats import accumulate_standing_stats

        accumulate_standing_stats(G, args.standing_stats, args.batch_size, args.truncation,
                                  torch.Generator(device=device).manual_seed(args.seed + 1))
    gen = torch.Generator(device=device).manual_seed(args.seed)
    y_all = torch.tensor(labels, dtype=torch.int64, device=device) if labels is not None else None
    chunks = []
    with torch.no_grad():
        for i in range(0, n, args.batch_size):
            m = min(args.batch_size, n - i)
            if hasattr(G, "sample_z"):
                z = G.sample_z(m, generator=gen, truncation=args.truncation)
            elif args.truncation is not None:
                z = truncated_normal((m, G.z_dim), args.truncation, gen, device)
            else:
                z = torch.randn(m, G.z_dim, generator=gen, device=device)
            y = y_all[i : i + m] if y_all is not None else None
            chunks.append(G(z, y).float().cpu())
    images = torch.cat(chunks)

    if grid:
        from torchvision.utils import save_image

        out.parent.mkdir(parents=True, exist_ok=True)
        save_image(images, str(out), nrow=args.cols, normalize=True, value_range=(-1, 1))
    elif out.suffix.lower() == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        x = to_uint8_images(images).permute(0, 2, 3, 1).numpy()
        y = y_all.cpu().numpy() if y_all is not None else np.full(n, -1, dtype=np.int64)
        np.savez(out, x=x, y=y.astype(np.int64))
    else:
        from PIL import Image

        x = to_uint8_images(images).permute(0, 2, 3, 1).numpy()
        for i in range(n):
            folder = out / f"class_{labels[i]:04d}" if (labels is not None and args.per_class) else out
            folder.mkdir(parents=True, exist_ok=True)
            arr = x[i, :, :, 0] if x.shape[-1] == 1 else x[i]
            Image.fromarray(arr).save(folder / f"{i:06d}.png")
    print(f"wrote {n} images from {ckpt['path']} (iteration {ckpt['iteration']}, {'EMA' if is_ema else 'raw'} G) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
