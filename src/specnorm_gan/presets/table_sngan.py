"""Preset rows: the official SNGAN / projection configs, the SNGAN paper's tables and the ports of the official models (torch-mimicry, mmgeneration, StudioGAN)."""

from __future__ import annotations

import math
from typing import Any

from .spec import PRESETS, TrainHParams, _add


# --------------------------------------------------------------------------------------------
# Official configs (CH configs/*.yml) and the papers' tables
# --------------------------------------------------------------------------------------------
_CH_CIFAR = TrainHParams(batch_size=64, g_batch_size=128, iterations=50_000, decay_start=0)
_add("cifar10-resnet", "ResNet SNGAN, CIFAR-10 32 px, unconditional (official config)",
     "CH configs/sn_cifar10_unconditional.yml; resnet_32 ch256 / snresnet_32 ch128 (ref 2.2, 3.2)",
     "cifar10", "resnet", 32, 0, _CH_CIFAR)
_add("cifar10-projection", "ResNet SNGAN with cBN + projection D, CIFAR-10 32 px, 10 classes (official config)",
     "CH configs/sn_cifar10.yml (conditional) (ref 2.2, 3.2)", "cifar10", "resnet", 32, 10, _CH_CIFAR)
_add("cifar100-projection", "ResNet SNGAN with cBN + projection D, CIFAR-100 32 px, 100 classes (CIFAR config)",
     "CH 32 px models with 100 classes (ref 2.3 row 'ResNet 32, 100 classes'); hyperparameters of sn_cifar10.yml",
     "cifar100", "resnet", 32, 100, _CH_CIFAR)

_PAPER_RESNET = TrainHParams(batch_size=64, g_batch_size=128, iterations=100_000, decay_start=0)
_add("stl10-resnet48", "ResNet SNGAN, STL-10 48 px, unconditional (paper Table 5 widths, D last width 1024)",
     "SNGAN paper ResNet STL-10 (Adam 2e-4, 0, 0.9, n_dis 5, hinge, 100K); widths MI sngan_48.py (ref 2.2, 3.1); "
     "G batch 2x and linear decay as the official CIFAR config (not pinned by the paper)",
     "stl10", "resnet", 48, 0, _PAPER_RESNET)
_add("stl10-projection48", "ResNet SNGAN with cBN + projection D, STL-10 48 px, 10 classes",
     "ref 2.3 row 'ResNet 48, 10 classes'; hyperparameters as stl10-resnet48", "stl10", "resnet", 48, 10, _PAPER_RESNET)
_add("stl10-resnet48-d512", "ResNet SNGAN, STL-10 48 px, D last width 512",
     "ref 2.3 row 'ResNet 48, D last width 512'", "stl10", "resnet", 48, 0, _PAPER_RESNET, d={"last_width": 512})
_add("stl10-projection48-d512", "ResNet SNGAN with projection D, STL-10 48 px, 10 classes, D last width 512",
     "ref 2.3 row 'ResNet 48, D last width 512 (10 cls)'", "stl10", "resnet", 48, 10, _PAPER_RESNET, d={"last_width": 512})

_CH_64 = TrainHParams(batch_size=64, g_batch_size=64, iterations=250_000, decay_start=200_000)
_add("imagenet64-projection", "ResNet SNGAN-projection, ImageNet 64 px, 1000 classes (official config)",
     "CH configs/sn_projection_64.yml; resnet_64 / snresnet_64 ch64 (ref 2.2, 3.2)", "imagenet", "resnet", 64, 1000, _CH_64)
_add("dogcat64-projection", "ResNet SNGAN-projection, ImageNet dogs & cats 64 px, 143 classes (official config)",
     "CH configs/sn_projection_dog_and_cat_64.yml (ref 3.2)", "imagenet-dogcat", "resnet", 64, 143, _CH_64)
_add("celeba64-resnet", "ResNet SNGAN, 64 px, unconditional (torch-mimicry CelebA-64 settings)",
     "CH resnet_64 / snresnet_64 widths (ref 2.3 'ResNet 64, uncond'); MI training: batch 64, n_dis 5, 100K, linear decay",
     "celeba", "resnet", 64, 0,
     TrainHParams(batch_size=64, g_batch_size=64, iterations=100_000, decay_start=0, update_order="d_first"))

_CH_128 = TrainHParams(batch_size=64, g_batch_size=128, iterations=450_000, decay_start=400_000)
_add("imagenet128-projection", "ResNet SNGAN-projection, ImageNet 128 px, 1000 classes (official config)",
     "CH configs/sn_projection.yml; resnet ch64 / snresnet ch64; batch 16 (G 32) per GPU x 4 GPUs (ref 2.2, 3.2)",
     "imagenet", "resnet", 128, 1000, _CH_128)
