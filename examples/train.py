#!/usr/bin/env python
"""Train any specnorm-gan preset with the reference loop (official SNGAN updater).

    python examples/train.py --preset cifar10-resnet --data ~/data            # torchvision root
    python examples/train.py --preset stl10-resnet48 --data ~/data --dataset stl10
    python examples/train.py --preset cifar10-projection --data cifar10_train.npz --width 0.25
    python examples/train.py --preset animeface96-resnet --data animeface/     # image folder
    python examples/train.py --preset cifar10-10pct-diffaugment --data ~/data  # seeded 5,000-image subset
    python examples/train.py --preset 100shot-64-resnet --data 100-shot-obama/ # 100 images, DiffAugment
    torchrun --nproc_per_node 4 examples/train.py --preset imagenet128-projection --data imagenet/
    python examples/train.py --resume --out runs/cifar10                      # continue a run

Every setting of the preset can be changed with a flag (loss, conditioning, n_dis, learning rates
and betas of G and D, batch sizes, iterations, learning-rate decay, D's last width, block variants,
width multiplier, ...). Outputs in --out: metrics.csv (and TensorBoard logs when installed),
samples/iter_*.png, checkpoints/ckpt_*.pt (loadable with torch.load(weights_only=True)); with
--eval-every also eval.csv, eval.jsonl, eval_curves.png and checkpoints/best_fid.pt.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

# Settings applied (by re-executing this script) when the user has not set them: glibc then keeps
# large freed buffers instead of returning them to the OS every step (see
# specnorm_gan.training.ALLOCATOR_SETTINGS; the same values).
_ALLOCATOR_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
_REEXEC_MARK = "SPECNORM_GAN_ALLOCATOR_REEXEC"

EXIT_NONFINITE = 3
EXIT_USAGE = 2


def _allocator_reexec(argv: List[str]) -> None:
    """Re-executes the interpreter with the allocator settings (before torch is imported)."""
    if "--no-allocator-tuning" in argv or os.environ.get(_REEXEC_MARK):
        return
    if any(k in os.environ for k in _ALLOCATOR_SETTINGS) or not sys.platform.startswith("linux"):
        return
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    env = dict(os.environ, **_ALLOCATOR_SETTINGS)
    env[_REEXEC_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, list(getattr(sys, "orig_argv", None) or [sys.executable] + sys.argv), env)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _key_value(text: str) -> tuple:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), _literal(v.strip())


def build_parser(
    defaults: Optional[Dict[str, Any]] = None, prog: Optional[str] = None, description: Optional[str] = None
) -> argparse.ArgumentParser:
    """The command line. Options left out are not in the namespace (argparse.SUPPRESS): the preset,
    the checkpoint (with --resume) or TrainConfig supply them."""
    defaults = defaults or {}
    S = argparse.SUPPRESS
    p = argparse.ArgumentParser(
        prog=prog, description=description or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=S
    )
    d = p.add_argument_group("data")
    d.add_argument("--data", help="an .npz (uint8 NHWC 'x', int64 'y'), a torchvision root (folder containing "
                                  "cifar-10-batches-py, stl10_binary, MNIST, ...) or an image folder"
                                  + (f" (default: {defaults['data']})" if "data" in defaults else ""))
    d.add_argument("--dataset", help="dataset name when --data is a torchvision root or for --download: cifar10, cifar100, "
                                     "stl10, stl10-unlabeled, mnist, fashion-mnist, flowers102, imagefolder, npz"
                                     + (f" (default: {defaults['dataset']})" if "dataset" in defaults else ""))
    d.add_argument("--split", help="split(s) joined by '+', e.g. train, train+test (STL-10 default), unlabeled")
    d.add_argument("--download", action="store_true", help="let torchvision download missing files (needs internet)")
    d.add_argument("--no-verify-data", dest="verify_data", action="store_false",
                   help="check that torchvision's files exist instead of their MD5 (accepts modified or subset copies)")
    d.add_argument("--max-images", type=int, help="train on a random subset of this many images, drawn with --seed "
                                                  "(default: the preset's, e.g. 5000 for cifar10-10pct-diffaugment; 0 = all)")
    d.add_argument("--crop", choices=["center", "none"], help="centre-crop non-square images before resizing (default center)")

    m = p.add_argument_group("model")
    m.add_argument("--preset", help="preset name (specnorm_gan.list_presets())"
                                    + (f" (default: {defaults['preset']})" if "preset" in defaults else ""))
    m.add_argument("--arch", help="resnet or cnn (with --resolution, without --preset)")
    m.add_argument("--resolution", type=int, help="image size (default: the preset's)")
    cond = m.add_mutually_exclusive_group()
    cond.add_argument("--conditional", action="store_true", help="class-conditional G and projection D, classes from the data")
    cond.add_argument("--unconditional", action="store_true", help="ignore labels")
    m.add_argument("--num-classes", type=int, help="number of classes (0 = unconditional; default: the preset's)")
    m.add_argument("--width", type=float, help="channel multiplier of G and D, e.g. 0.25 for CPU runs (default 1)")
    m.add_argument("--in-channels", type=int, help="image channels (data are converted; default: the preset's)")
    m.add_argument("--z-dim", type=int, help="latent size (default: the preset's, 128)")
    m.add_argument("--d-last-width", type=int, help="width of D's last block (e.g. 512 or 1024 at 48 px)")
    m.add_argument("--g-block-order", choices=["pre", "post"], help="G residual blocks: pre-activation (official) or post-activation")
    m.add_argument("--d-hidden", choices=["in", "out"], help="middle width of D blocks: input width (official) or output width")
    m.add_argument("--d-first-block", choices=["optimized", "standard"], help="D's first block (official: optimized)")
    m.add_argument("--upsample", choices=["nearest", "bilinear"], help="G upsampling (official: nearest)")
    m.add_argument("--g-arch", help="G design table key, e.g. 48-postact, 128-small")
    m.add_argument("--d-arch", help="D design table key, e.g. 48-strided, 96-light")
    m.add_argument("--variant", help="standard-CNN variant for G and D (paper, cgl, ck, xy, ...)")
    m.add_argument("--init", help="weight initialisation scheme (chainer, xavier, orthogonal, ...)")
    m.add_argument("--fold-resampling", action=argparse.BooleanOptionalAction,
                   help="fold avg-pool / nearest upsampling into the adjacent 3x3 convolutions (default on; "
                        "--no-fold-resampling runs the official order of operations)")
    m.add_argument("--g-arg", action="append", type=_key_value, metavar="KEY=VALUE", help="any G constructor argument (repeatable)")
    m.add_argument("--d-arg", action="append", type=_key_value, metavar="KEY=VALUE", help="any D constructor argument (repeatable)")

    o = p.add_argument_group("objective and optimisation (default: the preset's)")
    o.add_argument("--loss", help="hinge, bce, wasserstein, least_squares or rpgan (relativistic pairing; "
                   "pair with --r1-weight and --r2-weight)")
    o.add_argument("--loss-arg", action="append", type=_key_value, metavar="KEY=VALUE", help="loss option, e.g. real_target=0.9")
    o.add_argument("--n-dis", type=int, help="D steps per G step")
    o.add_argument("--lr-g", type=float, help="G learning rate")
    o.add_argument("--lr-d", type=float, help="D learning rate")
    o.add_argument("--betas-g", type=float, nargs=2, metavar=("B1", "B2"), help="G Adam betas")
    o.add_argument("--betas-d", type=float, nargs=2, metavar=("B1", "B2"), help="D Adam betas")
    o.add_argument("--optimizer-g", choices=["adam", "rmsprop", "sgd"], help="G optimizer")
    o.add_argument("--optimizer-d", choices=["adam", "rmsprop", "sgd"], help="D optimizer")
    o.add_argument("--momentum-d", type=float, help="D SGD momentum")
    o.add_argument("--batch-size", type=int, help="D batch (real images per D step; global over processes)")
    o.add_argument("--g-batch-size", type=int, help="G batch per G step (official 32 px: 2x the D batch)")
    o.add_argument("--iterations", type=int, help="G updates")
    o.add_argument("--lr-decay", choices=["linear", "none"], help="linear decay of both learning rates to 0 at --iterations")
    o.add_argument("--decay-start", type=int, help="iteration where the linear decay starts")
    o.add_argument("--update-order", choices=["g_first", "d_first"], help="official: g_first")
    o.add_argument("--gp-weight", type=float, help="WGAN-GP penalty weight (0: none)")
    o.add_argument("--r1-weight", type=float, help="R1 penalty factor gamma/2 (0: none)")
    o.add_argument("--weight-clip", type=float, help="clip D parameters to [-c, c] (0: none)")
    o.add_argument("--ortho-weight", type=float, help="BigGAN's orthogonal regularization of G, off-diagonal form (0: none; 1e-4 in Brock et al.)")

    a = p.add_argument_group("training on little data (docs/augmentation.md)")
    a.add_argument("--diffaugment", help="DiffAugment policy on D's inputs, e.g. color,translation,cutout ('' = none; "
                                         "default: the preset's)")
    a.add_argument("--ada-target", type=float, help="adaptive augmentation (ADA) with this target of E[sign(D(real))], e.g. 0.6 "
                                                    "(replaces the preset's DiffAugment policy unless --diffaugment is given)")
    a.add_argument("--ada-speed", dest="ada_speed_images", type=float,
                   help="real images for ADA's probability to go from 0 to 1 (default 500000)")
    a.add_argument("--ada-interval", type=int, help="D steps between ADA probability updates (default 4)")
    a.add_argument("--ada-p", type=float, help="ADA's initial probability (default 0)")
    a.add_argument("--ada-transforms", help="ADA's transforms (default flip,rot90,translation,brightness,contrast,saturation,cutout)")
    a.add_argument("--r2-weight", type=float, help="R2 penalty factor gamma/2 on fakes (0: none)")
    a.add_argument("--lecam-weight", type=float, help="LeCam regularization weight (0: none; 0.3 in Tseng et al.)")
    a.add_argument("--bcr-weight", type=float, help="balanced consistency regularization weight (0: none; 10 in Zhao et al.)")
    a.add_argument("--zcr-weight", type=float, help="latent consistency regularization weight, D side (0: none; 5)")
    a.add_argument("--zcr-g-weight", type=float, help="latent consistency regularization weight, G side (0: none; 0.5)")

    x = p.add_argument_group("speed and extras")
    x.add_argument("--ema", action=argparse.BooleanOptionalAction, help="keep an EMA of G (used for samples)")
    x.add_argument("--ema-decay", type=float, help="EMA decay per G step (default 0.9999)")
    x.add_argument("--ema-start", type=int, help="iterations before which the EMA copies G (default 0)")
    x.add_argument("--amp", choices=["none", "bf16", "fp16"],
                   help="bfloat16 autocast, or float16 autocast with loss scaling (spectral norm stays float32)")
    x.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="channels_last memory format")
    x.add_argument("--compile", action=argparse.BooleanOptionalAction, help="torch.compile the D and G steps")
    x.add_argument("--compile-mode", help="torch.compile mode (implies --compile): reduce-overhead records CUDA graphs "
                                          "of the D and G steps on CUDA; max-autotune, ...")
    x.add_argument("--dequantize", action=argparse.BooleanOptionalAction,
                   help="official input mapping x/128 - 1 + U(0, 1/128) instead of x/127.5 - 1")
    x.add_argument("--optimizer-impl", choices=["auto", "fused", "foreach", "for-loop"], help="optimizer kernels (default auto)")

    r = p.add_argument_group("run")
    r.add_argument("--out", help="run folder" + (f" (default: {defaults['out']})" if "out" in defaults else " (default runs/<preset>)"))
    r.add_argument("--resume", nargs="?", const="", metavar="PATH",
                   help="continue a run: from PATH (checkpoint or run folder), or without PATH from --out when it has checkpoints")
    r.add_argument("--stop-at", type=int, help="stop (with a checkpoint) after this iteration; the schedule still follows --iterations")
    r.add_argument("--log-every", type=int, help="iterations between metric reads/logs (default 100)")
    r.add_argument("--sample-every", type=int, help="iterations between sample grids (default 1000)")
    r.add_argument("--ckpt-every", type=int, help="iterations between checkpoints (default 1000)")
    r.add_argument("--keep-checkpoints", type=int, help="checkpoints kept (default 3)")
    r.add_argument("--sample-rows", type=int, help="rows of the sample grid (classes when conditional; default 10)")
    r.add_argument("--sample-cols", type=int, help="columns of the sample grid (default 10)")
    r.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, help="TensorBoard logs when installed (default on)")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, help="tqdm progress bar (default on)")
    r.add_argument("--seed", type=int, help="seed of initialisation, data order and noise (default 0)")
    r.add_argument("--device", help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    r.add_argument("--threads", type=int, help="torch CPU threads")

    e = p.add_argument_group("evaluation during training (needs the metrics extra)")
    e.add_argument("--eval-every", type=int, metavar="N",
                   help="evaluate G (the EMA G with --ema) every N iterations; writes eval.csv, eval_curves.png and "
                        "checkpoints/best_fid.pt (default 0: never)")
    e.add_argument("--eval-samples", type=int, metavar="N", help="generated images per evaluation (default 5000)")
    e.add_argument("--eval-metrics", nargs="+", choices=["is", "fid", "kid", "intra_fid"], help="metrics (default: is fid)")
    e.add_argument("--eval-reference", metavar="NAME_OR_NPZ",
                   help="real images for FID/KID: a torch-fidelity input (cifar10-train, ...) or an .npz "
                        "(default: the training data)")
    e.add_argument("--eval-protocol", choices=["paper", "50k"],
                   help="paper: FID against 10K reference images; 50k: against the whole reference (default paper)")
    e.add_argument("--eval-feature-extractor", metavar="NAME",
                   help="torch-fidelity feature extractor (default inception-v3-compat)")
    e.add_argument("--inception-weights", metavar="PATH",
                   help="the feature extractor's weights file (default: torch-fidelity's cache; no download offline)")
    r.add_argument("--no-allocator-tuning", action="store_true",
                   help="do not re-execute with MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ raised")
    return p


# Flags that map one-to-one onto TrainConfig fields.
_DIRECT = {
    "preset": "preset", "arch": "arch", "resolution": "resolution", "num_classes": "num_classes", "width": "width",
    "in_channels": "in_channels", "z_dim": "z_dim", "loss": "loss", "n_dis": "n_dis", "lr_g": "lr_g", "lr_d": "lr_d",
    "optimizer_g": "optimizer_g", "optimizer_d": "optimizer_d", "momentum_d": "momentum_d", "batch_size": "batch_size",
    "g_batch_size": "g_batch_size", "iterations": "iterations", "lr_decay": "lr_decay", "decay_start": "decay_start",
    "update_order": "update_order", "gp_weight": "gp_weight", "r1_weight": "r1_weight", "weight_clip": "weight_clip",
    "ortho_weight": "ortho_weight",
    "ema": "ema", "ema_decay": "ema_decay", "ema_start": "ema_start", "amp": "amp", "channels_last": "channels_last",
    "compile": "compile", "compile_mode": "compile_mode", "dequantize": "dequantize", "optimizer_impl": "optimizer_impl",
    "out": "out_dir", "log_every": "log_every", "sample_every": "sample_every", "ckpt_every": "ckpt_every",
    "keep_checkpoints": "keep_checkpoints", "sample_rows": "sample_rows", "sample_cols": "sample_cols",
    "tensorboard": "tensorboard", "progress": "progress", "seed": "seed", "device": "device",
    "eval_every": "eval_every", "eval_samples": "eval_samples", "eval_reference": "eval_reference",
    "eval_protocol": "eval_protocol", "eval_feature_extractor": "eval_feature_extractor",
    "inception_weights": "inception_weights",
    "diffaugment": "diffaugment", "ada_target": "ada_target", "ada_speed_images": "ada_speed_images",
    "ada_interval": "ada_interval", "ada_p": "ada_p", "ada_transforms": "ada_transforms", "r2_weight": "r2_weight",
    "lecam_weight": "lecam_weight", "bcr_weight": "bcr_weight", "zcr_weight": "zcr_weight", "zcr_g_weight": "zcr_g_weight",
}


def config_updates(args: argparse.Namespace) -> Dict[str, Any]:
    """TrainConfig fields given on the command line (model arguments merged into ``model_kwargs``)."""
    given = vars(args)
    upd: Dict[str, Any] = {_DIRECT[k]: v for k, v in given.items() if k in _DIRECT}
    for k in ("betas_g", "betas_d", "eval_metrics"):
        if k in given:
            upd[k] = tuple(given[k])
    if "loss_arg" in given:
        upd["loss_kwargs"] = dict(given["loss_arg"])
    if given.get("unconditional"):
        upd["num_classes"] = 0
    if "ada_target" in upd and "diffaugment" not in upd:  # ADA instead of a preset's DiffAugment policy
        upd["diffaugment"] = ""
    g: Dict[str, Any] = {}
    d: Dict[str, Any] = {}
    if "d_last_width" in given:
        d["last_width"] = given["d_last_width"]
    if "g_block_order" in given:
        g["block_order"] = given["g_block_order"]
    if "d_hidden" in given:
        d["hidden"] = given["d_hidden"]
    if "d_first_block" in given:
        d["first_block"] = given["d_first_block"]
    if "upsample" in given:
        g["upsample_mode"] = given["upsample"]
    if "g_arch" in given:
        g["arch"] = given["g_arch"]
    if "d_arch" in given:
        d["arch"] = given["d_arch"]
    if "variant" in given:
        g["variant"] = d["variant"] = given["variant"]
    g.update(dict(given.get("g_arg") or []))
    d.update(dict(given.get("d_arg") or []))
    mk: Dict[str, Any] = {}
    if g:
        mk["g_kwargs"] = g
    if d:
        mk["d_kwargs"] = d
    if "init" in given:
        mk["init"] = given["init"]
    if "fold_resampling" in given:
        mk["fold_resampling"] = bool(given["fold_resampling"])
    if mk:
        upd["model_kwargs"] = mk
    return upd


class _UsageError(Exception):
    """A bad flag, file or checkpoint: main() prints ``error: <message>`` and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _initial_config(given: Dict[str, Any], upd: Dict[str, Any], defaults: Dict[str, Any], log: Any) -> Tuple[Any, Any, Dict[str, Any]]:
    """The run's TrainConfig, the checkpoint to resume (or None) and the data arguments saved in it."""
    from specnorm_gan.training import CheckpointError, TrainConfig, find_checkpoint, load_checkpoint

    ckpt = None
    out_dir = upd.get("out_dir") or defaults.get("out")
    if "resume" in given:
        path = given["resume"] or out_dir
        if not path:
            raise _UsageError("--resume without a PATH needs --out")
        try:
            find_checkpoint(path)
        except CheckpointError:
            if given["resume"]:
                raise _UsageError(f"--resume {path}: no checkpoint there") from None
            log.info("no checkpoint in %s yet: starting a new run", path)
        else:
            try:
                ckpt = load_checkpoint(path)
            except CheckpointError as e:
                raise _UsageError(str(e)) from None
    if ckpt is not None:
        base = TrainConfig.from_dict(ckpt["config"])
        saved_data = dict((ckpt.get("extra") or {}).get("data") or {})
        if "out_dir" not in upd and out_dir is None:
            upd["out_dir"] = base.out_dir
        config = TrainConfig.from_dict({**base.to_dict(), **{k: (list(v) if isinstance(v, tuple) else v) for k, v in upd.items()}})
        if "model_kwargs" in upd:  # flags add to the saved model arguments; the structure check decides
            config.model_kwargs = {**base.model_kwargs, **upd["model_kwargs"]}
        return config, ckpt, saved_data
    preset = upd.get("preset", defaults.get("preset"))
    if preset is None and "arch" not in upd:
        raise _UsageError("pass --preset NAME (see specnorm_gan.list_presets()) or --arch and --resolution")
    upd.setdefault("preset", preset)
    if out_dir is None:
        out_dir = os.path.join("runs", preset or f"{upd['arch']}{upd.get('resolution', '')}")
    upd["out_dir"] = out_dir
    try:
        find_checkpoint(out_dir)
    except CheckpointError:
        pass
    else:
        raise _UsageError(f"{out_dir} already holds checkpoints of a run; pass --resume to continue it, or choose another --out")
    return TrainConfig(**upd), None, {}


