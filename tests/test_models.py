"""Architectures and presets: parameter counts, shapes, official semantics, bad input."""

from __future__ import annotations

import copy
from typing import Dict, Sequence, Tuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import specnorm_gan
from specnorm_gan import (
    ConditionalBatchNorm2d,
    OptimizedDBlock,
    SNDCGANDiscriminator,
    SNDCGANGenerator,
    SNResNetDiscriminator,
    SNResNetGenerator,
    build_gan,
    get_preset,
    list_presets,
)
from specnorm_gan.layers import is_spectral_norm
from test_biggan_models import expected_biggan_32, expected_biggan_128, expected_biggan_deep_128, expected_sagan_128
from specnorm_gan.losses import get_loss

TINY = 1 / 16  # channel multiplier for the shape tests


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --------------------------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------------------------
# Values from the project reference, section 2.3 ("ref"), or derived from a reference value by the
# stated difference ("derived"). Conditional BN: 2 * classes * C parameters instead of 2 * C.
_K2_COND_G32 = 4_308_995  # ref: CH conditional G with a conditional final BN
_K2_R48_COND_G = 4_902_275 - 2 * 64 + 2 * 10 * 64  # derived: + conditional final BN (64 ch)
_POSTACT_G = 14_276_611  # ref: K2 post-activation G (48)
_POSTACT_G_COND = _POSTACT_G + 2 * (10 - 1) * 2 * (512 + 512 + 256 + 256 + 128 + 128 + 64)  # derived: 14 cBNs
_SMALL_D = 1_174_561  # ref: K2 small CNN D
_SMALL_D_COND = _SMALL_D + 10 * 3 * 3 * 256  # derived: projection on the flattened 3x3x256 features
EXPECTED_COUNTS: Dict[str, Tuple[int, int]] = {
    "cifar10-resnet": (4_276_739, 1_053_824),
    "cifar10-projection": (4_304_387, 1_055_104),
    "cifar100-projection": (4_580_867, 1_066_624),
    "stl10-resnet48": (4_878_083, 10_141_441),
    "stl10-projection48": (4_902_275, 10_151_681),
    "stl10-resnet48-d512": (4_878_083, 7_255_809),
    "stl10-projection48-d512": (4_902_275, 7_260_929),
    "celeba64-resnet": (12_220_675, 10_141_441),
    "imagenet64-projection": (17_974_915, 11_165_441),
    "dogcat64-projection": (13_038_595, 10_287_873),
    "imagenet128-resnet": (32_150_787, 29_017_857),
    "imagenet128-projection": (41_996_931, 30_041_857),
    "imagenet128-concat": (41_996_931, 30_538_625),
    "animeface96-resnet": (31_226_115, 29_017_857),
    "animeface96-projection": (32_950_915, 29_198_081),
    "flowers96-resnet": (31_226_115, 29_017_857),
    "flowers96-projection": (32_221_571, 29_122_305),
    "cifar10-cnn": (3_812_355, 2_935_873),
    "cifar10-cnn-ns": (3_812_355, 2_935_873),
    **{f"cifar10-cnn-{k}": (3_812_355, 2_935_873) for k in "abcdef"},
    "stl10-cnn48": (5_133_315, 2_946_113),
    "cifar10-cnn-cgl": (3_828_739, 5_860_865),
    "stl10-cnn48-cgl": (5_170_179, 5_871_105),
    "cifar10-resnet-mimicry": (4_276_739, 1_053_825),  # ref: MI SNGAN32 (D head bias +1)
    "cifar10-projection-mimicry": (4_304_387, 1_055_105),  # ref: MI cGAN-PD32
    # counted on torch-mimicry 0.1.16's own nets (cGAN-PD 128 D with ndf=1024, 1000 classes)
    "mimicry-sngan-32": (4_276_739, 1_053_825),
    "mimicry-sngan-48": (4_878_083, 10_141_441),
    "mimicry-sngan-64": (12_220_675, 10_141_441),
    "mimicry-sngan-128": (32_150_787, 29_017_857),
    "mimicry-cgan-pd-32": (4_304_387, 1_055_105),
    "mimicry-cgan-pd-128": (41_996_931, 30_041_857),
    "mmgen-cifar10-projection": (4_304_387, 1_055_104 + 1),  # derived: hidden=out is the same at 32 px, + head bias
    "mmgen-imagenet128-projection": (41_996_931, 39_443_137),  # ref: D with hidden = out, 128 px, 1000 cls
    # koshian2/SNGAN grid
    **{f"k2-c{i}": (3_812_355, 2_935_873) for i in (0, 1)},
    **{f"k2-c{i}": (3_820_419, 3_017_793) for i in (2, 3)},
    **{f"k2-r{i}": (4_276_739, 1_053_825) for i in (0, 1)},
    **{f"k2-r{i}": (_K2_COND_G32, 1_055_105) for i in (2, 3)},
    **{f"k2-s{i}": (5_133_315, 2_946_113) for i in (0, 1)},
    **{f"k2-s{i}": (5_133_315 + 2 * (10 - 1) * (256 + 128 + 64), 2_946_113 + 10 * 6 * 6 * 512) for i in (2, 3)},
    **{f"k2-sr{i}": (4_878_083, 9_578_689) for i in (0, 2)},
    **{f"k2-sr{i}": (_K2_R48_COND_G, 9_578_689 + 10 * 512) for i in (1, 3)},
    **{f"k2-sr{i}": (4_878_083, 19_542_721) for i in (4, 6)},
    **{f"k2-sr{i}": (_K2_R48_COND_G, 19_542_721 + 10 * 1024) for i in (5, 7)},
    **{f"k2-pa{i}": (_POSTACT_G, _SMALL_D) for i in (0, 2, 4, 6, 8)},
    **{f"k2-pa{i}": (_POSTACT_G_COND, _SMALL_D_COND) for i in (1, 3, 5, 7, 9)},
    **{f"k2-pb{i}": (_POSTACT_G_COND, 698_129) for i in (0, 1)},
    **{f"k2-pb{i}": (_POSTACT_G_COND, 2_786_337) for i in (2, 3)},
    **{f"k2-pb{i}": (_POSTACT_G_COND, 11_132_993) for i in (4, 5)},
    **{f"k2-dc{i}": (_K2_R48_COND_G, _SMALL_D_COND) for i in (0, 1)},
    **{f"k2-dc{i}": (_K2_R48_COND_G, 4_884_321) for i in (2, 3)},
    "k2-a0": (31_226_115, 38_419_137),
    "k2-a1": (32_950_915 - 2 * 64 + 2 * 176 * 64, 38_419_137 + 176 * 1024),
    "k2-f0": (31_226_115, 19_667_297 - 102 * 1024),
    "k2-f1": (32_221_571 - 2 * 64 + 2 * 102 * 64, 19_667_297),
    # other seeds
    "ck-mnist": (3_574_656, 2_763_776 - 2 * 64 * 4 * 4),  # derived: 1 input channel instead of 3
    "ck-fmnist": (3_574_656, 2_763_776 - 2 * 64 * 4 * 4),
    "ck-cifar10": (3_574_656 + 2 * 64 * 4 * 4, 2_763_776),  # derived: 3 output channels instead of 1
    **{f"xy-{k}": (12_141_827, 10_519_297) for k in ("dcgan", "dcgan-r1", "wgan", "wgan-gp", "sngan-bce", "sngan-hinge", "lsgan")},
    "xy-sngan-proj": (12_141_827 + 2 * (10 - 1) * (1024 + 512 + 256), 10_519_297 + 10 * 4 * 4 * 1024),
    **{f"ct-dcgan-{k}": (3_805_699, 2_935_873) for k in ("bce", "hinge", "wasserstein")},
    **{f"ct-resnet-{k}": (1_154_947, 1_053_825) for k in ("bce", "hinge", "wasserstein")},
    # derived: StudioGAN's g_conv_dim = d_conv_dim = 64 give the CH 32 px widths; its D head has a bias (+1)
    "studiogan-sngan-32": (4_276_739, 1_053_824 + 1),
    "studiogan-projection-32": (4_304_387, 1_055_104 + 1),
    # derived: the in-place ReLU changes no parameter; unconditional = the projection models minus cBN / embedding
    "mmgen-cifar10-projection-inplace": (4_304_387, 1_055_104 + 1),
    "mmgen-imagenet128-projection-inplace": (41_996_931, 39_443_137),
    **{f"mmgen-cifar10-sngan{s}": (4_276_739, 1_053_824 + 1) for s in ("", "-inplace")},
    **{f"mmgen-imagenet128-sngan{s}": (32_150_787, 39_443_137 - 1000 * 1024) for s in ("", "-inplace")},
}