_add("imagenet128-concat", "ResNet SNGAN with the concat discriminator (SNGAN paper ImageNet cGAN), 128 px, 1000 classes",
     "CH configs/sn_concat.yml; SNResNetConcatDiscriminator, embedding 128 concatenated after block 3 (ref 2.2, 3.2)",
     "imagenet", "resnet", 128, 1000, _CH_128, d={"conditioning": "concat", "concat_embed_dim": 128, "concat_after": 3})
_add("imagenet128-resnet", "ResNet SNGAN, ImageNet 128 px, unconditional (torch-mimicry settings)",
     "CH resnet / snresnet widths (ref 2.3 'ResNet 128, uncond'); MI: batch 64, n_dis 5, 450K, no decay",
     "imagenet", "resnet", 128, 0,
     TrainHParams(batch_size=64, g_batch_size=64, iterations=450_000, lr_decay="none", update_order="d_first"))
_add("dogcat128-projection", "ResNet SNGAN-projection 'small', ImageNet dogs & cats 128 px, 143 classes (official config)",
     "CH configs/sn_projection_dog_and_cat.yml; resnet_small / snresnet_small (ref 2.2, 3.2)",
     "imagenet-dogcat", "resnet", 128, 143,
     TrainHParams(batch_size=16, g_batch_size=32, iterations=450_000, decay_start=400_000),
     g={"arch": "128-small"}, d={"arch": "128-small"})
_add("dogcat256-projection", "ResNet SNGAN-projection, ImageNet dogs & cats 256 px, 143 classes (official config)",
     "CH configs/sn_projection_dog_and_cat_256.yml; resnet_256 / snresnet_256 ch32 (ref 2.2, 3.2)",
     "imagenet-dogcat", "resnet", 256, 143,
     TrainHParams(batch_size=8, g_batch_size=16, iterations=450_000, decay_start=400_000))


def _k2_iterations(n_images: int, epochs: int, n_dis: int, batch: int = 64) -> int:
    """G updates of a koshian2 run: a G step on every ``n_dis``-th batch of every epoch."""
    batches = math.ceil(n_images / batch)
    return epochs * math.ceil(batches / n_dis)


_K2_96 = dict(batch_size=64, g_batch_size=64, betas_g=(0.5, 0.9), betas_d=(0.5, 0.9), lr_decay="none")
_add("animeface96-resnet", "ResNet SNGAN at 96 px (128 px design, dense 3x3x1024), AnimeFace, unconditional",
     "G K2 models/resnet_size96.py, D the official 128 px design (ref 2.2 '96', 2.3); training as K-A0",
     "animeface", "resnet", 96, 0, TrainHParams(iterations=_k2_iterations(14_490, 1301, 5), **_K2_96))  # type: ignore[arg-type]
_add("animeface96-projection", "ResNet SNGAN-projection at 96 px, AnimeFace, 176 classes",
     "ref 2.3 'ResNet 96, 176 cls'; training as K-A1", "animeface", "resnet", 96, 176,
     TrainHParams(iterations=_k2_iterations(14_490, 1301, 5), **_K2_96))  # type: ignore[arg-type]
_add("flowers96-resnet", "ResNet SNGAN at 96 px, Oxford Flowers, unconditional",
     "ref 2.2 '96'; training as K-F0 (1901 epochs)", "flowers102", "resnet", 96, 0,
     TrainHParams(iterations=_k2_iterations(8_189, 1901, 5), **_K2_96))  # type: ignore[arg-type]
_add("flowers96-projection", "ResNet SNGAN-projection at 96 px, Oxford Flowers, 102 classes",
     "ref 2.3 'ResNet 96, 102 cls'; training as K-F1", "flowers102", "resnet", 96, 102,
     TrainHParams(iterations=_k2_iterations(8_189, 1901, 5), **_K2_96))  # type: ignore[arg-type]

# Standard CNN (SNGAN paper Table 3). The paper reports the best of settings A-F; setting C
# (Adam 2e-4, 0.5, 0.999, n_dis 1) is chainer-gan-lib's SN-DCGAN command line (IS 7.41-7.5).
_SETTINGS = {
    "a": (1e-4, (0.5, 0.9), 5),
    "b": (1e-4, (0.5, 0.999), 1),
    "c": (2e-4, (0.5, 0.999), 1),
    "d": (1e-3, (0.5, 0.9), 5),
    "e": (1e-3, (0.5, 0.999), 5),
    "f": (1e-3, (0.9, 0.999), 5),
}


def _setting(key: str, **kw: Any) -> TrainHParams:
    lr, betas, n_dis = _SETTINGS[key]
    base = dict(n_dis=n_dis, lr_g=lr, lr_d=lr, betas_g=betas, betas_d=betas, batch_size=64, g_batch_size=64,
                iterations=100_000, lr_decay="none")
    base.update(kw)
    return TrainHParams(**base)  # type: ignore[arg-type]


