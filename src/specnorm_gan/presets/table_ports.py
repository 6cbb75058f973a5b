"""Preset rows: the experiment grids of the seed repositories (koshian2 ``k2-*``, ``ck-*``, ``xy-*``, ``ct-*``)."""

from __future__ import annotations

import functools
import math
from typing import Any, Dict, Tuple

from ..blocks import init_weights
from .spec import TrainHParams, _add
from .table_sngan import _k2_iterations


# --------------------------------------------------------------------------------------------
# koshian2/SNGAN (seed 000) experiment grid, reference section 5.1
# --------------------------------------------------------------------------------------------
_K2_SRC = "koshian2/SNGAN (seed 000), reference section 5.1 row "
_CIFAR, _STL = 50_000, 13_000


def _k2_hp(loss: str, n_dis: int, betas: Tuple[float, float], n_images: int, epochs: int, lr_d: float = 2e-4) -> TrainHParams:
    return TrainHParams(
        n_dis=n_dis, lr_g=2e-4, lr_d=lr_d, betas_g=betas, betas_d=betas, batch_size=64, g_batch_size=64,
        iterations=_k2_iterations(n_images, epochs, n_dis), lr_decay="none", loss=loss,
    )


def _k2_g(cond: bool, **kw: Any) -> Dict[str, Any]:
    # koshian2's G: conditional BN everywhere, including the final pre-output BN, eps 1e-4.
    g: Dict[str, Any] = {"bn_eps": 1e-4}
    if cond:
        g["conditional_final_bn"] = True
    g.update(kw)
    return g


_K2_RESNET_D = {"first_block": "standard", "hidden": "out", "head_bias": True, "head_sn": False}
_K2_CNN_G = {"bn_eps": 1e-4}
_POSTACT_G = {"arch": "48-postact", "block_order": "post", "final_bn": False, "bn_eps": 1e-4}

for _i, (_loss, _cond) in enumerate([("bce", False), ("hinge", False), ("bce", True), ("hinge", True)]):
    _add(f"k2-c{_i}", f"K-C{_i}: standard CNN, CIFAR-10 32 px, {_loss}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-C{_i}", "cifar10", "cnn", 32, 10 if _cond else 0,
         _k2_hp(_loss, 5, (0.0, 0.9), _CIFAR, 321), g=_K2_CNN_G, d={"head_sn": False})
for _i, (_loss, _cond) in enumerate([("bce", False), ("hinge", False), ("bce", True), ("hinge", True)]):
    _add(f"k2-r{_i}", f"K-R{_i}: ResNet-32, CIFAR-10, {_loss}, {'conditional' if _cond else 'unconditional'}, beta1 0.5",
         _K2_SRC + f"K-R{_i}", "cifar10", "resnet", 32, 10 if _cond else 0,
         _k2_hp(_loss, 5, (0.5, 0.9), _CIFAR, 321), g=_k2_g(_cond), d=_K2_RESNET_D)
for _i, (_beta1, _cond) in enumerate([(0.5, False), (0.0, False), (0.5, True), (0.0, True)]):
    _add(f"k2-s{_i}", f"K-S{_i}: standard CNN (M_g=6), STL-10 48 px, hinge, beta1 {_beta1}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-S{_i}", "stl10", "cnn", 48, 10 if _cond else 0,
         _k2_hp("hinge", 5, (_beta1, 0.9), _STL, 1301), g=_K2_CNN_G, d={"head_sn": False})
for _i in range(8):
    _cond, _n_dis, _last = _i % 2 == 1, (5, 5, 1, 1)[_i % 4], 512 if _i < 4 else 1024
    _add(f"k2-sr{_i}", f"K-SR{_i}: ResNet-48, STL-10, D last width {_last}, n_dis {_n_dis}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-SR{_i}", "stl10", "resnet", 48, 10 if _cond else 0,
         _k2_hp("hinge", _n_dis, (0.5, 0.9), _STL, 1301 if _n_dis == 5 else 261), g=_k2_g(_cond),
         d=dict(_K2_RESNET_D, last_width=_last))