def _resnet_g_count(z: int, bottom: int, chans: Sequence[int], n_classes: int) -> int:
    """Official ResNet G (CH resblocks.py): dense, up-blocks with learnable shortcuts, BN, conv."""
    total = z * bottom * bottom * chans[0] + bottom * bottom * chans[0]
    bn = 2 * n_classes if n_classes else 2
    for cin, cout in zip(chans[:-1], chans[1:]):
        total += cin * cout * 9 + cout + cout * cout * 9 + cout + cin * cout + cout + bn * (cin + cout)
    return total + 2 * chans[-1] + chans[-1] * 3 * 9 + 3


def _resnet_d_count(chans: Sequence[int], downs: Sequence[bool], n_classes: int, bias: bool = True) -> int:
    """Official ResNet D (CH): optimized first block, hidden = in, SN linear (+ embedding)."""
    c0 = chans[0]
    total = 3 * c0 * 9 + c0 + c0 * c0 * 9 + c0 + 3 * c0 + c0
    for cin, cout, down in zip(chans[:-1], chans[1:], downs[1:]):
        total += cin * cin * 9 + cin + cin * cout * 9 + cout
        if cin != cout or down:
            total += cin * cout + cout
    return total + chans[-1] + int(bias) + n_classes * chans[-1]


def test_count_formulas_reproduce_the_reference() -> None:
    # The formulas above, checked on published values before being used for the dog & cat rows.
    assert _resnet_g_count(128, 4, (256,) * 4, 0) == 4_276_739
    assert _resnet_g_count(128, 4, (1024, 1024, 512, 256, 128, 64), 1000) == 41_996_931
    assert _resnet_d_count((128,) * 4, (True, True, False, False), 10, bias=False) == 1_055_104
    assert _resnet_d_count((64, 128, 256, 512, 1024, 1024), (True,) * 5 + (False,), 1000) == 30_041_857


