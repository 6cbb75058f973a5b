"""Mode coverage of SN-GAN on 2-D Gaussian mixtures (ring of 8, 5x5 grid of 25), the classic mode-collapse test.

For each variant (SN-GAN with the hinge, non-saturating BCE, Wasserstein and least-squares losses;
the same networks without spectral norm with BCE and hinge; WGAN-GP with lambda = 0.1) and each
data set, trains one small MLP GAN per seed on CPU, draws 2,500 samples and reports the mean and
standard deviation over seeds of:

  * modes covered: modes with at least one high-quality sample (the VEEGAN count) and, stricter,
    modes with at least 20 high-quality samples;
  * high quality: share of samples within 3 standard deviations of their nearest mode.

Prints a markdown table and writes a scatter plot (seed 0 of every variant; needs matplotlib, the
``[benchmark]`` extra). Every run is seeded and uses one CPU thread, so the same seed gives
bit-identical samples whichever worker process runs it; the script checks this by re-running one
SN run in the parent process.

    python benchmarks/mode_coverage.py [--steps 1200] [--seeds 5] [--jobs 2] [--plot docs/img/mode_coverage.png]

Data: ring of 8 means on a circle of radius 2, std 0.02 (Unrolled GAN, VEEGAN); 5x5 grid of means
{-4, -2, 0, 2, 4}^2, std 0.05 (VEEGAN, PacGAN); fresh samples every step. Networks: G z(32) ->
128 -> 128 -> 128 -> 2, D 2 -> 128 -> 128 -> 128 -> 1, LeakyReLU 0.2, linear outputs (the
XY-Ring8 MLPs at half width); SN variants use ``SNLinear`` on every D layer with the fused power
iteration (one iteration per D forward). Training: 5 D steps per G step, 128 real + 128 fake per D
step (one concatenated D forward), G batch 128, Adam lr 1e-3, betas (0.5, 0.9) for G and D (SNGAN
paper setting D) with linear decay to 0, 1,200 G steps. The ``biggan-32`` variant takes the training recipe
of the ``cifar10-biggan`` preset that applies to MLPs: spectral norm in G as well as D, orthogonal
initialisation, hinge loss, the preset's Adam betas (0.5, 0.999) and a G EMA (decay and start
scaled to the run: the same half-life and start as fractions of the run as 0.9999 / 1,000 of
100K), evaluated on the EMA G; the learning rate is the benchmark's. See docs/benchmarks-quality.md.
"""

from __future__ import annotations

import argparse
import copy
import math
import multiprocessing
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from specnorm_gan import SNLinear, ema_update_, fuse_spectral_norm, get_preset, init_weights  # noqa: E402
from specnorm_gan.losses import get_loss, gradient_penalty  # noqa: E402
from specnorm_gan.toy import GaussianMixture, grid_of_gaussians, ring_of_gaussians  # noqa: E402

from _harness import machine_line, timed  # noqa: E402


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    loss: str
    sn: bool
    gp_weight: float = 0.0
    # A preset whose training recipe the MLPs take (SN in G too, orthogonal init, its Adam betas, G EMA).
    preset: str = ""


VARIANTS: Tuple[Variant, ...] = (
    Variant("sn-hinge", "SN-GAN, hinge", "hinge", True),
    Variant("sn-bce", "SN-GAN, BCE (non-saturating)", "bce", True),
    Variant("sn-wasserstein", "SN-GAN, Wasserstein", "wasserstein", True),
    Variant("sn-ls", "SN-GAN, least squares", "least_squares", True),
    Variant("bce", "no SN, BCE (non-saturating)", "bce", False),
    Variant("hinge", "no SN, hinge", "hinge", False),
    Variant("wgan-gp", "WGAN-GP (no SN, λ = 0.1)", "wasserstein", False, 0.1),
    Variant("biggan-32", "BigGAN-32 recipe (SN in G and D, hinge, G EMA)", "hinge", True, preset="cifar10-biggan"),
)
DATASETS = ("ring", "grid")
N_EVAL = 2500  # samples scored per run (VEEGAN / PacGAN)
STRICT_MIN = 20  # high-quality samples a mode needs for the strict count


