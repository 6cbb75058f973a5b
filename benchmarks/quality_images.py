"""Sample quality of SNGAN checkpoints on real images, measured with an independently trained classifier.

For MNIST and CIFAR-10 (the offline copies in ``shared/data/``), this script

1. trains (or loads from ``--cache``) a small plain-torch CNN classifier on the training split at
   32x32 (the images go through ``specnorm_gan.data.load_dataset`` exactly as the GAN's training
   data do), seeded, on one CPU thread, and reports its accuracy on the held-out test split;
2. for every checkpoint given with ``--ckpt NAME=PATH``, draws ``--num-samples`` images from the EMA
   generator (``G_ema``; ``--generator raw`` or ``both`` for the plain ``G``) in eval mode with a
   seeded ``torch.Generator`` (class-balanced labels ``arange(N) % 10`` for conditional models),
   rounds them to ``uint8`` like a saved PNG, and reports
   * **FD**: the Fréchet distance between the classifier's penultimate features (global average
     pool, 128-d) of the generated images and of the whole held-out test split, computed with
     ``specnorm_gan.metrics.feature_statistics`` / ``frechet_distance`` (torch-fidelity's float64
     code);
   * **class acc.** (conditional models): the share of generated images the classifier assigns to
     the class they were generated for;
   * **class TV**: the total-variation distance between the classifier's predicted-class histogram
     of the generated images and of the test images (0: same class proportions; a dropped or
     over-produced class raises it);
3. prints the floor: the same numbers for ``--num-samples`` real *training* images (seeded random
   subset) against the same test split, and the classifier's test accuracy.

The feature extractor is a small classifier trained for a few CPU minutes, not Inception-v3, so the
FD values are only comparable with each other (same classifier cache, same N), not with published
FIDs. Everything is seeded and runs on one thread, so evaluating a checkpoint twice gives identical
numbers (``--check-repro`` evaluates every checkpoint twice and fails if any number differs).

    python benchmarks/quality_images.py --dataset mnist --ckpt mnist-cond=/tmp/runs/mnist-cond
    python benchmarks/quality_images.py --dataset cifar10 --ckpt uncond=/tmp/runs/cifar-uncond \\
        cond=/tmp/runs/cifar-cond --num-samples 5000 --seeds 0 1 2 --generator both --grid-dir grids \\
        --check-repro --json results.json

Needs the ``[metrics]`` extra (torch-fidelity, for the Fréchet distance) and the training
checkpoints written by ``examples/train.py``. See ``docs/benchmarks-quality-images.md``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from specnorm_gan.data import load_dataset, to_uint8_images  # noqa: E402
from specnorm_gan.metrics import feature_statistics, frechet_distance  # noqa: E402
from specnorm_gan.training import find_checkpoint, models_from_checkpoint  # noqa: E402

from _harness import add_threads_arg, md_table, save_json, timed  # noqa: E402
from _quality_classifier import (  # noqa: E402,F401
    CLASSIFIER_CONFIGS, NUM_CLASSES, ClassifierConfig, SmallCNN, predict, train_classifier,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"  # /work/shared/data next to the checkout

RESOLUTION = 32


def load_split(dataset: str, split: str, channels: int) -> Tuple[Tensor, Tensor]:
    """uint8 images (N, C, 32, 32) and int64 labels, loaded and resized as examples/train.py does."""
    path = DATA_DIR / f"{dataset}_{split}.npz"
    ds = load_dataset(path, resolution=RESOLUTION, channels=channels)
    assert ds.labels is not None
    return ds.images, ds.labels




def _cache_key(cfg: ClassifierConfig) -> str:
    files = [DATA_DIR / f"{cfg.dataset}_{s}.npz" for s in ("train", "test")]
    blob = json.dumps({"cfg": asdict(cfg), "files": [(f.name, f.stat().st_size) for f in files],
                       "torch": torch.__version__.split("+")[0]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]




def get_classifier(cfg: ClassifierConfig, cache: Path, x_train: Tensor, y_train: Tensor, x_test: Tensor,
                   y_test: Tensor) -> Tuple[SmallCNN, Dict[str, Any]]:
    """Loads the cached classifier for ``cfg`` or trains and caches it; returns it and its info dict."""
    file = cache / f"classifier_{cfg.dataset}_{_cache_key(cfg)}.pt"
    if file.is_file():
        blob = torch.load(file, map_location="cpu", weights_only=True)
        model = SmallCNN(cfg.channels, cfg.width, cfg.convs_per_stage)
        model.load_state_dict(blob["state_dict"])
        info = blob["info"]
        print(f"classifier: loaded {file}")
    else:
        print(f"classifier: training {cfg} ...")
        trained: List[SmallCNN] = []
        train_s = timed(lambda: trained.append(train_classifier(cfg, x_train, y_train)))
        model = trained[0]
        info = {"train_seconds": train_s, "file": str(file), "config": asdict(cfg),
                "params": sum(p.numel() for p in model.parameters())}
        cache.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        torch.save({"state_dict": model.state_dict(), "info": info}, tmp)
        os.replace(tmp, file)
        print(f"classifier: trained in {train_s:.0f} s, cached at {file}")
    model.eval()
    _, logits = predict(model, x_test)
    info = dict(info, test_accuracy=float((logits.argmax(1) == y_test).double().mean()))
    return model, info


# ----------------------------------------------------------------------------------------------------------
# evaluation


@dataclass
class Reference:
    stats: Dict[str, np.ndarray]
    class_hist: Tensor


def class_histogram(logits: Tensor) -> Tensor:
    return torch.bincount(logits.argmax(1), minlength=NUM_CLASSES).double() / logits.shape[0]


def score(model: SmallCNN, images_u8: Tensor, ref: Reference, labels: Optional[Tensor]) -> Dict[str, float]:
    """FD against the reference, class-conditional accuracy (when ``labels``), class-histogram TV distance."""
    feats, logits = predict(model, images_u8)
    stats = feature_statistics(feats, what="features")
    out = {
        "fd": frechet_distance(stats["mu"], stats["sigma"], ref.stats["mu"], ref.stats["sigma"]),
        "class_tv": float(0.5 * (class_histogram(logits) - ref.class_hist).abs().sum()),
    }
    if labels is not None:
        out["class_accuracy"] = float((logits.argmax(1) == labels).double().mean())
    return out


@torch.no_grad()
def generate(G: nn.Module, n: int, seed: int, batch_size: int = 250) -> Tuple[Tensor, Optional[Tensor]]:
    """``n`` uint8 images from ``G`` (eval mode, float32), seeded; class-balanced labels for conditional G."""
    G.eval()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    y_all = torch.arange(n) % G.num_classes if G.num_classes else None
    out = []
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        z = G.sample_z(b, generator=gen)
        y = y_all[i : i + b] if y_all is not None else None
        out.append(to_uint8_images(G(z, y).float()))
    return torch.cat(out), y_all


@torch.no_grad()
def save_grid(G: nn.Module, ckpt: Dict[str, Any], cfg: Any, path: Path) -> str:
    """The training loop's sample grid (the checkpoint's fixed ``z`` and labels, one row per class), from ``G``.

    With ``G_ema`` this reproduces the loop's own ``samples/iter_*.png`` for that checkpoint.
    """
    from torchvision.utils import save_image

    G.eval()
    z, y = ckpt["fixed_z"].float(), ckpt.get("fixed_y")
    bs = max(int(cfg.batch_size), 1)
    out = [G(z[i : i + bs], y[i : i + bs] if y is not None else None).float() for i in range(0, z.shape[0], bs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(torch.cat(out), str(path), nrow=cfg.sample_cols, normalize=True, value_range=(-1, 1))
    return str(path)


def _run_info(path: Path, ckpt: Dict[str, Any], cfg: Any) -> Dict[str, Any]:
    """Training command (reconstructed from the saved config), iteration and wall time of a run."""
    data = (ckpt.get("extra") or {}).get("data") or {}
    source = data.get("source", "?") if isinstance(data, dict) else "?"
    cmd = ["python examples/train.py"]
    if cfg.preset:
        cmd.append(f"--preset {cfg.preset}")
    if cfg.num_classes:
        cmd.append("--conditional")
    cmd += [f"--data {source}", f"--in-channels {cfg.in_channels}", f"--resolution {cfg.resolution}",
            f"--width {cfg.width:g}", f"--iterations {cfg.iterations}"]
    if cfg.ema:
        cmd.append(f"--ema --ema-decay {cfg.ema_decay:g}")
    if cfg.amp != "none":
        cmd.append(f"--amp {cfg.amp}")
    if cfg.channels_last:
        cmd.append("--channels-last")
    if cfg.compile:
        cmd.append("--compile")
    cmd.append(f"--seed {cfg.seed}")
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    metrics_time = None
    csv_file = run_dir / "metrics.csv"
    if csv_file.is_file():
        with open(csv_file) as f:
            rows = [r for r in csv.DictReader(f) if r.get("iteration") and int(r["iteration"]) <= int(ckpt["iteration"])]
        if rows:
            metrics_time = float(rows[-1]["time_s"])
    return {
        "checkpoint": str(path),
        "iteration": int(ckpt["iteration"]),
        "iterations_planned": int(cfg.iterations),
        "elapsed_s": float(ckpt.get("elapsed_s", float("nan"))),
        "metrics_csv_time_s": metrics_time,
        "command": " ".join(cmd),
        "hparams": {k: getattr(cfg, k) for k in ("loss", "n_dis", "batch_size", "g_batch_size", "lr_g", "lr_d",
                                                 "betas_g", "betas_d", "lr_decay", "amp", "channels_last")},
    }


def evaluate_checkpoint(name: str, path: str, model: SmallCNN, ref: Reference, channels: int, n: int,
                        seeds: List[int],
                        which: str, check_repro: bool, grid_dir: Optional[str] = None) -> List[Dict[str, Any]]:
    """Scores the generator(s) of one checkpoint for every sampling seed; one result row per generator."""
    file = find_checkpoint(path)
    G, _, G_ema, cfg, ckpt = models_from_checkpoint(file)
    if G.out_channels != channels or G.resolution != RESOLUTION:
        raise ValueError(f"{name}: generator makes {G.out_channels}x{G.resolution}x{G.resolution} images; "
                         f"this dataset needs {channels}x{RESOLUTION}x{RESOLUTION}")
    if G.num_classes not in (0, NUM_CLASSES):
        raise ValueError(f"{name}: generator has {G.num_classes} classes; expected 0 or {NUM_CLASSES}")
    info = _run_info(file, ckpt, cfg)
    gens = []
    if which in ("ema", "both"):
        if G_ema is None:
            print(f"{name}: no G_ema in {file}; evaluating G")
        else:
            gens.append(("G_ema", G_ema))
    if which in ("raw", "both") or not gens:
        gens.append(("G", G))
    rows = []
    for label, g in gens:
        t0 = time.perf_counter()
        per_seed = []
        for seed in seeds:
            images, y = generate(g, n, seed)
            res = score(model, images, ref, y)
            if check_repro:
                images2, y2 = generate(g, n, seed)
                res2 = score(model, images2, ref, y2)
                if not (torch.equal(images, images2) and res == res2):
                    raise AssertionError(f"{name}/{label} seed {seed}: second evaluation differs: {res} vs {res2}")
            per_seed.append(res)
        row = {"name": name, "generator": label, "conditional": bool(g.num_classes), **info,
               **_aggregate(per_seed, seeds), "eval_seconds": time.perf_counter() - t0}
        if check_repro:
            row["repro_identical"] = True
        if grid_dir:
            row["grid"] = save_grid(g, ckpt, cfg, Path(grid_dir) / f"{name}_{label}.png")
        rows.append(row)
        print(f"{name} [{label}] it {info['iteration']}: " + ", ".join(
            f"{k} {v}" for k, v in row.items() if k in ("fd", "fd_sd", "class_accuracy", "class_tv", "per_seed")))
    return rows


def _aggregate(per_seed: List[Dict[str, float]], seeds: List[int]) -> Dict[str, Any]:
    """Mean over sampling seeds of every number, its standard deviation (``<key>_sd``) and the per-seed values."""
    out: Dict[str, Any] = {"seeds": list(seeds), "per_seed": per_seed}
    for k in per_seed[0]:
        v = np.array([r[k] for r in per_seed], dtype=np.float64)
        out[k] = float(v.mean())
        out[f"{k}_sd"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return out


def _pm(r: Dict[str, Any], key: str, scale: float = 1.0, fmt: str = "{:.3f}", unit: str = "") -> str:
    s = fmt.format(r[key] * scale) + unit
    if len(r.get("seeds", [])) > 1:
        s += " ± " + fmt.format(r[f"{key}_sd"] * scale)
    return s


def _fmt_time(s: Optional[float]) -> str:
    if s is None or math.isnan(s):
        return "-"
    return f"{s / 60:.1f} min"


def markdown(dataset: str, clf: Dict[str, Any], floor: Dict[str, Any], rows: List[Dict[str, Any]], n: int) -> str:
    """The results as a markdown table, with the classifier line and the training commands."""
    seeds = floor["seeds"]
    lines = [
        f"Classifier ({dataset}): {clf['params']:,} parameters, trained {clf['train_seconds']:.0f} s on one thread; "
        f"test accuracy {clf['test_accuracy'] * 100:.2f}%. N = {n} images per model; "
        + (f"mean ± sd over sampling seeds {seeds}." if len(seeds) > 1 else f"sampling seed {seeds[0]}."),
        "",
    ]
    table = []
    for r in rows:
        it = f"{r['iteration']}" + ("" if r["iteration"] >= r["iterations_planned"] else f" of {r['iterations_planned']}")
        acc = _pm(r, "class_accuracy", 100, "{:.1f}", "%") if "class_accuracy" in r else "-"
        table.append([r["name"], r["generator"], it, _fmt_time(r["elapsed_s"]), _pm(r, "fd"), acc, _pm(r, "class_tv")])
    table.append(["floor: real train images", "-", "-", "-", _pm(floor, "fd"),
                  f"{clf['test_accuracy'] * 100:.1f}% (test set)", _pm(floor, "class_tv")])
    lines += md_table(["model", "generator", "iteration", "training wall time", "FD vs test ↓", "class acc. ↑",
                       "class TV ↓"], table, escape=False)
    lines.append("")
    lines.append("Training commands (reconstructed from the checkpoints' saved configs):")
    lines.append("")
    seen = set()
    for r in rows:
        if r["name"] in seen:
            continue
        seen.add(r["name"])
        lines.append(f"- {r['name']}: `{r['command']}`")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    global DATA_DIR
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(CLASSIFIER_CONFIGS), required=True)
    p.add_argument("--ckpt", nargs="*", default=[], metavar="NAME=PATH",
                   help="checkpoints to evaluate: a .pt file or a run folder (its newest checkpoint)")
    p.add_argument("--num-samples", type=int, default=5000, help="generated images per model and real floor images")
    p.add_argument("--generator", choices=["ema", "raw", "both"], default="ema",
                   help="evaluate G_ema (default), the raw G, or both")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="sampling seeds (latents; the floor's random training subset); >1: mean ± sd over them")
    p.add_argument("--cache", default="/tmp/quality_cache", help="folder of the cached classifiers")
    p.add_argument("--data-dir", default=str(DATA_DIR),
                   help="folder with {mnist,cifar10}_{train,test}.npz (default: ../shared/data next to the checkout)")
    add_threads_arg(p, default=1)
    p.add_argument("--check-repro", action="store_true", help="evaluate every model twice; fail if any number differs")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--grid-dir", help="write each evaluated generator's sample grid (the training loop's fixed z) here")
    args = p.parse_args(argv)
    if args.num_samples < 200:
        p.error("--num-samples must be >= 200 (the feature covariance is 128x128)")
    ckpts = []
    for item in args.ckpt:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).name, item
        ckpts.append((name, path))

    DATA_DIR = Path(args.data_dir)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    cfg = CLASSIFIER_CONFIGS[args.dataset]
    x_train, y_train = load_split(args.dataset, "train", cfg.channels)
    x_test, y_test = load_split(args.dataset, "test", cfg.channels)
    model, clf = get_classifier(cfg, Path(args.cache), x_train, y_train, x_test, y_test)
    print(f"classifier test accuracy: {clf['test_accuracy']:.4f}")

    test_feats, test_logits = predict(model, x_test)
    ref = Reference(feature_statistics(test_feats, what="test features"), class_histogram(test_logits))
    floor_runs = []
    for seed in args.seeds:
        idx = torch.randperm(x_train.shape[0], generator=torch.Generator().manual_seed(seed))[: args.num_samples]
        floor_runs.append(score(model, x_train[idx], ref, y_train[idx]))
    floor = _aggregate(floor_runs, args.seeds)
    print(f"floor (real train images vs test): fd {floor['fd']:.4f} ± {floor['fd_sd']:.4f}, class_tv "
          f"{floor['class_tv']:.4f}, classifier accuracy on these train images {floor['class_accuracy']:.4f}")

    rows: List[Dict[str, Any]] = []
    for name, path in ckpts:
        rows += evaluate_checkpoint(name, path, model, ref, cfg.channels, args.num_samples, args.seeds, args.generator,
                                    args.check_repro, args.grid_dir)
    table = markdown(args.dataset, clf, floor, rows, args.num_samples)
    print()
    print(table)
    print(f"\n(total {time.perf_counter() - t_start:.0f} s)")
    if args.json:
        save_json(args.json, {"dataset": args.dataset, "num_samples": args.num_samples, "seeds": args.seeds,
                              "classifier": clf, "floor": floor, "rows": rows, "torch": torch.__version__}, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
