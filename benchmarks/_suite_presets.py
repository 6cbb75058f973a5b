"""Section 1 of the suite: representative presets through the Trainer (D step, G step, iteration).

Each preset's ``Trainer`` against a ``Trainer`` of the same network with torch's spectral norm
(:mod:`_baselines`), interleaved repeats, the peak memory growth of each step
(:func:`_harness.measure_memory`) and the state that lives across steps.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

import specnorm_gan as sg
from specnorm_gan.training import TrainConfig, Trainer

from _baselines import _sn_layers, to_torch_spectral_norm, verify_baseline
from _harness import fmt_mib, fmt_ratio, fmt_time, measure_memory, med, state_bytes, timed


@dataclass(frozen=True)
class Pick:
    """A representative preset: ``build_gan(preset, **kwargs)``."""

    label: str
    preset: str
    why: str
    kwargs: Dict[str, Any] = field(default_factory=dict)
    # (D batch, G batch) timed in the full run; None = the published batches.
    batch: Optional[Tuple[int, int]] = None
    # TFLOP of one timed repeat (D step + G step, + an iteration where timed directly), from
    # torch.utils.flop_counter at full width: only shares the time budget between presets.
    tflop: float = 1.0
    # Smallest channel multiplier the design builds at (attention needs 8 channels): --width below it is raised.
    min_width: float = 0.0


PICKS: List[Pick] = [
    Pick("cifar10-cnn", "cifar10-cnn",
         "standard CNN, 32 px, unconditional: the SNGAN paper's CIFAR-10 CNN (Table 2, hinge loss)", tflop=0.36),
    Pick("cifar10-cnn +proj", "cifar10-cnn",
         "standard CNN, 32 px, conditional: no CIFAR preset pairs the paper's CNN with a projection D "
         "(k2-c2 drops SN on the last dense layer, xy-sngan-proj has other widths and batch 512), so the "
         "paper's CNN with a projection head and cBN G (`build_gan('cifar10-cnn', num_classes=10)`), the "
         "conditional model of the real-image benchmark",
         {"num_classes": 10}, tflop=0.36),
    Pick("cifar10-resnet", "cifar10-resnet",
         "ResNet, 32 px, unconditional: official sn_cifar10_unconditional.yml", tflop=1.92),
    Pick("cifar10-projection", "cifar10-projection",
         "ResNet, 32 px, conditional (cBN G + projection D): official sn_cifar10.yml", tflop=1.92),
    Pick("stl10-cnn48", "stl10-cnn48", "standard CNN, 48 px, unconditional: the SNGAN paper's STL-10 CNN",
         tflop=0.8),
    Pick("stl10-resnet48", "stl10-resnet48", "ResNet, 48 px, unconditional: the SNGAN paper's STL-10 ResNet",
         batch=(16, 32), tflop=0.33),
    Pick("stl10-projection48", "stl10-projection48",
         "ResNet, 48 px, conditional: the STL-10 ResNet with cBN + projection (the only 48 px projection preset "
         "with the paper's widths)", batch=(16, 32), tflop=0.33),
    Pick("animeface96-resnet", "animeface96-resnet",
         "ResNet, 96 px, unconditional: the 96 px design at published widths (flowers96-resnet is the same network)",
         batch=(4, 4), tflop=0.28),
    Pick("animeface96-projection", "animeface96-projection",
         "ResNet, 96 px, conditional (176 classes): 96 px projection at published widths", batch=(4, 4),
         tflop=0.28),
    Pick("imagenet128-resnet", "imagenet128-resnet", "ResNet, 128 px, unconditional: the paper's ImageNet 128 px ResNet",
         batch=(4, 4), tflop=0.5),
    Pick("imagenet128-projection", "imagenet128-projection",
         "ResNet, 128 px, conditional (1000 classes): official sn_projection.yml", batch=(4, 8), tflop=0.79),
    # The SN-GAN family's descendants (issue 15): SN in G and D, attention, shared embedding.
    Pick("cifar10-biggan", "cifar10-biggan",
         "BigGAN, 32 px, conditional: StudioGAN's CIFAR-10 BigGAN (ch 96, attention, hierarchical z)", tflop=3.0),
    Pick("imagenet128-sagan", "imagenet128-sagan",
         "SAGAN, 128 px, conditional (1000 classes): BigGAN-PyTorch's SAGAN configuration (ch 64, attention at 64 px)",
         batch=(4, 4), tflop=0.5, min_width=0.125),
    Pick("imagenet128-biggan", "imagenet128-biggan",
         "BigGAN, 128 px, conditional (1000 classes): BigGAN-PyTorch's ch=96 configuration", batch=(4, 4), tflop=1.1,
         min_width=0.125),
    Pick("imagenet128-biggan-deep", "imagenet128-biggan-deep",
         "BigGAN-deep, 128 px, conditional (1000 classes): BigGAN-PyTorch's BigGANdeep ch=128", batch=(4, 4), tflop=1.0),
]
NOT_PICKED = (
    f"Not timed: the other {len(set(sg.list_presets()) - {p.preset for p in PICKS})} presets repeat these networks with "
    "other hyperparameters or a port's topology options (cifar10-cnn-a...f, k2-*, ck-*, ct-*, xy-*, *-mimicry, mmgen-*, *-d512, *-cgl, flowers96-*), or are at "
    "resolutions outside 32/48/96/128 (celeba64-resnet, imagenet64-projection, dogcat64/128/256-projection); "
    "no 48 px standard-CNN conditional preset with the paper's widths exists."
)



def _dataset(res: int, channels: int, num_classes: int, n: int) -> sg.ImageDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, channels, res, res), dtype=torch.uint8, generator=g)
    if num_classes:
        labels = torch.arange(n) % num_classes
        return sg.ImageDataset(images, labels, class_names=[str(i) for i in range(num_classes)], name="synthetic")
    return sg.ImageDataset(images, None, name="synthetic")


def _trainer(spec: Any, G: nn.Module, D: nn.Module, data: sg.ImageDataset, batch: int, g_batch: int, **options: Any) -> Trainer:
    cfg = TrainConfig(
        preset=spec.preset.name, num_classes=G.num_classes, batch_size=batch, g_batch_size=g_batch,
        device="cpu", out_dir=None, progress=False, tensorboard=False, log_every=4096, seed=0, **options,
    )
    return Trainer(cfg, data, G=G, D=D, hparams=spec.hparams)


def bench_preset(pick: Pick, args: argparse.Namespace, budget_s: float, log: Callable[[str], None]) -> Dict[str, Any]:
    t_start = time.perf_counter()
    torch.manual_seed(0)
    width = max(args.width, pick.min_width)
    spec = sg.build_gan(pick.preset, width=width, **pick.kwargs)
    hp = spec.hparams
    published = (hp.batch_size, hp.g_batch_size)
    if args.quick:
        batch = (4, 4 * hp.g_batch_size // hp.batch_size)
    else:
        batch = pick.batch or published
    G, D = spec.G, spec.D
    G_b, D_b = to_torch_spectral_norm(G), to_torch_spectral_norm(D)
    check_d = verify_baseline(D, D_b, is_d=True)
    check_g = verify_baseline(G, G_b, is_d=False, z_dim=G.z_dim) if _sn_layers(G) else "no SN layers in G"
    data = _dataset(D.resolution, D.in_channels, G.num_classes, 2 * max(batch))
    trainers = {
        "ours": _trainer(spec, G, D, data, *batch),
        "torch": _trainer(spec, G_b, D_b, data, *batch),
    }
    n_dis = trainers["ours"].config.n_dis
    # Warm-up at batch 1 with the same trainers: Adam state, lazy initialisation, every code path.
    x1 = sg.data.to_float_images(data.images[:1])
    y1 = data.labels[:1] if data.labels is not None else None
    for t in trainers.values():
        saved = t.batch_size, t.g_batch_size
        t.batch_size = t.g_batch_size = 1
        t.d_step(x1, y1)
        t.g_step()
        t.batch_size, t.g_batch_size = saved
    # One untimed step per implementation at the timed batch (oneDNN primitives and caches of these
    # shapes are created by whichever runs first), then one with its peak memory measured.
    for t in trainers.values():
        t.d_step(), t.g_step()
    mem: Dict[str, Dict[str, Optional[int]]] = {}
    first: Dict[str, Dict[str, float]] = {}
    for k, t in trainers.items():
        d_s, d_m = measure_memory(t.d_step)
        g_s, g_m = measure_memory(t.g_step)
        mem[k] = {"d": d_m, "g": g_m}
        first[k] = {"d": d_s, "g": g_s}
    est_iter = max(n_dis * first[k]["d"] + first[k]["g"] for k in trainers)
    direct = est_iter <= args.iter_direct_max
    per_repeat = sum(first[k]["d"] + first[k]["g"] + (est_iter if direct else 0) for k in trainers)
    left = budget_s - (time.perf_counter() - t_start)
    repeats = args.repeats or max(args.min_repeats, min(args.max_repeats, int(left // max(per_repeat, 1e-9))))
    times: Dict[str, Dict[str, List[float]]] = {k: {"d": [], "g": [], "it": []} for k in trainers}
    for r in range(repeats):
        order = ("ours", "torch") if r % 2 == 0 else ("torch", "ours")
        for what in ("d", "g", "it") if direct else ("d", "g"):
            for k in order:
                t = trainers[k]
                fn = {"d": t.d_step, "g": t.g_step, "it": t.train_iteration}[what]
                times[k][what].append(timed(fn))
    if not direct:
        for k in trainers:
            times[k]["it"] = [n_dis * d + g for d, g in zip(times[k]["d"], times[k]["g"])]
    ratios = {w: [a / b for a, b in zip(times["ours"][w], times["torch"][w])] for w in ("d", "g", "it")}
    res = {
        "label": pick.label, "preset": pick.preset, "why": pick.why, "resolution": D.resolution, "width": width,
        "arch": f"{spec.preset.generator}/{spec.preset.discriminator}", "num_classes": G.num_classes,
        "published_batch": published, "batch": batch, "reduced": batch != published, "n_dis": n_dis,
        "direct_iteration": direct, "repeats": repeats,
        "params_g": sum(p.numel() for p in G.parameters()), "params_d": sum(p.numel() for p in D.parameters()),
        "check_d": check_d, "check_g": check_g,
        "times": times, "ratios": ratios, "mem": mem,
        "state": {"ours": state_bytes(G, D), "torch": state_bytes(G_b, D_b)},
        "img_s": {k: n_dis * batch[0] / med(times[k]["it"]) for k in trainers},
        "seconds": time.perf_counter() - t_start,
    }
    log(
        f"  {pick.label}{f' (width {width:g})' if width != args.width else ''}: batch {batch[0]}/{batch[1]} ({'published' if not res['reduced'] else 'reduced'}), "
        f"{repeats} repeats, D {fmt_time(med(times['ours']['d']))} x{fmt_ratio(ratios['d'])}, "
        f"G {fmt_time(med(times['ours']['g']))} x{fmt_ratio(ratios['g'])}, "
        f"iter {fmt_time(med(times['ours']['it']))} x{fmt_ratio(ratios['it'])} ({'direct' if direct else 'derived'}), "
        f"mem D {fmt_mib(mem['ours']['d'])}/{fmt_mib(mem['torch']['d'])} MiB, "
        f"G {fmt_mib(mem['ours']['g'])}/{fmt_mib(mem['torch']['g'])} MiB; {res['seconds']:.0f} s; "
        f"baseline check: D {check_d}"
    )
    return res


# --------------------------------------------------------------------------------------------
# D update (sections 2-4)
