"""Preset rows: the SAGAN / BigGAN family and the small-data (DiffAugment) settings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict

from ..models import DCGAN_G_ARCHS
from .spec import TrainHParams, _add
from .table_sngan import _setting


# --------------------------------------------------------------------------------------------
# SAGAN / BigGAN family (TTUR, Adam beta1 0, EMA of G; see specnorm_gan.biggan)
# --------------------------------------------------------------------------------------------
_BG_TTUR = dict(n_dis=1, lr_g=1e-4, lr_d=4e-4, betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), lr_decay="none", ema_decay=0.9999)
_add("imagenet128-sagan", "SAGAN, ImageNet 128 px, 1000 classes (BigGAN-PyTorch's SAGAN: ch 64, shared embedding, attention at 64 px)",
     "ajbrock/BigGAN-PyTorch scripts/launch_SAGAN_bs128x2_ema.sh (batch 128 x 2 accumulations, G 1e-4 / D 4e-4, B2 0.999, "
     "1 D step, xavier init, EMA from 2000); iterations = train.py's 100 epochs at batch 256",
     "imagenet", "biggan", 128, 1000,
     TrainHParams(batch_size=256, g_batch_size=256, iterations=500_000, ema_start=2000, **_BG_TTUR),  # type: ignore[arg-type]
     {"arch": "sagan-128", "init": "xavier"}, {"arch": "sagan-128", "init": "xavier"})
_add("imagenet128-biggan", "BigGAN (ch 96), ImageNet 128 px, 1000 classes: shared embedding, hierarchical z (120 = 6 x 20), "
     "attention at 64 px, orthogonal init and regularization",
     "ajbrock/BigGAN-PyTorch scripts/launch_BigGAN_bs256x8.sh (batch 256 x 8 accumulations, G 1e-4 / D 4e-4, B2 0.999, 1 D step, "
     "EMA from 20000); ortho_weight 1e-4 from the BigGAN paper (section 3.1; the script sets --G_ortho 0.0)",
     "imagenet", "biggan", 128, 1000,
     TrainHParams(batch_size=2048, g_batch_size=2048, iterations=150_000, ema_start=20_000, ortho_weight=1e-4, z_dim=120, **_BG_TTUR),  # type: ignore[arg-type]
     {"arch": "biggan-128"}, {"arch": "biggan-128"})
_add("imagenet128-biggan-deep", "BigGAN-deep (ch 128, 2 blocks per stage), ImageNet 128 px, 1000 classes",
     "ajbrock/BigGAN-PyTorch scripts/launch_BigGAN_deep.sh (batch 256 x 8, G 1e-4 / D 4e-4, B2 0.999, 1 D step, z 128, "
     "shared 128, EMA from 20000); ortho_weight 1e-4 (paper; the script sets 0)",
     "imagenet", "biggan", 128, 1000,
     TrainHParams(batch_size=2048, g_batch_size=2048, iterations=150_000, ema_start=20_000, ortho_weight=1e-4, z_dim=128, **_BG_TTUR),  # type: ignore[arg-type]
     {"arch": "biggan-deep-128"}, {"arch": "biggan-deep-128"})
_add("cifar10-biggan", "BigGAN, CIFAR-10 32 px, 10 classes (StudioGAN: ch 96, z 80 = 4 x 20, shared 128, attention after G block 2 / D block 1)",
     "POSTECH-CVLab/PyTorch-StudioGAN src/configs/CIFAR10/BigGAN.json (batch 64, Adam 2e-4 (0.5, 0.999), 5 D steps, "
     "100K steps, ortho init, EMA 0.9999 from 1000, d_first) and src/models/big_resnet.py",
     "cifar10", "biggan", 32, 10,
     TrainHParams(n_dis=5, lr_g=2e-4, lr_d=2e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=64, g_batch_size=64,
                  iterations=100_000, lr_decay="none", update_order="d_first", ema_decay=0.9999, ema_start=1000, z_dim=80),
     {"arch": "biggan-32"}, {"arch": "biggan-32"})


# --------------------------------------------------------------------------------------------
# Training on little data (DiffAugment, Zhao et al. 2020, mit-han-lab/data-efficient-gans)
# --------------------------------------------------------------------------------------------
def _epoch_steps(epochs: int, images: int, batch: int, n_dis: int) -> int:
    """G updates of a BigGAN-PyTorch run with the multi-epoch sampler: each update consumes
    ``batch * n_dis`` real images, ``epochs * images`` in all."""
    return epochs * images // (batch * n_dis)


_DA = "mit-han-lab/data-efficient-gans "
_DA_CIFAR = dict(n_dis=4, lr_g=2e-4, lr_d=2e-4, betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), batch_size=50, g_batch_size=50,
                 lr_decay="none", update_order="d_first", ema_decay=0.9999, ema_start=1000, diffaugment="translation,cutout")
for _pct, _n in ((10, 5000), (20, 10_000)):
    _add(f"cifar10-{_pct}pct-diffaugment",
         f"BigGAN + DiffAugment (Zhao et al. 2020; translation, cutout), CIFAR-10 32 px, 10 classes, "
         f"{_pct}% of the training set ({_n:,} images)",
         _DA + f"DiffAugment-biggan-cifar/scripts/DiffAugment-biggan-cifar10-0.{_pct // 10}.sh and utils.py defaults "
         f"(Zhao et al. 2020, CIFAR-10 {_pct}% data: --DiffAugment translation,cutout, --num_samples {_n}, batch 50, "
         "4 D steps, G/D lr 2e-4, Adam betas (0, 0.999), hinge, EMA 0.9999 from 1000, D steps first, no ortho reg, "
         f"N(0, 0.02) init; G steps = 5000 epochs x {_n:,} images / (50 x 4)); architecture: this library's biggan-32 row "
         "(as cifar10-biggan, z 80; the script's BigGAN-PyTorch model has ch 64, z 128, no attention and non-shared cBN); "
         "its random horizontal flips of the data (--mirror_augment) are not reproduced",
         "cifar10", "biggan", 32, 10,
         TrainHParams(iterations=_epoch_steps(5000, _n, 50, 4), z_dim=80, max_images=_n, **_DA_CIFAR),  # type: ignore[arg-type]
         {"arch": "biggan-32", "init": "normal0.02"}, {"arch": "biggan-32", "init": "normal0.02"})

# 100-shot: the paper's few-shot runs are StyleGAN2 at 256 px (run_few_shot.py); these presets keep
# its data size, policy, batch and length (real images shown to D) with this library's SNGAN models at 64 px.
_FEW_SHOT_BATCH = 16  # DiffAugment-stylegan2/README.md: the few-shot models (updated 07/23/2020) use batch 16
_FEW_SHOT_IMAGES = 300_000  # run_few_shot.py --total-kimg default 300


def _few_shot(n_dis: int, **kw: Any) -> Dict[str, Any]:
    return dict(batch_size=_FEW_SHOT_BATCH, diffaugment="color,translation,cutout", max_images=100,
                iterations=_FEW_SHOT_IMAGES // (_FEW_SHOT_BATCH * n_dis), n_dis=n_dis, **kw)


_FEW_SHOT_SRC = (_DA + "DiffAugment-stylegan2/run_few_shot.py (the paper's 100-shot Obama / Grumpy cat / Panda runs: "
                 "--DiffAugment color,translation,cutout, 300 kimg) and README.md (batch 16); G steps = 300,000 real "
                 "images / (16 x n_dis); 64 px, the SNGAN model and its other hyperparameters ({}) are this library's choice")
_add("100shot-64-resnet",
     "ResNet SNGAN + DiffAugment (Zhao et al. 2020; color, translation, cutout), 100-shot image folder 64 px, unconditional",
     _FEW_SHOT_SRC.format("CH resnet_64 / snresnet_64; training of the official CIFAR config: hinge, n_dis 5, Adam 2e-4 "
                          "(0, 0.9), G batch 2x, linear decay"),
     "imagefolder", "resnet", 64, 0,
     TrainHParams(g_batch_size=2 * _FEW_SHOT_BATCH, **_few_shot(5)))  # type: ignore[arg-type]
# The paper's standard-CNN G at 64 px: the 32 px row with the dense layer to M_g x M_g = 8 x 8 (this library's extension).
_PAPER_G64 = replace(DCGAN_G_ARCHS["paper-32"], bottom_width=8, source="SNGAN paper Table 3 with M_g=8 (64 px; 100shot-64-cnn)")
_add("100shot-64-cnn",
     "Standard CNN SNGAN + DiffAugment (Zhao et al. 2020; color, translation, cutout), 100-shot image folder 64 px, unconditional",
     _FEW_SHOT_SRC.format("paper Table 3 standard CNN at 64 px: G the paper-32 row with M_g = 8, D the paper layers; "
                          "training as cifar10-cnn: hinge, setting C (Adam 2e-4 (0.5, 0.999), n_dis 1), no decay"),
     "imagefolder", "cnn", 64, 0,
     _setting("c", g_batch_size=_FEW_SHOT_BATCH, **_few_shot(1)),
     {"arch": _PAPER_G64}, {"arch": "paper"})