for _i in range(10):
    _cond = _i % 2 == 1
    _n_dis = 5 if _i < 2 else 1
    _beta2 = 0.9 if _i < 4 else 0.999
    _lr_d = 1e-3 if _i >= 8 else 2e-4
    _slope = 0.1 if _i < 6 else 0.2
    _add(f"k2-pa{_i}", f"K-PA{_i}: post-activation ResNet G + small CNN D (slope {_slope}), STL-10 48 px, "
         f"n_dis {_n_dis}, beta2 {_beta2}, D lr {_lr_d:g}, {'conditional' if _cond else 'unconditional'}",
         _K2_SRC + f"K-PA{_i}", "stl10", "resnet", 48, 10 if _cond else 0,
         _k2_hp("hinge", _n_dis, (0.5, _beta2), _STL, 1301 if _n_dis == 5 else 261, lr_d=_lr_d),
         g=dict(_POSTACT_G), d={"variant": "small", "negative_slope": _slope, "head_sn": False}, d_arch="cnn")
for _i in range(6):
    _c0, _n_dis = (16, 16, 32, 32, 64, 64)[_i], (5, 1)[_i % 2]
    _add(f"k2-pb{_i}", f"K-PB{_i}: post-activation ResNet G + post-activation ResNet D (initial width {_c0}), "
         f"STL-10 48 px, n_dis {_n_dis}, conditional",
         _K2_SRC + f"K-PB{_i}", "stl10", "resnet", 48, 10,
         _k2_hp("hinge", _n_dis, (0.5, 0.999), _STL, 1301 if _n_dis == 5 else 261),
         g=dict(_POSTACT_G), d={"arch": "48-postact", "channels": [_c0 * m for m in (1, 1, 2, 2, 4, 4, 8, 8)], "head_sn": False})
for _i, _beta2 in enumerate((0.9, 0.999)):
    _add(f"k2-dc{_i}", f"K-DC{_i}: ResNet-48 G + small CNN D (slope 0.2), STL-10 48 px, conditional, beta2 {_beta2}",
         _K2_SRC + f"K-DC{_i}", "stl10", "resnet", 48, 10, _k2_hp("hinge", 5, (0.5, _beta2), _STL, 1301),
         g=_k2_g(True), d={"variant": "small", "negative_slope": 0.2, "head_sn": False}, d_arch="cnn")
for _i, _beta2 in enumerate((0.9, 0.999)):
    _add(f"k2-dc{_i + 2}", f"K-DC{_i + 2}: ResNet-48 G + strided ResNet D, STL-10 48 px, conditional, beta2 {_beta2}",
         _K2_SRC + f"K-DC{_i + 2}", "stl10", "resnet", 48, 10, _k2_hp("hinge", 5, (0.5, _beta2), _STL, 1301),
         g=_k2_g(True), d={"arch": "48-strided", "head_sn": False})
for _i, _cond in enumerate((False, True)):
    _add(f"k2-a{_i}", f"K-A{_i}: ResNet-96 G + 128 px design D at 96 px (koshian2 blocks), AnimeFace, "
         f"{'176 classes' if _cond else 'unconditional'}",
         _K2_SRC + f"K-A{_i}", "animeface", "resnet", 96, 176 if _cond else 0,
         _k2_hp("hinge", 5, (0.5, 0.9), 14_490, 1301), g=_k2_g(_cond), d=_K2_RESNET_D)
for _i, _cond in enumerate((False, True)):
    _add(f"k2-f{_i}", f"K-F{_i}: ResNet-96 G + 'light' D (SN conv4x4 s2 stem), Oxford Flowers 96 px, "
         f"{'102 classes' if _cond else 'unconditional'}",
         _K2_SRC + f"K-F{_i}", "flowers102", "resnet", 96, 102 if _cond else 0,
         _k2_hp("hinge", 5, (0.5, 0.9), 8_189, 1901), g=_k2_g(_cond), d={"arch": "96-light", "head_sn": False})

# --------------------------------------------------------------------------------------------
# Other seeds, reference section 5.2
# --------------------------------------------------------------------------------------------
_CK = dict(n_dis=5, lr_g=1e-4, lr_d=4e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=2048,
           g_batch_size=2048, lr_decay="none", loss="bce", loss_kwargs={"real_target": 0.9}, z_dim=100,
           update_order="d_first")