_add("cifar10-cnn", "Standard CNN SN-GAN (paper Table 3), CIFAR-10 32 px, hinge loss",
     "SNGAN paper Table 3 + hinge row of Table 2 (IS 7.58, FID 25.5); setting C, 100K (ref 2.1, 3.1, 4)",
     "cifar10", "cnn", 32, 0, _setting("c"))
_add("cifar10-cnn-ns", "Standard CNN SN-GAN, CIFAR-10 32 px, non-saturating (standard) loss",
     "SNGAN paper Table 2 NS-loss row (IS 7.42, FID 29.3); setting C, 100K (ref 2.1, 4)",
     "cifar10", "cnn", 32, 0, _setting("c", loss="bce"))
for _key in "abcdef":
    _add(f"cifar10-cnn-{_key}", f"Standard CNN SN-GAN, CIFAR-10 32 px, optimizer setting {_key.upper()} of the paper's sweep",
         "SNGAN paper settings A-F (ref 3.1, [paper, recalled]); standard (non-saturating) loss, 100K",
         "cifar10", "cnn", 32, 0, _setting(_key, loss="bce"))
_add("stl10-cnn48", "Standard CNN SN-GAN (M_g=6), STL-10 48 px, hinge loss, 2x updates",
     "SNGAN paper STL-10 '2x updates' row (IS 8.79, FID 43.2): 200K G updates (ref 2.1, 4)",
     "stl10", "cnn", 48, 0, _setting("c", iterations=200_000))
_add("cifar10-cnn-cgl", "chainer-gan-lib SN-DCGAN (PFN): BN after the dense, widths 64-512, LeakyReLU 0.2, z ~ U(-1, 1)",
     "pfnet-research/chainer-gan-lib common/net.py + example.sh (stdgan, n_dis 1, Adam 2e-4, 0.5, 0.999) (ref 2.1)",
     "cifar10", "cnn", 32, 0, _setting("c", loss="bce", z_dist="uniform"),
     g={"variant": "cgl", "z_dist": "uniform"}, d={"variant": "cgl"})
_add("stl10-cnn48-cgl", "chainer-gan-lib SN-DCGAN at 48 px", "chainer-gan-lib with bottom_width 6 (ref 2.1 counts)",
     "stl10", "cnn", 48, 0, _setting("c", loss="bce", z_dist="uniform"),
     g={"variant": "cgl", "z_dist": "uniform"}, d={"variant": "cgl"})

# Ports of the official models with their own choices (options of this library).
_MI = TrainHParams(batch_size=64, g_batch_size=64, iterations=100_000, decay_start=0, update_order="d_first")
_MI_G = {"upsample_mode": "bilinear", "bn_eps": 1e-5}
_add("cifar10-resnet-mimicry", "torch-mimicry SNGAN, CIFAR-10 32 px (bilinear upsampling, BN eps 1e-5, D head bias)",
     "kwotsin/mimicry nets/sngan/sngan_32.py, training/trainer.py (ref 1 'How the ports differ', 3.2, 4: FID 16.77)",
     "cifar10", "resnet", 32, 0, _MI, g=_MI_G, d={"head_bias": True})
_add("cifar10-projection-mimicry", "torch-mimicry cGAN-PD, CIFAR-10 32 px, 10 classes",
     "kwotsin/mimicry nets/cgan_pd/cgan_pd_32.py (ref 1, 4: FID 10.84)", "cifar10", "resnet", 32, 10, _MI,
     g=_MI_G, d={"head_bias": True})
_MM_G = {"bn_eps": 1e-4, "init": "orthogonal"}
_MM_D = {"hidden": "out", "head_bias": True, "init": "orthogonal"}
_add("mmgen-cifar10-projection", "mmgeneration SNGAN-Proj, CIFAR-10 32 px (hidden = out, BN eps 1e-4, orthogonal init)",
     "mmgen configs/sngan_proj (seed 002): Adam 2e-4 (0.5, 0.999), n_disc 5, batch 64, 500K D iterations (ref 1, 3.2, 4)",
     "cifar10", "resnet", 32, 10,
     TrainHParams(betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=64, g_batch_size=64, iterations=100_000,
                  lr_decay="none", update_order="d_first"),
     g=_MM_G, d=_MM_D)
_add("mmgen-imagenet128-projection", "mmgeneration SNGAN-Proj, ImageNet 128 px (hidden = out, BN eps 1e-4, orthogonal init)",
     "mmgen configs/sngan_proj (seed 002): G lr 2e-4, D lr 5e-5, (0, 0.999), batch 128 x 2 GPUs, 2.5M D iterations (ref 3.2, 4)",
     "imagenet", "resnet", 128, 1000,
     TrainHParams(lr_d=5e-5, betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), batch_size=256, g_batch_size=256,
                  iterations=500_000, lr_decay="none", update_order="d_first"),
     g=_MM_G, d=_MM_D)