# BigGAN-family presets: counts from the published layer lists, computed in test_biggan_models.py.
EXPECTED_COUNTS["imagenet128-sagan"] = expected_sagan_128()
EXPECTED_COUNTS["imagenet128-biggan"] = expected_biggan_128()
EXPECTED_COUNTS["imagenet128-biggan-deep"] = expected_biggan_deep_128()
EXPECTED_COUNTS["cifar10-biggan"] = expected_biggan_32()
EXPECTED_COUNTS["dogcat128-projection"] = (
    _resnet_g_count(128, 4, (512, 512, 256, 256, 128, 64), 143),  # CH resnet_small (ch=64)
    _resnet_d_count((64, 128, 256, 256, 512, 512), (True,) * 5 + (False,), 143),  # CH snresnet_small
)
EXPECTED_COUNTS["dogcat256-projection"] = (
    _resnet_g_count(128, 4, (512, 512, 256, 256, 128, 64, 32), 143),  # CH resnet_256 (ch=32)
    _resnet_d_count((32, 64, 128, 256, 256, 512, 512), (True,) * 6 + (False,), 143),  # CH snresnet_256
)


def _paper_cnn_counts(resolution: int, z: int = 128) -> Tuple[int, int]:
    """SNGAN paper Table 3 standard CNN at ``resolution`` (M_g = resolution / 8): closed-form layer list."""
    m = resolution // 8
    g = z * m * m * 512 + m * m * 512  # dense with bias, no BN after it
    for cin, cout in ((512, 256), (256, 128), (128, 64)):
        g += cin * cout * 4 * 4 + cout + 2 * cout  # deconv 4x4 s2 with bias, BN gain + bias
    g += 64 * 3 * 3 * 3 + 3  # conv 3x3 to RGB
    d, cin = 0, 3
    for cout, k in ((64, 3), (64, 4), (128, 3), (128, 4), (256, 3), (256, 4), (512, 3)):
        d += cin * cout * k * k + cout
        cin = cout
    return g, d + m * m * 512 + 1  # flatten of the (resolution / 8)^2 x 512 map, SN linear with bias


