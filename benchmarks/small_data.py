"""Training on 10% of CIFAR-10 at a fixed CPU budget: no augmentation vs DiffAugment vs ADA, three seeds each.

Every variant trains the same preset (default ``cifar10-cnn``, the paper's standard CNN with the hinge
loss) through the front door, ``examples/train.py``, with ``--max-images 2500`` (a seeded random subset
of the training images, drawn with the run's ``--seed``), the same width, iterations and batch size, on
one CPU thread per run; the variants differ only in the augmentation of D's inputs:

* ``none``: no augmentation (the plain SNGAN loop);
* ``diffaugment``: ``--diffaugment color,translation,cutout`` (Zhao et al. 2020, the policy of their
  CIFAR-10 runs);
* ``ada``: ``--ada-target 0.6`` (Karras et al. 2020) with ``--ada-speed`` scaled to the short budget
  (the paper lets ``p`` go from 0 to 1 in 500k images of a 25M-image run, 2%; here the default is 10k
  images of a ~100k-image run).

Each final checkpoint's generator (``G_ema`` when the preset keeps one, else ``G``) is then scored
with the library's own metrics (``specnorm_gan.metrics.frechet_distance`` and
``kernel_inception_distance``, torch-fidelity's float64 code) on the pooled features of the
independently trained evaluation classifier of ``benchmarks/quality_images.py`` (Inception weights
cannot be downloaded here), ``--num-samples`` generated images against the **full 10,000-image test
set**; the floor is the same numbers for the run's own 2,500 training images. The table also reports
D's overfitting as the gap between D's mean output on its training images and on 2,500 held-out test
images (Karras et al. 2020, Fig. 1; Zhao et al. 2020, Fig. 2), and ADA's final probability.

    python benchmarks/small_data.py --out /tmp/small_data --iterations 1500 --width 0.5 --jobs 2 \\
        --json /tmp/small_data/results.json --markdown /tmp/small_data/table.md

Runs that already finished (a final checkpoint in ``--out/<variant>-s<seed>``) are scored without
retraining, and an interrupted run resumes from its last checkpoint, so the command can be repeated.
Needs the ``[metrics]`` extra (torch-fidelity). See ``docs/augmentation.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from specnorm_gan.data import load_dataset, to_float_images  # noqa: E402
from specnorm_gan.metrics import feature_statistics, kernel_inception_distance  # noqa: E402
from specnorm_gan.training import CheckpointError, find_checkpoint, models_from_checkpoint  # noqa: E402

import quality_images as qi  # noqa: E402
from _harness import md_table, save_json  # noqa: E402
from _quality_classifier import CLASSIFIER_CONFIGS, predict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = ROOT / "examples" / "train.py"
DATASET = "cifar10"

VARIANTS: Dict[str, List[str]] = {
    "none": [],
    "diffaugment": ["--diffaugment", "color,translation,cutout"],
    "ada": ["--ada-target", "0.6"],
}


def train_command(variant: str, seed: int, args: argparse.Namespace) -> List[str]:
    """The ``examples/train.py`` command line of one run (same budget for every variant)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    cmd = [sys.executable, str(TRAIN_SCRIPT), "--preset", args.preset,
           "--data", str(Path(args.data_dir) / f"{DATASET}_train.npz"), "--max-images", str(args.max_images),
           "--width", f"{args.width:g}", "--iterations", str(args.iterations), "--seed", str(seed),
           "--threads", "1", "--out", str(run_dir(args.out, variant, seed)), "--no-progress", "--no-tensorboard",
           "--log-every", str(args.log_every), "--ckpt-every", str(args.ckpt_every),
           "--sample-every", str(args.iterations), "--keep-checkpoints", "2"]
    if args.batch_size:
        cmd += ["--batch-size", str(args.batch_size)]
    cmd += VARIANTS[variant]
    if variant == "ada":
        cmd += ["--ada-speed", f"{args.ada_speed:g}"]
    return cmd


def run_dir(out: str, variant: str, seed: int) -> Path:
    return Path(out) / f"{variant}-s{seed}"


def _finished(path: Path, iterations: int) -> Optional[Path]:
    """The final checkpoint of a run folder, or ``None`` when the run has not reached ``iterations``."""
    try:
        file = Path(find_checkpoint(str(path)))
    except CheckpointError:
        return None
    ckpt = torch.load(file, map_location="cpu", weights_only=True)
    return file if int(ckpt["iteration"]) >= iterations else None


def train_run(variant: str, seed: int, args: argparse.Namespace) -> Dict[str, Any]:
    """Trains one run (or resumes / skips it); returns its command and wall time."""
    path = run_dir(args.out, variant, seed)
    cmd = train_command(variant, seed, args)
    if _finished(path, args.iterations) is not None:
        print(f"[{variant} s{seed}] finished before; not retrained", flush=True)
        return {"command": cmd, "trained_now": False}
    if (path / "checkpoints").is_dir() and any((path / "checkpoints").glob("*.pt")):
        cmd = cmd + ["--resume"]
    path.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"[{variant} s{seed}] " + " ".join(cmd[1:]), flush=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(path / "train.log", "a") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"[{variant} s{seed}] examples/train.py exited with {proc.returncode}; see {path / 'train.log'}")
    wall = time.perf_counter() - t0
    print(f"[{variant} s{seed}] trained in {wall / 60:.1f} min", flush=True)
    return {"command": cmd, "trained_now": True, "wall_s": wall}