_CK_DATA = (("ck-mnist", "mnist", 1, 60_000), ("ck-fmnist", "fashion-mnist", 1, 60_000), ("ck-cifar10", "cifar10", 3, 50_000))
for _name, _data, _ch, _n in _CK_DATA:
    _add(_name, f"DCGAN-64 with SN D (ChenKaiXuSan), {_data} resized to 64 px, BCE with one-sided label smoothing 0.9",
         "ChenKaiXuSan/SNGAN_projection-PyTorch models/dcgan.py (seed 001), reference section 5.2; "
         "10,000 epochs of batch 2048 with a G step every 5th batch",
         _data, "cnn", 64, 0,
         TrainHParams(iterations=10_000 * math.ceil(math.ceil(_n / 2048) / 5), **_CK),  # type: ignore[arg-type]
         g={"variant": "ck", "bn_eps": 1e-5}, d={"variant": "ck"}, in_channels=_ch)

_XY = dict(n_dis=5, lr_g=8e-4, lr_d=8e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch_size=512,
           g_batch_size=512, iterations=40_000, lr_decay="none", z_dim=100, update_order="d_first")
_XY_SRC = "xyfJASON/GANs-Implementations configs/{}_cifar10.yaml (seed 003), reference section 5.2"
_XY_G = {"variant": "xy", "bn_eps": 1e-5}
for _name, _cfg, _hp, _sn in (
    ("xy-dcgan", "dcgan", dict(loss="bce"), False),
    ("xy-dcgan-r1", "dcgan_r1", dict(loss="bce", r1_weight=5.0), False),
    ("xy-wgan", "wgan", dict(loss="wasserstein", optimizer_g="rmsprop", optimizer_d="rmsprop", lr_g=2e-4, lr_d=2e-4,
                             weight_clip=0.01), False),
    ("xy-wgan-gp", "wgan_gp", dict(loss="wasserstein", gp_weight=10.0, betas_g=(0.5, 0.9), betas_d=(0.5, 0.9)), False),
    ("xy-sngan-bce", "sngan", dict(loss="bce"), True),
    ("xy-sngan-hinge", "sngan_hinge", dict(loss="hinge"), True),
    ("xy-lsgan", "lsgan", dict(loss="least_squares"), False),
):
    _add(_name, f"SimpleCNN {_cfg} on CIFAR-10 32 px ({'SN' if _sn else 'no SN'} D with BN inside)",
         _XY_SRC.format(_cfg), "cifar10", "cnn", 32, 0, TrainHParams(**dict(_XY, **_hp)),  # type: ignore[arg-type]
         g=_XY_G, d={"variant": "xy", "sn": _sn})
_add("xy-sngan-proj", "SimpleCNN with cBN G and SN + projection D, CIFAR-10 32 px, 10 classes",
     "xyfJASON/GANs-Implementations (seed 003) SNGAN-proj row; its config was never committed: "
     "hyperparameters of the ACGAN config (Adam 8e-4, 0.5, 0.999, batch 512, 40K)",
     "cifar10", "cnn", 32, 10, TrainHParams(**dict(_XY, loss="hinge")),  # type: ignore[arg-type]
     g=_XY_G, d={"variant": "xy"})

_CT = dict(n_dis=5, lr_g=2e-4, lr_d=0.01, betas_g=(0.0, 0.9), batch_size=64, g_batch_size=64,
           iterations=200 * math.ceil(50_000 / 64), lr_decay="none", optimizer_d="sgd", momentum_d=0.9,
           update_order="d_first")
_CT_SRC = "ctjoy/deep-learning-project main.py, model/{}.py (seed 004), reference section 5.2; D: SGD 0.01, momentum 0.9"
for _loss in ("bce", "hinge", "wasserstein"):
    _add(f"ct-dcgan-{_loss}", f"ctjoy DCGAN (SN on every G layer, LeakyReLU 0.1) + paper std CNN D, CIFAR-10, {_loss}",
         _CT_SRC.format("dcgan"), "cifar10", "cnn", 32, 0, TrainHParams(**dict(_CT, loss=_loss)),  # type: ignore[arg-type]
         g={"variant": "ct", "sn": True, "negative_slope": 0.1, "bn_eps": 1e-5})
    _add(f"ct-resnet-{_loss}", f"ctjoy ResNet (128 ch G with identity shortcuts, mean-pooling D), CIFAR-10, {_loss}",
         _CT_SRC.format("resnet"), "cifar10", "resnet", 32, 0, TrainHParams(**dict(_CT, loss=_loss)),  # type: ignore[arg-type]
         g={"channels": (128, 128, 128, 128), "learnable_shortcut": False, "bn_eps": 1e-5, "init": "xavier"},
         d={"pooling": "mean", "head_bias": True,
            "init": functools.partial(init_weights, scheme="xavier", shortcut_gain=math.sqrt(2.0))})