# Small-data presets: the architectures of existing rows, counted from their layer lists.
EXPECTED_COUNTS["cifar10-10pct-diffaugment"] = expected_biggan_32()  # the biggan-32 design of cifar10-biggan
EXPECTED_COUNTS["cifar10-20pct-diffaugment"] = expected_biggan_32()
EXPECTED_COUNTS["100shot-64-resnet"] = (  # CH resnet_64 / snresnet_64 (ch=64), unconditional
    _resnet_g_count(128, 4, (1024, 512, 256, 128, 64), 0),
    _resnet_d_count((64, 128, 256, 512, 1024), (True,) * 5, 0),
)
EXPECTED_COUNTS["100shot-64-cnn"] = _paper_cnn_counts(64)


def test_small_data_count_formulas_reproduce_the_reference_rows() -> None:
    # The closed forms above give the reference counts of the same designs at the published sizes.
    assert _paper_cnn_counts(32) == EXPECTED_COUNTS["cifar10-cnn"] and _paper_cnn_counts(48) == EXPECTED_COUNTS["stl10-cnn48"]
    assert EXPECTED_COUNTS["100shot-64-resnet"] == EXPECTED_COUNTS["celeba64-resnet"] == (12_220_675, 10_141_441)


def test_every_preset_has_an_expected_count() -> None:
    assert sorted(EXPECTED_COUNTS) == list_presets()


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_preset_parameter_counts(name: str) -> None:
    # Built on the meta device: same modules and shapes, no memory and no initialization cost.
    with torch.device("meta"):
        spec = build_gan(name)
    assert (n_params(spec.G), n_params(spec.D)) == EXPECTED_COUNTS[name]


def test_meta_and_cpu_builds_count_the_same() -> None:
    spec = build_gan("cifar10-projection")
    assert (n_params(spec.G), n_params(spec.D)) == EXPECTED_COUNTS["cifar10-projection"]
    # SN u, v and BN running statistics are buffers, not parameters.
    assert all(not name.endswith(("weight_u", "weight_v")) for name, _ in spec.D.named_parameters())


def test_width_multiplier_scales_every_channel() -> None:
    D = SNResNetDiscriminator(48, width=0.25)
    assert D.arch.channels == (16, 32, 64, 128, 256)
    G = SNResNetGenerator(48, width=0.25)
    assert G.arch.channels == (128, 64, 32, 16)
    assert SNDCGANDiscriminator(32, width=0.5).convs[-1].out_channels == 256
    spec = build_gan("cifar10-resnet", width=0.5)
    assert spec.G.arch.channels == (128,) * 4 and spec.D.arch.channels == (64,) * 4
    with pytest.raises(ValueError, match="width"):
        SNResNetGenerator(32, width=0)


# --------------------------------------------------------------------------------------------
# Every preset builds and runs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list_presets())
def test_preset_shapes_and_ranges(name: str) -> None:
    torch.manual_seed(0)
    spec = build_gan(name, width=TINY)
    G, D, hp, record = spec.G, spec.D, spec.hparams, spec.preset
    r, c, k = record.resolution, record.in_channels, record.num_classes
    assert (G.resolution, D.resolution, G.out_channels, D.in_channels) == (r, r, c, c)
    assert G.num_classes == D.num_classes == k and G.z_dim == hp.z_dim and G.z_dist == hp.z_dist
    y = torch.tensor([0, k - 1]) if k else None
    x = G(G.sample_z(2), y)
    assert x.shape == (2, c, r, r)
    assert bool(torch.isfinite(x).all()) and float(x.detach().abs().max()) <= 1.0
    logits = D(x, y)
    assert logits.shape == (2,) and bool(torch.isfinite(logits).all())
    loss = get_loss(hp.loss, **hp.loss_kwargs)
    loss.g_loss(logits).backward()
    assert all(p.grad is not None for p in G.parameters() if p.requires_grad)
    assert hp.preset == name and hp.iterations > 0 and hp.n_dis >= 1 and hp.batch_size > 0
    assert hp.lr_decay in ("linear", "none") and hp.update_order in ("g_first", "d_first")
    assert record.source and record.description and record.dataset