def _last_csv(path: Path, column: str) -> Optional[float]:
    file = path / "metrics.csv"
    if not file.is_file():
        return None
    with open(file) as f:
        vals = [r[column] for r in csv.DictReader(f) if r.get(column) not in (None, "")]
    return float(vals[-1]) if vals else None


@torch.no_grad()
def d_mean_output(D: nn.Module, images_u8: Tensor, labels: Optional[Tensor], batch_size: int = 500) -> float:
    """D's mean raw output (logit) over uint8 images, in eval mode."""
    D.eval()
    total = 0.0
    for i in range(0, images_u8.shape[0], batch_size):
        x = to_float_images(images_u8[i : i + batch_size])
        y = labels[i : i + batch_size] if labels is not None and getattr(D, "num_classes", 0) else None
        total += float(D(x, y).double().sum())
    return total / images_u8.shape[0]


def training_subset(args: argparse.Namespace, seed: int) -> Tuple[Tensor, Tensor]:
    """The exact images a run trained on: ``examples/train.py``'s loader and ``subset(max_images, seed)``."""
    ds = load_dataset(Path(args.data_dir) / f"{DATASET}_train.npz", resolution=32, channels=3)
    sub = ds.subset(args.max_images, seed=seed)
    assert sub.labels is not None
    return sub.images, sub.labels


def score_run(variant: str, seed: int, args: argparse.Namespace, clf: nn.Module, ref_feats: Tensor,
              ref: qi.Reference, x_held: Tensor, y_held: Tensor) -> Dict[str, Any]:
    """FD, KID and class TV of one run's final generator against the test set; D's train/held-out gap."""
    path = run_dir(args.out, variant, seed)
    file = _finished(path, args.iterations)
    if file is None:
        raise RuntimeError(f"[{variant} s{seed}] no checkpoint at iteration {args.iterations} in {path}")
    G, D, G_ema, cfg, ckpt = models_from_checkpoint(str(file))
    gen = G_ema if G_ema is not None else G
    images, y = qi.generate(gen, args.num_samples, seed=1000 + seed)
    feats, _ = predict(clf, images)
    res = qi.score(clf, images, ref, y)
    kid, kid_sd = kernel_inception_distance(feats, ref_feats, subsets=args.kid_subsets,
                                            subset_size=min(1000, args.num_samples))
    x_train, y_train = training_subset(args, seed)
    d_train = d_mean_output(D, x_train, y_train)
    d_held = d_mean_output(D, x_held, y_held)
    return {"variant": variant, "seed": seed, "checkpoint": str(file), "iteration": int(ckpt["iteration"]),
            "generator": "G_ema" if G_ema is not None else "G", "fd": res["fd"], "kid": kid, "kid_sd": kid_sd,
            "class_tv": res["class_tv"], "d_train": d_train, "d_held": d_held, "d_gap": d_train - d_held,
            "ada_p": _last_csv(path, "ada_p"), "train_time_s": _last_csv(path, "time_s")}


def floor_row(args: argparse.Namespace, seed: int, clf: nn.Module, ref_feats: Tensor, ref: qi.Reference) -> Dict[str, Any]:
    """The same FD / KID / TV for the run's own training images (what a perfect memoriser would score)."""
    x_train, y_train = training_subset(args, seed)
    feats, _ = predict(clf, x_train)
    res = qi.score(clf, x_train, ref, y_train)
    kid, _ = kernel_inception_distance(feats, ref_feats, subsets=args.kid_subsets,
                                       subset_size=min(1000, x_train.shape[0]))
    return {"seed": seed, "fd": res["fd"], "kid": kid, "class_tv": res["class_tv"]}


