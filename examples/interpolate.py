#!/usr/bin/env python
"""Latent and class interpolation grids from a training checkpoint.

Each row walks from one latent vector to another in ``--steps`` columns (spherical interpolation by
default, ``--lerp`` for linear). For conditional models each row keeps one class (rows cycle
through the classes, or ``--classes``); with ``--truncation T`` the path ends are drawn with ``|z| <= T``
and spherical interpolants are clipped to ``T`` (linear ones stay inside); with ``--class-interp`` each row instead keeps one ``z`` and
walks from class A to class B by mixing the two class embeddings (the generator's soft labels).

Examples::

    python examples/interpolate.py runs/cifar10 --out interp.png
    python examples/interpolate.py runs/cifar10_cond --class-interp --classes 3 5 --out cat_to_dog.png
    python examples/interpolate.py runs/cifar10_biggan --truncation 0.5 --standing-stats 16 --out interp.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="checkpoint file or run folder (its newest checkpoint)")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--rows", type=int, default=8, help="number of interpolation paths")
    p.add_argument("--steps", type=int, default=10, help="images per path (columns), ends included")
    p.add_argument("--lerp", action="store_true", help="linear instead of spherical interpolation of z")
    p.add_argument("--class-interp", action="store_true", help="interpolate between two classes at fixed z (conditional models)")
    p.add_argument("--classes", type=int, nargs="+", default=None,
                   help="classes of the rows (latent mode) or the two end classes A B (--class-interp)")
    p.add_argument("--no-ema", action="store_true", help="use the raw G even if the checkpoint has an EMA copy")
    p.add_argument("--seed", type=int, default=0, help="seed of z")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--truncation", type=float, default=None, help="truncation trick: z drawn with |z| <= T (BigGAN; T > 0)")
    p.add_argument("--standing-stats", type=int, default=0, metavar="N",
                   help="re-estimate G's BN statistics over N batches of 64 before sampling (BigGAN's standing statistics; 0: off)")
    return p.parse_args(argv)


def slerp(a, b, t):  # type: ignore[no-untyped-def]
    """Spherical interpolation between rows of ``a`` and ``b`` at fractions ``t`` (shape (T,))."""
    import torch

    a_n = a / a.norm(dim=-1, keepdim=True)
    b_n = b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1).clamp(-1 + 1e-7, 1 - 1e-7))[:, None, None]  # (R, 1, 1)
    so = torch.sin(omega)
    t = t[None, :, None]
    return (torch.sin((1 - t) * omega) / so) * a[:, None] + (torch.sin(t * omega) / so) * b[:, None]


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import torch
    import torch.nn.functional as F

    from specnorm_gan.training import CheckpointError, generator_from_checkpoint
    from specnorm_gan.truncation import check_sampling_args, truncated_normal

    if args.rows < 1 or args.steps < 2:
        print("error: need --rows >= 1 and --steps >= 2", file=sys.stderr)
        return 2
    try:
        check_sampling_args(args.truncation, args.standing_stats)
        G, is_ema, ckpt = generator_from_checkpoint(args.checkpoint, device=args.device, ema=not args.no_ema)
        check_sampling_args(args.truncation, args.standing_stats, G)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    nc = int(getattr(G, "num_classes", 0) or 0)
    device = torch.device(args.device)
    if args.standing_stats:
        from specnorm_gan.standing_stats import accumulate_standing_stats

        accumulate_standing_stats(G, args.standing_stats, 64, args.truncation, torch.Generator(device=device).manual_seed(args.seed + 1))
    gen = torch.Generator(device=device).manual_seed(args.seed)

    def draw(n: int) -> torch.Tensor:
        if hasattr(G, "sample_z"):
            return G.sample_z(n, generator=gen, truncation=args.truncation)
        if args.truncation is not None:
            return truncated_normal((n, G.z_dim), args.truncation, gen, device)
        return torch.randn(n, G.z_dim, generator=gen, device=device)

    t = torch.linspace(0, 1, args.steps, device=device)
    R, T = args.rows, args.steps
    if args.class_interp:
        if not nc:
            print("error: --class-interp needs a conditional model; this one is unconditional", file=sys.stderr)
            return 2
        ends = args.classes if args.classes is not None else [0, 1]
        if len(ends) != 2 or not all(0 <= c < nc for c in ends):
            print(f"error: --class-interp needs two classes A B in [0, {nc}), got {args.classes}", file=sys.stderr)
            return 2
        a, b = ends
        z = draw(R)[:, None].expand(R, T, -1).reshape(R * T, -1)
        ya, yb = F.one_hot(torch.tensor(a), nc).float(), F.one_hot(torch.tensor(b), nc).float()
        y = ((1 - t)[:, None].cpu() * ya + t[:, None].cpu() * yb).to(device)  # (T, K) class weights
        y = y[None].expand(R, T, nc).reshape(R * T, nc)
    else:
        z0, z1 = draw(R), draw(R)
        z = (z0[:, None] + t[None, :, None] * (z1 - z0)[:, None]) if args.lerp else slerp(z0, z1, t)
        z = z.reshape(R * T, -1)
        if args.truncation is not None:  # slerp can leave the box |z| <= T between its (truncated) ends
            z = z.clamp(-args.truncation, args.truncation)
        if nc:
            classes = args.classes or list(range(nc))
            if any(not 0 <= c < nc for c in classes):
                print(f"error: --classes must be in [0, {nc}), got {args.classes}", file=sys.stderr)
                return 2
            y = torch.tensor([classes[r % len(classes)] for r in range(R) for _ in range(T)], device=device)
        else:
            y = None
    with torch.no_grad():
        images = torch.cat([G(z[i : i + 100], y[i : i + 100] if y is not None else None).float().cpu() for i in range(0, R * T, 100)])
    from torchvision.utils import save_image

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, str(out), nrow=T, normalize=True, value_range=(-1, 1))
    print(f"wrote a {R}x{T} {'class' if args.class_interp else 'latent'} interpolation grid from {ckpt['path']} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
