#!/usr/bin/env python
"""Score a training checkpoint with IS, FID, KID and intra-FID (torch-fidelity), as in the papers' tables.

Needs the metrics extra: ``pip install specnorm-gan[metrics]``. Images are sampled straight from the
generator (the EMA copy when the checkpoint has one; ``--no-ema`` for the raw G), in eval mode, in batches,
class-balanced for conditional models; nothing is written to PNG.

Two protocols (``--protocol``), named in the table and in the JSON:

* ``paper``: IS = mean ± std over 10 splits x 5K generated; FID = 5K generated vs 10K reference images
  (SNGAN / projection-discriminator papers);
* ``50k``: IS as above; FID and KID = 50K generated vs the whole reference (training) set (torch-mimicry,
  StudioGAN, MMGeneration).

Intra-FID (``--intra-fid``, conditional models) is the mean over classes of the FID between 5K generated images
of a class and all reference images of that class, with the per-class values in the JSON.

The reference (``--reference``) is a torch-fidelity registered input (``cifar10-train``, ``stl10-train``, ...),
an ``.npz`` file (images ``x`` / labels ``y``, or FID statistics ``mu`` / ``sigma``), a torchvision dataset
root or an image folder (read with ``specnorm_gan.data.load_dataset`` and resized to the generator's resolution).
Its statistics are cached on disk (``--cache-dir``, default torch-fidelity's ``$TORCH_HOME/fidelity_cache``).

The Inception weights (torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``) are downloaded on first
use; without internet, pass ``--inception-weights PATH`` or copy the file to ``$TORCH_HOME/hub/checkpoints/``.

Examples::

    python examples/evaluate.py --ckpt runs/cifar10 --metrics is fid --reference cifar10-train
    python examples/evaluate.py --ckpt runs/cifar10 --metrics is fid kid --protocol 50k \\
        --reference /work/shared/data/cifar10_train.npz --inception-weights weights-inception.pth
    python examples/evaluate.py --ckpt runs/cifar10_cond --metrics is fid --intra-fid --reference cifar10-train
    python examples/evaluate.py --ckpt runs/cifar10_biggan --truncation 1.0 --standing-stats 16 --reference cifar10-train

With ``--truncation T`` the seeded ``N(0, I)`` latents are mapped to the normal truncated at ``|z| <= T``
(``specnorm_gan.truncation.TruncatedGenerator``; the protocol is then reported as ``...-t<T>``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--ckpt", required=True, help="checkpoint file or run folder (its newest checkpoint)")
    p.add_argument("--metrics", nargs="+", default=["is", "fid"], help="some of: is fid kid intra-fid")
    p.add_argument("--intra-fid", action="store_true", help="also compute intra-FID (conditional models)")
    p.add_argument("--protocol", default="paper", choices=["paper", "50k"], help="evaluation protocol")
    p.add_argument(
        "--num-samples",
        type=int,
        default=None,
        help="override the generated sample counts of IS and FID (the protocol is then reported as <name>-n<N>)",
    )
    p.add_argument(
        "--intra-fid-samples",
        type=int,
        default=None,
        help="override the generated samples per class of intra-FID (the protocol is then reported as ...-c<N>)",
    )
    p.add_argument("--reference", default=None, help="real images: registered torch-fidelity input, .npz, folder")
    p.add_argument("--reference-dataset", default=None, help="dataset name for specnorm_gan.data.load_dataset")
    p.add_argument("--reference-split", default=None, help="dataset split for a torchvision root (default train)")
    p.add_argument("--datasets-root", default=None, help="root of torch-fidelity's registered datasets")
    p.add_argument("--download", action="store_true", help="allow downloading the reference dataset")
    p.add_argument("--inception-weights", default=None, help="Inception-v3 weights file (torch-fidelity format)")
    p.add_argument("--feature-extractor", default=None, help="torch-fidelity feature extractor (default Inception)")
    p.add_argument("--batch-size", type=int, default=100, help="images per generator / Inception batch")
    p.add_argument("--device", default="auto", help="torch device ('auto': CUDA if available)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    p.add_argument("--no-ema", action="store_true", help="use the raw G even if the checkpoint has an EMA copy")
    p.add_argument("--preset", default=None, help="expected preset: error if the checkpoint holds another model")
    p.add_argument("--cache-dir", default=None, help="reference statistics cache (default torch-fidelity's)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write cached reference statistics")
    p.add_argument("--json", default=None, help="output JSON (default: <checkpoint>-eval-<protocol>.json)")
    p.add_argument("--verbose", action="store_true", help="print torch-fidelity's progress messages")
    p.add_argument("--truncation", type=float, default=None, help="truncation trick: z with |z| <= T (BigGAN; T > 0)")
    p.add_argument("--standing-stats", type=int, default=0, metavar="N",
                   help="re-estimate G's BN statistics over N batches before evaluating (BigGAN's standing statistics; 0: off)")
    return p.parse_args(argv)


def load_generator(
    ckpt_path: str,
    *,
    use_ema: bool = True,
    device: str = "cpu",
    expect_preset: Optional[str] = None,
) -> Tuple[nn.Module, Dict[str, Any]]:
    """Rebuild the generator of a training checkpoint (``specnorm_gan.training.models_from_checkpoint``).

    Args:
        ckpt_path: Checkpoint file or run folder.
        use_ema: Return the EMA generator when the checkpoint has one.
        device: Where to put the generator.
        expect_preset: If given, the checkpoint must hold this preset's model.

    Returns:
        ``(G, info)`` with ``info`` = checkpoint path, iteration, preset, arch, width, resolution, classes and
        which generator (``"G_ema"`` or ``"G"``) was loaded.

    Raises:
        specnorm_gan.training.CheckpointError: not a specnorm_gan checkpoint, or its weights do not fit the model
            its config describes.
        ValueError: the checkpoint holds another model than ``expect_preset``.
    """
    from specnorm_gan.training import models_from_checkpoint

    G, _, G_ema, config, ckpt = models_from_checkpoint(ckpt_path, device=device)
    if expect_preset is not None and config.preset != expect_preset:
        raise ValueError(
            f"checkpoint {ckpt['path']} holds a model of preset {config.preset!r} (arch {config.arch!r}, "
            f"{getattr(G, 'resolution', '?')} px, {getattr(G, 'num_classes', '?')} classes, width {config.width}), "
            f"not {expect_preset!r}; "
            "evaluate it without --preset or pick the matching checkpoint"
        )
    chosen: Any = G_ema if (use_ema and G_ema is not None) else G
    info = {
        "checkpoint": ckpt["path"],
        "iteration": int(ckpt["iteration"]),
        "preset": config.preset,
        "arch": config.arch,
        "width": config.width,
        "resolution": int(chosen.resolution),
        "num_classes": int(chosen.num_classes),
        "generator": "G_ema" if chosen is G_ema else "G",
    }
    return chosen.eval(), info


def build_reference(args: argparse.Namespace, G: Any) -> Any:
    """The ``ReferenceData`` for ``--reference`` (None when not given)."""
    if args.reference is None:
        return None
    import numpy as np

    from specnorm_gan import metrics
    from torch_fidelity.registry import DATASETS_REGISTRY

    spec = args.reference
    if spec in DATASETS_REGISTRY:
        return metrics.ReferenceData(spec, datasets_root=args.datasets_root, download=args.download)
    if spec.endswith(".npz") and os.path.isfile(spec):
        with np.load(spec, allow_pickle=False) as d:
            if "mu" in d.files and "sigma" in d.files:
                return metrics.ReferenceData(spec)
    from specnorm_gan.data import load_dataset

    ds = load_dataset(
        spec,
        dataset=args.reference_dataset,
        split=args.reference_split,
        resolution=int(G.resolution),
        download=args.download,
    )
    return metrics.ReferenceData(ds)  # an ImageDataset: images, labels, cached under "<name>-<content hash>"


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        from specnorm_gan import metrics
    except ImportError as e:  # pragma: no cover
        print(f"error: {e}", file=sys.stderr)
        return 2
    from specnorm_gan.training import CheckpointError
    from specnorm_gan.truncation import TruncatedGenerator, check_sampling_args

    try:
        check_sampling_args(args.truncation, args.standing_stats)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        metrics._require_fidelity()
    except ImportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from specnorm_gan.data import DatasetNotFoundError

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    names = list(args.metrics) + (["intra_fid"] if args.intra_fid else [])
    expected = (
        CheckpointError,
        DatasetNotFoundError,
        FileNotFoundError,
        ValueError,
        TypeError,
        metrics.InceptionWeightsUnavailableError,
        metrics.ReferenceUnavailableError,
    )
    try:
        G, info = load_generator(args.ckpt, use_ema=not args.no_ema, device=device, expect_preset=args.preset)
        check_sampling_args(args.truncation, args.standing_stats, G)
        if args.standing_stats:
            from specnorm_gan.standing_stats import accumulate_standing_stats

            accumulate_standing_stats(G, args.standing_stats, args.batch_size, args.truncation,
                                      torch.Generator(device=device).manual_seed(args.seed + 1))
        if args.truncation is not None:
            G = TruncatedGenerator(G, args.truncation)
        reference = build_reference(args, G)
        evaluator = metrics.Evaluator(
            reference,
            metrics=names,
            protocol=args.protocol,
            feature_extractor=args.feature_extractor or metrics.DEFAULT_FEATURE_EXTRACTOR,
            inception_weights=args.inception_weights,
            device=device,
            batch_size=args.batch_size,
            seed=args.seed,
            cache_dir=args.cache_dir,
            cache=not args.no_cache,
            verbose=args.verbose,
        )
        result = evaluator.evaluate_generator(
            G,
            num_samples=args.num_samples,
            intra_fid_samples_per_class=args.intra_fid_samples,
            step=info["iteration"],
        )
    except expected as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    result["checkpoint"] = info
    if args.truncation is not None or args.standing_stats:
        result["protocol"] += f"-t{args.truncation:g}" if args.truncation is not None else ""
        result["sampling"] = {"truncation": args.truncation, "standing_stats_batches": args.standing_stats}
    out = args.json
    if out is None:
        ckpt_file = Path(info["checkpoint"])
        out = str(ckpt_file.with_name(f"{ckpt_file.stem}-eval-{result['protocol']}.json"))
    metrics.save_results(result, out)
    print(
        f"{info['checkpoint']} (iteration {info['iteration']}, {info['generator']}, preset {info['preset']}, "
        f"{info['resolution']} px, {info['num_classes']} classes)"
    )
    print(metrics.format_table(result))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