def _mean_sd(rows: Sequence[Dict[str, Any]], key: str) -> Tuple[float, float]:
    v = np.array([r[key] for r in rows if r.get(key) is not None], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def _pm(rows: Sequence[Dict[str, Any]], key: str, fmt: str, scale: float = 1.0) -> str:
    m, s = _mean_sd(rows, key)
    if np.isnan(m):
        return "-"
    return fmt.format(m * scale) + (" ± " + fmt.format(s * scale) if len(rows) > 1 else "")


def markdown(rows: List[Dict[str, Any]], floors: List[Dict[str, Any]], args: argparse.Namespace,
             clf_info: Dict[str, Any]) -> str:
    """Mean ± sd over seeds per variant, then every run, then the commands."""
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"{args.preset}, width {args.width:g}, {args.iterations} G iterations, {args.max_images} training images "
             f"(seeded subset per run seed), one CPU thread per run; seeds {seeds}; N = {args.num_samples} generated "
             f"images vs the 10,000 test images; evaluation classifier test accuracy "
             f"{clf_info['test_accuracy'] * 100:.2f}%. Mean ± sd over seeds.", ""]
    table = []
    for v in VARIANTS:
        vr = [r for r in rows if r["variant"] == v]
        if not vr:
            continue
        ada = _pm(vr, "ada_p", "{:.2f}") if v == "ada" else "-"
        table.append([v, len(vr), _pm(vr, "fd", "{:.2f}"), _pm(vr, "kid", "{:.2f}", 1e3), _pm(vr, "class_tv", "{:.3f}"),
                      _pm(vr, "d_gap", "{:.2f}"), ada, _pm(vr, "train_time_s", "{:.1f}", 1 / 60)])
    table.append([f"floor: the {args.max_images:,} training images", len(floors), _pm(floors, "fd", "{:.2f}"),
                  _pm(floors, "kid", "{:.2f}", 1e3), _pm(floors, "class_tv", "{:.3f}"), "-", "-", "-"])
    lines += md_table(["variant", "runs", "FD vs test ↓", "KID×10³ vs test ↓", "class TV ↓",
                       "D(train) − D(test) ↓", "final ADA p", "training min"], table, escape=False)
    lines += ["", "Every run:", ""]
    per = [[r["variant"], r["seed"], r["generator"], f"{r['fd']:.2f}", f"{r['kid'] * 1e3:.2f}", f"{r['class_tv']:.3f}",
            f"{r['d_train']:.2f} / {r['d_held']:.2f}", "-" if r["ada_p"] is None else f"{r['ada_p']:.3f}"]
           for r in rows]
    lines += md_table(["variant", "seed", "generator", "FD", "KID×10³", "class TV", "D train / held-out", "ADA p"],
                      per, escape=False)
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="/tmp/small_data", help="folder of the runs (one subfolder per variant and seed)")
    p.add_argument("--preset", default="cifar10-cnn")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--iterations", type=int, default=1500, help="G iterations of every run")
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--batch-size", type=int, default=0, help="D batch size (0: the preset's)")
    p.add_argument("--max-images", type=int, default=2500)
    p.add_argument("--ada-speed", type=float, default=10_000.0, help="ADA: images for p to go from 0 to 1")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once (one thread each)")
    p.add_argument("--num-samples", type=int, default=5000)
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--ckpt-every", type=int, default=250)
    p.add_argument("--data-dir", default=str(qi.DATA_DIR))
    p.add_argument("--cache", default="/tmp/quality_cache", help="folder of the cached evaluation classifier")
    p.add_argument("--score-only", action="store_true", help="score finished runs; train nothing")
    p.add_argument("--json", help="write every number to this JSON file")
    p.add_argument("--markdown", help="write the tables to this file")
    args = p.parse_args(argv)
    for name in ("iterations", "max_images", "jobs", "num_samples"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.num_samples < 200:
        p.error(f"--num-samples must be >= 200 (the feature covariance is 128x128), got {args.num_samples}")
    if args.width <= 0:
        p.error(f"--width must be > 0, got {args.width}")

    runs = [(v, s) for s in args.seeds for v in args.variants]
    trained: Dict[Tuple[str, int], Dict[str, Any]] = {}
    if not args.score_only:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # each job is a one-thread subprocess
            for key, info in zip(runs, pool.map(lambda r: train_run(r[0], r[1], args), runs)):
                trained[key] = info

    torch.set_num_threads(max(1, args.jobs))
    qi.DATA_DIR = Path(args.data_dir)
    cfg = CLASSIFIER_CONFIGS[DATASET]
    x_tr, y_tr = qi.load_split(DATASET, "train", cfg.channels)
    x_test, y_test = qi.load_split(DATASET, "test", cfg.channels)
    clf, clf_info = qi.get_classifier(cfg, Path(args.cache), x_tr, y_tr, x_test, y_test)
    test_feats, test_logits = predict(clf, x_test)
    ref = qi.Reference(feature_statistics(test_feats, what="test features"), qi.class_histogram(test_logits))
    held = torch.randperm(x_test.shape[0], generator=torch.Generator().manual_seed(0))[: args.max_images]
    rows = []
    for v, s in runs:
        r = score_run(v, s, args, clf, test_feats, ref, x_test[held], y_test[held])
        r["command"] = " ".join(["python", "examples/train.py"] + train_command(v, s, args)[2:])
        rows.append(r)
        print(f"[{v} s{s}] fd {r['fd']:.2f} kid {r['kid'] * 1e3:.2f}e-3 tv {r['class_tv']:.3f} "
              f"D gap {r['d_gap']:.2f} ada_p {r['ada_p']}", flush=True)
    floors = [floor_row(args, s, clf, test_feats, ref) for s in args.seeds]
    table = markdown(rows, floors, args, clf_info)
    print()
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if args.json:
        save_json(args.json, {"args": vars(args), "classifier": clf_info, "rows": rows, "floors": floors,
                              "torch": torch.__version__}, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