# torch-mimicry's published architectures, quirks included (targets of specnorm_gan.convert):
# bilinear upsampling, BN eps 1e-5, a D head with bias, and D blocks whose shortcut reads ReLU(x).
_MI_D = {"head_bias": True, "shortcut_after_activation": True}
for _res, _data in ((32, "cifar10"), (48, "stl10"), (64, "celeba"), (128, "imagenet")):
    _add(f"mimicry-sngan-{_res}", f"torch-mimicry SNGAN {_res} px as published (quirks included, for converted checkpoints)",
         f"kwotsin/mimicry nets/sngan/sngan_{_res}.py, modules/resblocks.py", _data, "resnet", _res, 0, _MI,
         g=_MI_G, d=_MI_D)
for _res, _data, _k in ((32, "cifar10", 10), (128, "imagenet", 1000)):
    _add(f"mimicry-cgan-pd-{_res}", f"torch-mimicry cGAN-PD {_res} px as published (quirks included, for converted checkpoints)",
         f"kwotsin/mimicry nets/cgan_pd/cgan_pd_{_res}.py, modules/resblocks.py", _data, "resnet", _res, _k, _MI,
         g=_MI_G, d=_MI_D)

# PyTorch-StudioGAN's ResNet SNGAN at 32 px as published (targets of specnorm_gan.convert):
# src/models/resnet.py with g_conv_dim = d_conv_dim = 64 (src/config.py), src/utils/ops.py: BN eps 1e-4,
# cBN gamma = 1 + embedding, D hidden = out, head with bias, and in-place ReLUs that make the
# DiscBlock shortcut read ReLU(x). Training: src/config.py defaults (Adam 2e-4, 0.5, 0.999, 5 D steps
# first, batch 64, 100K steps, orthogonal init).
_SG = TrainHParams(betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=64, g_batch_size=64, iterations=100_000,
                   lr_decay="none", update_order="d_first")
_SG_G = {"bn_eps": 1e-4, "init": "orthogonal"}
_SG_D = {"hidden": "out", "head_bias": True, "shortcut_after_activation": True, "init": "orthogonal"}
_add("studiogan-sngan-32", "PyTorch-StudioGAN ResNet SNGAN, 32 px, unconditional (quirks included, for converted checkpoints)",
     "POSTECH-CVLab/PyTorch-StudioGAN src/models/resnet.py, src/utils/ops.py, src/config.py", "cifar10", "resnet", 32, 0,
     _SG, g=_SG_G, d=_SG_D)
_add("studiogan-projection-32", "PyTorch-StudioGAN ResNet SNGAN with cBN + projection D (configs/CIFAR10/SNGAN.yaml), 32 px",
     "POSTECH-CVLab/PyTorch-StudioGAN src/configs/CIFAR10/SNGAN.yaml (g_cond_mtd cBN, d_cond_mtd PD), src/models/resnet.py",
     "cifar10", "resnet", 32, 10, _SG, g=_SG_G, d=_SG_D)

# mmgeneration / mmagic SNGAN and SNGAN-Proj as published (targets of specnorm_gan.convert): configs/sngan_proj
# come "woReLUinplace" (the presets above) and "wReLUinplace", whose in-place ReLU makes the
# SNGANDiscResBlock shortcut read ReLU(x) (D only); unconditional SNGAN uses plain affine BN (use_cbn=False).
for _data in ("cifar10", "imagenet128"):
    _base = PRESETS[f"mmgen-{_data}-projection"]
    for _family, _k in (("projection", _base.num_classes), ("sngan", 0)):
        for _inplace in (False, True):
            _name = f"mmgen-{_data}-{_family}" + ("-inplace" if _inplace else "")
            if _name in PRESETS:
                continue
            _add(_name, f"mmgeneration {'SNGAN-Proj' if _k else 'SNGAN'} {_base.resolution} px as published"
                        f"{' (wReLUinplace: D shortcuts read ReLU(x))' if _inplace else ' (woReLUinplace)'}",
                 "open-mmlab/mmgeneration mmgen/models/architectures/sngan_proj/{generator_discriminator,modules}.py, "
                 f"configs/sngan_proj/*_{'w' if _inplace else 'wo'}ReLUinplace_*", _base.dataset, "resnet",
                 _base.resolution, _k, _base.hparams, g=dict(_base.g_kwargs),
                 d=dict(_base.d_kwargs, **({"shortcut_after_activation": True} if _inplace else {})))