def test_preset_hyperparameters_follow_the_reference() -> None:
    hp = get_preset("cifar10-resnet").hparams  # CH sn_cifar10_unconditional.yml
    assert (hp.n_dis, hp.lr_g, hp.lr_d, hp.betas_g, hp.betas_d) == (5, 2e-4, 2e-4, (0.0, 0.9), (0.0, 0.9))
    assert (hp.batch_size, hp.g_batch_size, hp.iterations, hp.lr_decay, hp.decay_start) == (64, 128, 50_000, "linear", 0)
    assert (hp.loss, hp.z_dim, hp.update_order) == ("hinge", 128, "g_first")
    hp = get_preset("imagenet128-projection").hparams
    assert (hp.batch_size, hp.g_batch_size, hp.iterations, hp.decay_start) == (64, 128, 450_000, 400_000)
    hp = get_preset("imagenet64-projection").hparams
    assert (hp.g_batch_size, hp.iterations, hp.decay_start) == (64, 250_000, 200_000)
    hp = get_preset("dogcat256-projection").hparams
    assert (hp.batch_size, hp.g_batch_size) == (8, 16)
    # koshian2: G updates = epochs x ceil(ceil(images / 64) / n_dis).
    assert get_preset("k2-c0").hparams.iterations == 321 * 157  # CIFAR-10: 782 batches, n_dis 5
    assert get_preset("k2-sr2").hparams.iterations == 261 * 204  # STL-10 13K: 204 batches, n_dis 1
    hp = get_preset("k2-pa8").hparams
    assert (hp.lr_d, hp.betas_d, hp.n_dis) == (1e-3, (0.5, 0.999), 1)
    assert get_preset("k2-pa8").d_kwargs["negative_slope"] == 0.2
    hp = get_preset("ck-mnist").hparams
    assert (hp.loss, hp.loss_kwargs, hp.z_dim, hp.batch_size) == ("bce", {"real_target": 0.9}, 100, 2048)
    assert get_preset("ck-mnist").in_channels == 1
    hp = get_preset("xy-wgan-gp").hparams
    assert (hp.gp_weight, hp.loss, hp.betas_d) == (10.0, "wasserstein", (0.5, 0.9))
    assert get_preset("xy-wgan").hparams.weight_clip == 0.01
    hp = get_preset("ct-resnet-hinge").hparams
    assert (hp.optimizer_d, hp.lr_d, hp.momentum_d) == ("sgd", 0.01, 0.9)
    assert get_preset("cifar10-cnn-cgl").hparams.z_dist == "uniform"


def test_presets_translate_port_choices() -> None:
    k2 = build_gan("k2-r3", width=TINY)
    assert isinstance(k2.G.final_bn, ConditionalBatchNorm2d) and k2.G.final_bn.eps == 1e-4
    assert type(k2.D.head.linear) is nn.Linear  # koshian2's plain final dense
    assert not isinstance(k2.D.blocks[0], OptimizedDBlock) and k2.D.blocks[1].c1.out_channels == k2.D.blocks[1].out_channels
    mi = build_gan("cifar10-resnet-mimicry", width=TINY)
    assert mi.G.blocks[0].upsample_mode == "bilinear" and mi.G.blocks[0].b1.eps == 1e-5
    xy = build_gan("xy-dcgan", width=TINY)
    assert not any(is_spectral_norm(m) for m in xy.D.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in xy.D.modules())
    ct = build_gan("ct-dcgan-hinge", width=TINY)
    assert all(is_spectral_norm(m) for m in ct.G.modules() if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)))
    concat = build_gan("imagenet128-concat", width=TINY)
    assert concat.D.conditioning == "concat" and concat.D.head.embed is None


# --------------------------------------------------------------------------------------------
# Official semantics at the model level
# --------------------------------------------------------------------------------------------
def _converged(model: nn.Module) -> nn.Module:
    model.double().eval()
    specnorm_gan.reset_spectral_norm(model, iterations=2000)
    return model


def _sn_matrix(w: torch.Tensor) -> torch.Tensor:
    return w / torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2)