def _training_data(given: Dict[str, Any], config: Any, saved_data: Dict[str, Any], defaults: Dict[str, Any]) -> Tuple[Any, Dict[str, Any]]:
    """The training images (subset, labels checked) and the data arguments to save for --resume."""
    from specnorm_gan.data import DatasetNotFoundError, load_dataset, validate_labels
    from specnorm_gan.presets import get_preset

    data_args = {
        "source": given.get("data", saved_data.get("source", defaults.get("data"))),
        "dataset": given.get("dataset", saved_data.get("dataset", defaults.get("dataset"))),
        "split": given.get("split", saved_data.get("split")),
        "crop": given.get("crop", saved_data.get("crop", "center")),
        "max_images": given.get("max_images", saved_data.get("max_images")),
        "verify": given.get("verify_data", saved_data.get("verify", True)),
    }
    if data_args["source"] is None:
        raise _UsageError("pass --data PATH (an .npz, a torchvision root or an image folder)")
    data_args["source"] = os.path.abspath(os.path.expanduser(str(data_args["source"])))  # saved for --resume
    try:
        record = get_preset(config.preset) if config.preset else None
    except ValueError as e:
        raise _UsageError(str(e)) from None
    if data_args["max_images"] is None and record is not None:  # the preset's training subset (saved for --resume)
        data_args["max_images"] = record.hparams.max_images
    if data_args["max_images"] is not None and data_args["max_images"] < 0:
        raise _UsageError(f"--max-images must be an int >= 0 (0 = all images), got {data_args['max_images']}")
    resolution = config.resolution or (record.resolution if record else None)
    channels = config.in_channels or (record.in_channels if record else 3)
    if resolution is None:
        raise _UsageError("pass --resolution (no preset given)")
    try:
        data = load_dataset(
            data_args["source"], data_args["dataset"], split=data_args["split"], resolution=resolution, channels=channels,
            download=bool(given.get("download", False)), verify=data_args["verify"], crop=data_args["crop"],
        )
    except DatasetNotFoundError as e:
        raise _UsageError(str(e)) from None
    except (ValueError, TypeError, ImportError) as e:
        raise _UsageError(f"cannot load {data_args['source']}: {e}") from None
    if data_args["max_images"]:
        data = data.subset(int(data_args["max_images"]), seed=config.seed)
    if given.get("conditional"):
        if data.num_classes == 0:
            raise _UsageError(f"--conditional needs labels, but {data.name} has none")
        config.num_classes = data.num_classes
    model_classes = config.num_classes if config.num_classes is not None else (record.num_classes if record else 0)
    if model_classes and data.labels is not None:  # before the model indexes its class embeddings with them
        try:
            validate_labels(data.labels, model_classes, data_args["source"])
        except ValueError as e:
            raise _UsageError(str(e)) from None
    return data, data_args