def make_data(name: str) -> GaussianMixture:
    if name == "ring":
        return ring_of_gaussians(8, radius=2.0, std=0.02)
    if name == "grid":
        return grid_of_gaussians(5, spacing=2.0, std=0.05)
    raise ValueError(f"unknown data set {name!r}; expected one of {DATASETS}")


def mlp(sizes: Sequence[int], linear: type) -> nn.Sequential:
    layers: List[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.LeakyReLU(0.2))
        layers.append(linear(a, b))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class Config:
    steps: int = 1200  # G updates
    n_dis: int = 5
    batch: int = 128
    width: int = 128
    z_dim: int = 32
    lr: float = 1e-3
    betas: Tuple[float, float] = (0.5, 0.9)
    decay: bool = True  # learning rate decays linearly to 0 over the run


def preset_recipe(preset: str, steps: int) -> Tuple[Tuple[float, float], float, int]:
    """(Adam betas, EMA decay, EMA start) of ``preset`` for a run of ``steps`` G steps: the EMA's half-life
    and start are the same fractions of the run as in the preset's ``iterations``."""
    hp = get_preset(preset).hparams
    half_life = math.log(2) / -math.log(hp.ema_decay) / hp.iterations  # fraction of the run
    return tuple(hp.betas_g), math.exp(-math.log(2) / (half_life * steps)), round(hp.ema_start / hp.iterations * steps)