def test_resnet_discriminator_head_reference() -> None:
    # ReLU -> *sum* over H, W -> SN linear (no bias at 32 px) + <SN embed(y), h>.
    torch.manual_seed(1)
    D = _converged(SNResNetDiscriminator(32, num_classes=5, width=TINY))
    assert isinstance(D.blocks[0], OptimizedDBlock) and D.head.linear.bias is None
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    y = torch.tensor([4, 0, 2])
    h = x
    for block in D.blocks:
        h = block(h)
    h = F.relu(h).sum(dim=(2, 3))
    expected = h @ _sn_matrix(D.head.linear.weight)[0] + (_sn_matrix(D.head.embed.weight)[y] * h).sum(1)
    assert torch.allclose(D(x, y), expected, atol=1e-9)
    # Changing the label changes the projection term only.
    y2 = torch.tensor([1, 1, 1])
    delta = ((_sn_matrix(D.head.embed.weight)[y2] - _sn_matrix(D.head.embed.weight)[y]) * h).sum(1)
    assert torch.allclose(D(x, y2) - D(x, y), delta, atol=1e-9)


def test_concat_discriminator_reference() -> None:
    torch.manual_seed(2)
    D = _converged(SNResNetDiscriminator(128, num_classes=7, width=TINY, conditioning="concat"))
    x = torch.randn(2, 3, 128, 128, dtype=torch.float64)
    y = torch.tensor([6, 3])
    e = _sn_matrix(D.embed.weight)[y]
    h = x
    for i, block in enumerate(D.blocks):
        if i == 3:  # after the 3rd block, as SNResNetConcatDiscriminator
            h = torch.cat([h, e[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])], dim=1)
        h = block(h)
    h = F.relu(h).sum(dim=(2, 3))
    expected = h @ _sn_matrix(D.head.linear.weight)[0] + D.head.linear.bias
    assert torch.allclose(D(x, y), expected, atol=1e-9)
    assert D.blocks[3].in_channels == D.arch.channels[2] + 8  # 128 * width embedding channels


def test_resnet_generator_reference() -> None:
    # dense -> reshape (no BN/ReLU) -> blocks -> BN (unconditional even when conditional) -> ReLU -> conv -> tanh.
    torch.manual_seed(3)
    G = SNResNetGenerator(32, num_classes=4, width=TINY).double().train()
    assert type(G.final_bn) is nn.BatchNorm2d and G.final_bn.eps == 2e-5
    assert all(b.upsample_mode == "nearest" and b.order == "pre" for b in G.blocks)
    z = torch.randn(5, 128, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0])
    G_ref = copy.deepcopy(G)
    h = G_ref.dense(z).view(5, -1, 4, 4)
    for block in G_ref.blocks:
        h = block(h, y)
    mean, var = h.mean(dim=(0, 2, 3), keepdim=True), h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    h = F.relu((h - mean) / torch.sqrt(var + 2e-5))
    expected = torch.tanh(G_ref.conv_out(h))
    assert torch.allclose(G(z, y), expected, atol=1e-9)