def _log_run(trainer: Any, world: int, log: Any) -> None:
    cfg = trainer.config
    n_g = sum(p.numel() for p in trainer.G.parameters())
    n_d = sum(p.numel() for p in trainer.D.parameters())
    log.info(
        "%s: G %s params, D %s params, %s, %d process(es) on %s; loss %s, n_dis %d, lr %.1e/%.1e, betas %s/%s, "
        "batch %d (G %d), %d iterations, decay %s; out %s",
        cfg.preset or cfg.arch, f"{n_g:,}", f"{n_d:,}", "conditional" if trainer.num_classes else "unconditional",
        world, trainer.device, cfg.loss, cfg.n_dis, cfg.lr_g, cfg.lr_d, tuple(cfg.betas_g), tuple(cfg.betas_d),
        cfg.batch_size, cfg.g_batch_size, cfg.iterations, cfg.lr_decay, cfg.out_dir,
    )


def _train(trainer: Any, stop_at: Optional[int], rank: int, world: int, log: Any) -> int:
    """Runs the loop; returns the exit code (0, EXIT_NONFINITE, 128 + signal) and tears distributed runs down."""
    from specnorm_gan.training import NonFiniteLossError, TrainingInterrupted

    code = 0
    orderly = False  # every rank reached the end in step (normal end, NaN stop or signal stop)
    try:
        try:
            from tqdm.contrib.logging import logging_redirect_tqdm

            redirect: Any = logging_redirect_tqdm()
        except ImportError:
            import contextlib

            redirect = contextlib.nullcontext()
        with redirect:
            trainer.train(stop_at=stop_at)
        orderly = True
        log.info("done: iteration %d; last checkpoint %s", trainer.iteration, trainer.last_checkpoint)
        if trainer.best_fid is not None and rank == 0:
            log.info("best FID %.4g at iteration %d (%s)", trainer.best_fid["fid"], trainer.best_fid["iteration"],
                     trainer.best_fid["key"])
    except NonFiniteLossError as e:
        orderly = True
        if rank == 0:
            print(f"error: {e}", file=sys.stderr)
        code = EXIT_NONFINITE
    except TrainingInterrupted as e:
        orderly = True
        if rank == 0:
            print(str(e), file=sys.stderr)
        code = 128 + int(e.signum)
    finally:
        if world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                if orderly:
                    dist.barrier()  # nobody tears down connections a peer still reads from
                dist.destroy_process_group()
    return code