def train_one(variant: Variant, data_name: str, seed: int, cfg: Config) -> Dict[str, object]:
    """Trains one GAN and scores 2,500 samples. Deterministic given (variant, data, seed, cfg)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    data = make_data(data_name)
    gen = torch.Generator().manual_seed(seed)
    G = mlp([cfg.z_dim, cfg.width, cfg.width, cfg.width, 2], SNLinear if variant.preset else nn.Linear)
    D = nn.Sequential(*mlp([2, cfg.width, cfg.width, cfg.width, 1], SNLinear if variant.sn else nn.Linear), nn.Flatten(0))
    betas, G_ema, ema_decay, ema_start = cfg.betas, None, 0.0, 0
    if variant.preset:
        betas, ema_decay, ema_start = preset_recipe(variant.preset, cfg.steps)
        init_weights(G, "orthogonal"), init_weights(D, "orthogonal"), fuse_spectral_norm(G)
        G_ema = copy.deepcopy(G)
    if variant.sn:
        fuse_spectral_norm(D)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=betas, foreach=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas, foreach=True)
    scheds = []
    if cfg.decay:
        for opt in (opt_g, opt_d):
            scheds.append(torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / cfg.steps))
    loss = get_loss(variant.loss)
    B = cfg.batch

    def train() -> None:
        for step in range(cfg.steps):
            for _ in range(cfg.n_dis):
                real = data.sample(B, generator=gen)
                with torch.no_grad():
                    fake = G(torch.randn(B, cfg.z_dim, generator=gen))
                logits = D(torch.cat([real, fake]))
                d_loss = loss.d_loss(logits[:B], logits[B:])
                if variant.gp_weight:
                    d_loss = d_loss + variant.gp_weight * gradient_penalty(D, real, fake, generator=gen)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            D.requires_grad_(False)
            g_loss = loss.g_loss(D(G(torch.randn(B, cfg.z_dim, generator=gen))))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            D.requires_grad_(True)
            if G_ema is not None:
                ema_update_(G_ema, G, ema_decay if step >= ema_start else 0.0)
            for sched in scheds:
                sched.step()

    train_s = timed(train)
    G = G if G_ema is None else G_ema
    G.eval()
    with torch.no_grad():
        samples = G(torch.randn(N_EVAL, cfg.z_dim, generator=torch.Generator().manual_seed(10_000 + seed)))
    finite = bool(torch.isfinite(samples).all())
    modes, strict, hq = score(data, samples) if finite else (0, 0, 0.0)
    return {
        "variant": variant.key,
        "data": data_name,
        "seed": seed,
        "modes": modes,
        "modes_strict": strict,
        "hq": hq,
        "checksum": float(samples.double().sum()) if finite else float("nan"),
        "train_s": train_s,
        "samples": samples.numpy() if finite else None,
    }


def _run(args: Tuple[Variant, str, int, Config]) -> Dict[str, object]:
    return train_one(*args)


def fmt(values: Sequence[float], scale: float = 1.0, digits: int = 1) -> str:
    mean = statistics.fmean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def score(data: GaussianMixture, samples: torch.Tensor) -> Tuple[int, int, float]:
    """(modes with >= 1 high-quality sample, modes with >= STRICT_MIN, high-quality share)."""
    cov = data.mode_coverage(samples)
    return cov.modes_covered, int((cov.counts >= STRICT_MIN).sum()), cov.high_quality


def reference_scores(data_name: str, seeds: int) -> Dict[str, List[Tuple[int, int, float]]]:
    """Scores of two generators that need no training, to calibrate the table.

    ``"data"``: 2,500 samples of the mixture itself (the ceiling). ``"smeared"``: the same amount
    of mass spread evenly over the data's support with no mode structure: on the circle of radius 2
    at uniform angles (radial noise of the mixture's std) for the ring, uniform on the square
    ``[-4, 4]^2`` spanned by the means for the grid. A generator that has learned the support but
    not the modes scores about this.
    """
    data = make_data(data_name)
    out: Dict[str, List[Tuple[int, int, float]]] = {"data": [], "smeared": []}
    for seed in range(seeds):
        g = torch.Generator().manual_seed(20_000 + seed)
        out["data"].append(score(data, data.sample(N_EVAL, generator=g)))
        if data_name == "ring":
            angle = torch.rand(N_EVAL, generator=g) * (2 * math.pi)
            radius = 2.0 + data.std * torch.randn(N_EVAL, generator=g)
            smeared = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
        else:
            smeared = torch.rand(N_EVAL, 2, generator=g) * 8.0 - 4.0
        out["smeared"].append(score(data, smeared))
    return out


REFERENCE_LABELS = {
    "data": "*reference: samples of the mixture itself*",
    "smeared": "*reference: mass spread evenly over the support, no modes*",
}


def table(results: List[Dict[str, object]], variants: Sequence[Variant], datasets: Sequence[str], seeds: int) -> str:
    n_modes = {d: make_data(d).n_modes for d in datasets}
    names = {"ring": "Ring", "grid": "Grid"}
    head = ["variant"]
    for d in datasets:
        head += [f"{names[d]}: modes (of {n_modes[d]})", f"{names[d]}: modes ≥{STRICT_MIN}", f"{names[d]}: high quality %"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cells(scores: Sequence[Tuple[int, int, float]]) -> List[str]:
        return [fmt([x[0] for x in scores]), fmt([x[1] for x in scores]), fmt([x[2] for x in scores], 100.0)]

    for v in variants:
        row = [v.label]
        for d in datasets:
            rs = [r for r in results if r["variant"] == v.key and r["data"] == d]
            row += cells([(r["modes"], r["modes_strict"], r["hq"]) for r in rs])
        lines.append("| " + " | ".join(row) + " |")
    refs = {d: reference_scores(d, seeds) for d in datasets}
    for key, label in REFERENCE_LABELS.items():
        row = [label]
        for d in datasets:
            row += cells(refs[d][key])
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot(
    results: List[Dict[str, object]], variants: Sequence[Variant], datasets: Sequence[str], path: str, seed: int, steps: int
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the scatter plot needs matplotlib: pip install specnorm-gan[benchmark]") from err
    ncol = 4
    rows_per_data = math.ceil((len(variants) + 1) / ncol)
    nrow = rows_per_data * len(datasets)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.75 * nrow + 0.4), squeeze=False)
    for i, d in enumerate(datasets):
        data = make_data(d)
        name = "Ring of 8" if d == "ring" else "5x5 grid"
        lim = 2.6 if d == "ring" else 5.2
        real = data.sample(N_EVAL, generator=torch.Generator().manual_seed(seed)).numpy()
        panels = [(f"{name}: real data\n(std {data.std:g})", real, None)]
        for v in variants:
            r = next((r for r in results if r["variant"] == v.key and r["data"] == d and r["seed"] == seed), None)
            panels.append((v.label, None if r is None else r["samples"], r))
        c = data.centers.numpy()
        for j in range(rows_per_data * ncol):
            ax = axes[i * rows_per_data + j // ncol][j % ncol]
            if j >= len(panels):
                ax.axis("off")
                continue
            title, pts, r = panels[j]
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if pts is not None:
                ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="tab:blue", linewidths=0, rasterized=True)
            ax.scatter(c[:, 0], c[:, 1], s=60, facecolors="none", edgecolors="tab:red", linewidths=0.9, zorder=3)
            if r is not None:
                title = f"{name}: {title}\n{r['modes']}/{data.n_modes} modes, high quality {100 * r['hq']:.0f}%"
            ax.set_title(title, fontsize=8.5)
    fig.suptitle(
        f"2,500 samples of each generator (seed {seed}) after {steps} G steps; red circles: the mixture's means",
        fontsize=10,
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=Config.steps, help="G updates per run")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per variant and data set")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one thread each)")
    parser.add_argument("--lr", type=float, default=Config.lr)
    parser.add_argument("--width", type=int, default=Config.width)
    parser.add_argument("--batch", type=int, default=Config.batch)
    parser.add_argument("--n-dis", type=int, default=Config.n_dis)
    parser.add_argument("--no-decay", action="store_true")
    parser.add_argument("--variants", default=",".join(v.key for v in VARIANTS))
    parser.add_argument("--data", default=",".join(DATASETS))
    parser.add_argument("--plot", default="docs/img/mode_coverage.png", help="scatter plot path ('' for none)")
    parser.add_argument("--verbose", action="store_true", help="print every run (with a checksum of its samples)")
    parser.add_argument(
        "--no-repro-check", action="store_true", help="skip re-running the first run in this process to check it is bit-identical"
    )
    args = parser.parse_args(argv)
    by_key = {v.key: v for v in VARIANTS}
    variants = [by_key[k] for k in args.variants.split(",")]
    datasets = args.data.split(",")
    cfg = Config(steps=args.steps, lr=args.lr, width=args.width, batch=args.batch, n_dis=args.n_dis, decay=not args.no_decay)
    # WGAN-GP runs cost the most (a second D backward): start them first so the workers finish together.
    tasks = [(v, d, s, cfg) for v in variants for d in datasets for s in range(args.seeds)]
    tasks.sort(key=lambda t: -int(t[0].gp_weight > 0))
    results: List[Dict[str, object]] = []

    def run_all() -> None:
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                results.extend(pool.map(_run, tasks))
        else:
            results.extend(_run(t) for t in tasks)

    wall = timed(run_all)
    repro = ""
    if not args.no_repro_check:
        # Same config, other process, other run order: samples must be bit-identical.
        first = next((t for t in tasks if t[0].sn), tasks[0])
        again = _run(first)
        ref = next(r for r in results if (r["variant"], r["data"], r["seed"]) == (first[0].key, first[1], first[2]))
        same = again["samples"] is not None and ref["samples"] is not None and (again["samples"] == ref["samples"]).all()
        repro = (
            f"reproducibility: {first[0].key}/{first[1]}/seed {first[2]} re-run in the parent process gives "
            f"{'bit-identical samples' if same else 'DIFFERENT samples'} (checksum {again['checksum']!r})"
        )
    if args.verbose:
        for r in sorted(results, key=lambda r: (r["variant"], r["data"], r["seed"])):
            print(
                f"{r['variant']:>15} {r['data']} seed {r['seed']}: modes {r['modes']} (≥{STRICT_MIN}: {r['modes_strict']}) "
                f"hq {r['hq']:.4f} checksum {r['checksum']!r} train {r['train_s']:.1f}s"
            )
    print(table(results, variants, datasets, args.seeds))
    print()
    print(
        f"{len(tasks)} runs ({args.seeds} seeds), {cfg.steps} G steps x {cfg.n_dis} D steps, batch {cfg.batch}, width {cfg.width}, "
        f"Adam lr {cfg.lr} betas {cfg.betas}; mean ± std over seeds."
    )
    for v in variants:
        if v.preset:
            betas, decay, start = preset_recipe(v.preset, cfg.steps)
            print(f"{v.key}: {v.preset}'s recipe: SN in G and D, orthogonal init, Adam betas {betas}, "
                  f"G EMA decay {decay:.4f} from step {start} (evaluated on the EMA G)")
    print(
        f"wall time {wall:.0f} s with {args.jobs} worker(s) x 1 thread; {machine_line()}"
    )
    if repro:
        print(repro)
    if args.plot:
        plot(results, variants, datasets, args.plot, seed=0, steps=cfg.steps)
        print(f"scatter plot: {args.plot}")


if __name__ == "__main__":
    main()