def test_generator_soft_labels_and_sampling() -> None:
    torch.manual_seed(4)
    G = SNResNetGenerator(32, num_classes=3, width=TINY).eval()
    z = torch.randn(4, 128)
    y = torch.tensor([0, 2, 1, 2])
    assert torch.allclose(G(z, F.one_hot(y, 3).float()), G(z, y), atol=1e-6)
    # sample(): z ~ N(0, I) on G's device, class-balanced labels arange(n) % num_classes.
    out = G.sample(5, generator=torch.Generator().manual_seed(7))
    z = torch.randn(5, 128, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(out, G(z, torch.arange(5) % 3), atol=1e-6)
    assert torch.equal(G.sample(5, generator=torch.Generator().manual_seed(7)), out)
    assert G.sample(0).shape == (0, 3, 32, 32)
    U = SNDCGANGenerator(32, width=TINY, z_dist="uniform")
    zu = U.sample_z(1000)
    assert float(zu.min()) >= -1 and float(zu.max()) <= 1 and float(zu.abs().mean()) > 0.4
    assert G.double().sample(2).dtype == torch.float64


def test_models_never_mutate_inputs_and_deepcopy() -> None:
    torch.manual_seed(5)
    spec = build_gan("cifar10-projection", width=TINY)
    z = torch.randn(2, 128)
    y = torch.tensor([1, 9])
    x = spec.G(z.clone(), y)
    x_in = x.detach().clone().requires_grad_(True)
    z_before, x_before = z.clone(), x_in.detach().clone()
    spec.D(x_in, y).sum().backward()
    assert torch.equal(x_in.detach(), x_before) and x_in._version == 0 and torch.equal(z, z_before)
    # EMA copies are made with deepcopy, also after a forward with gradients.
    D_copy = copy.deepcopy(spec.D).eval()
    spec.D.eval()
    assert torch.equal(D_copy(x_before, y), spec.D(x_before, y))


def test_dcgan_variants_structure() -> None:
    D = SNDCGANDiscriminator(32)
    assert [c.out_channels for c in D.convs] == [64, 64, 128, 128, 256, 256, 512]
    assert [c.kernel_size[0] for c in D.convs] == [3, 4, 3, 4, 3, 4, 3] and D.negative_slope == 0.1
    assert all(is_spectral_norm(m) for m in D.convs) and D.head.in_features == 4 * 4 * 512
    assert SNDCGANDiscriminator(48).head.in_features == 6 * 6 * 512
    G = SNDCGANGenerator(48)
    assert G.stem.out_features == 6 * 6 * 512 and G.stem_norm is None
    assert [d.out_channels for d in G.deconvs] == [256, 128, 64]
    assert SNDCGANDiscriminator(variant="cgl").negative_slope == 0.2
    ck = SNDCGANDiscriminator(64, variant="ck", in_channels=1)
    assert ck.convs[0].bias is None and ck.head.linear.bias is None
    with pytest.raises(ValueError, match=r"resolutions \[32, 48\]"):
        SNDCGANDiscriminator(64)
    with pytest.raises(ValueError, match=r"expected one of \[32, 48\]"):
        SNDCGANGenerator(64)
    with pytest.raises(ValueError, match="variant"):
        SNDCGANGenerator(32, variant="nope")


def test_resnet_design_errors() -> None:
    with pytest.raises(ValueError, match=r"expected one of \[32, 48, 64, 96, 128, 256\]"):
        SNResNetGenerator(40)
    with pytest.raises(ValueError, match=r"expected one of \[32, 48, 64, 96, 128, 256\]"):
        SNResNetDiscriminator(40)
    with pytest.raises(ValueError, match="produces 48 px"):
        SNResNetGenerator(32, arch="48-postact")
    with pytest.raises(ValueError, match="too small"):
        SNResNetDiscriminator(16, arch="128")
    with pytest.raises(ValueError, match="num_classes > 0"):
        SNResNetDiscriminator(128, conditioning="concat")
    with pytest.raises(ValueError, match="5 entries"):
        SNResNetDiscriminator(48, channels=[64, 128])
    with pytest.raises(ValueError, match="num_classes"):
        SNResNetGenerator(32, num_classes=-1)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------
def _models(num_classes: int):  # type: ignore[no-untyped-def]
    return [
        (SNResNetGenerator(32, num_classes, width=TINY), SNResNetDiscriminator(32, num_classes, width=TINY)),
        (SNDCGANGenerator(32, num_classes, width=TINY), SNDCGANDiscriminator(32, num_classes, width=TINY)),
    ]


@pytest.mark.parametrize("pair", [0, 1])
def test_bad_input_raises_value_error_naming_the_expected_value(pair: int) -> None:
    G, D = _models(10)[pair]
    G0, D0 = _models(0)[pair]
    z = torch.randn(2, 128)
    x = torch.randn(2, 3, 32, 32)
    y = torch.tensor([0, 9])
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        D(torch.randn(2, 3, 48, 48), y)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        D(torch.randn(2, 1, 32, 32), y)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        D(torch.randn(3, 32, 32), y)
    with pytest.raises(ValueError, match=r"num_classes=10.*\[0, 10\)"):
        D(x)
    with pytest.raises(ValueError, match=r"num_classes=10.*\[0, 10\)"):
        G(z)
    for bad in (torch.tensor([0, 10]), torch.tensor([-1, 3])):
        with pytest.raises(ValueError, match=r"\[0, 10\)"):
            D(x, bad)
        with pytest.raises(ValueError, match=r"\[0, 10\)"):
            G(z, bad)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        D(x, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        D(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="expected y=None"):
        D0(x, y)
    with pytest.raises(ValueError, match="expected y=None"):
        G0(z, y)
    with pytest.raises(ValueError, match=r"\(N, 128\)"):
        G0(torch.randn(2, 100))
    with pytest.raises(ValueError, match=r"\(N, 128\)"):
        G0(torch.randn(2, 128, 1, 1))


def test_label_range_is_checked_before_any_computation_on_cpu() -> None:
    G, D = _models(10)[0]
    G.train()
    D.train()
    bn = G.blocks[0].b1.bn
    sn = D.blocks[0].c1
    stats = (bn.running_mean.clone(), bn.num_batches_tracked.clone(), sn.weight_u.clone())
    with pytest.raises(ValueError):
        G(torch.randn(2, 128), torch.tensor([3, 11]))
    with pytest.raises(ValueError):
        D(torch.randn(2, 3, 32, 32), torch.tensor([3, 11]))
    assert torch.equal(bn.running_mean, stats[0]) and torch.equal(bn.num_batches_tracked, stats[1])
    assert torch.equal(sn.weight_u, stats[2])


def test_unknown_preset_and_build_gan_arguments() -> None:
    with pytest.raises(ValueError, match="unknown preset 'cifar10-resnt'.*cifar10-resnet"):
        build_gan("cifar10-resnt")
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("nope")
    with pytest.raises(ValueError, match="resolution 32"):
        build_gan("cifar10-resnet", resolution=48)
    with pytest.raises(ValueError, match=r"expected one of \['cnn'"):
        build_gan(arch="transformer", resolution=32)
    with pytest.raises(ValueError, match=r"expected one of \[32, 48, 64, 96, 128, 256\]"):
        build_gan(arch="resnet", resolution=40)
    with pytest.raises(ValueError, match="arch"):
        build_gan()
    with pytest.raises(ValueError, match="unknown override 'lr'"):
        build_gan("cifar10-resnet", lr=1e-3)


def test_build_gan_by_arch_and_overrides() -> None:
    spec = build_gan(arch="resnet", resolution=48, num_classes=10, width=TINY)
    assert spec.preset.name == "stl10-projection48" and spec.G.num_classes == spec.D.num_classes == 10
    spec = build_gan(arch="cnn", resolution=32, width=TINY)
    assert spec.preset.name == "cifar10-cnn" and isinstance(spec.G, SNDCGANGenerator)
    spec = build_gan("cifar10-resnet", width=TINY, num_classes=3, n_dis=1, iterations=10, z_dim=64,
                     init="orthogonal", d_kwargs={"last_width": 16})
    assert spec.G.num_classes == spec.D.num_classes == 3 and spec.G.z_dim == spec.hparams.z_dim == 64
    assert (spec.hparams.n_dis, spec.hparams.iterations) == (1, 10)
    assert spec.D.arch.channels[-1] == 1  # last width 16, then x 1/16
    assert get_preset("cifar10-resnet").hparams.n_dis == 5  # the record is not modified
    # Constructor options are routed to the model that has them; g_/d_ prefixes when both do.
    spec = build_gan("stl10-resnet48", width=TINY, last_width=512, upsample_mode="bilinear", d_negative_slope=0.2)
    assert spec.D.arch.channels[-1] == 32 and spec.D.negative_slope == 0.2 and spec.G.negative_slope == 0.0
    assert spec.G.blocks[0].upsample_mode == "bilinear"
    with pytest.raises(ValueError, match="pass g_negative_slope= or d_negative_slope="):
        build_gan("stl10-resnet48", width=TINY, negative_slope=0.2)
    spec = build_gan("ck-mnist", width=TINY, in_channels=3)
    assert spec.G.out_channels == spec.D.in_channels == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_label_check_does_not_synchronize_on_cuda() -> None:
    G, D = (m.cuda() for m in _models(10)[0])
    z = torch.randn(4, 128, device="cuda")
    y = torch.tensor([0, 3, 9, 5], device="cuda")
    G(z, y)  # warm-up (cuDNN heuristics may synchronize once)
    D(G(z, y), y)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        logits = D(G(z, y), y)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert logits.shape == (4,)