def main(argv: Optional[List[str]] = None, defaults: Optional[Dict[str, Any]] = None, prog: Optional[str] = None,
         description: Optional[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _allocator_reexec(argv)
    defaults = defaults or {}
    parser = build_parser(defaults, prog, description)
    args = parser.parse_args(argv)

    import logging

    import torch

    from specnorm_gan.training import CheckpointError, Trainer, init_distributed, reexec_with_allocator_settings

    given = vars(args)
    rank, world = init_distributed(given.get("device", "auto"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("train")
    log.info(reexec_with_allocator_settings(disable=bool(given.get("no_allocator_tuning"))))  # logs what _allocator_reexec did
    try:
        if "threads" in given:
            if given["threads"] < 1:
                raise _UsageError(f"--threads must be a positive integer, got {given['threads']}")
            torch.set_num_threads(given["threads"])
        config, ckpt, saved_data = _initial_config(given, config_updates(args), defaults, log)
        data, data_args = _training_data(given, config, saved_data, defaults)
        log.info("data: %s, %d images %s, %d classes", data.name, len(data), tuple(data.images.shape[1:]), data.num_classes)
        try:
            trainer = Trainer(config, data)
            trainer.extra["data"] = data_args
            if ckpt is not None:
                trainer.load_state_dict(ckpt)
                log.info("resumed %s at iteration %d", ckpt["path"], trainer.iteration)
        except (CheckpointError, ValueError, TypeError, ImportError, FileNotFoundError) as e:
            raise _UsageError(str(e)) from None
    except _UsageError as e:
        if rank == 0:
            print(f"error: {e}", file=sys.stderr)
        return e.code
    _log_run(trainer, world, log)
    return _train(trainer, given.get("stop_at"), rank, world, log)


if __name__ == "__main__":
    sys.exit(main())
