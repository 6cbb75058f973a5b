"""mmgeneration / mmagic SNGAN and SNGAN-Proj (32 and 128 px) -> ``mmgen-*`` presets.

mmgen needs mmcv (compiled ops), so the fixture is ``tests/_mmgen.py``, a re-implementation written from
the published definition (files and commits cited there) with exactly its state-dict keys; checkpoints
are laid out as mmcv's ``save_checkpoint`` writes them (``{"meta", "state_dict"}``, ``generator.`` /
``discriminator.`` prefixes). Parity in float64, eval and train mode.
"""

import pytest
import torch

from _convert_util import randomize
from _mmgen import MMDiscriminator, MMGenerator
from specnorm_gan import GANSpec, from_pretrained
from specnorm_gan.convert import load_source
from specnorm_gan.convert import mmgen as conv
from specnorm_gan.convert.__main__ import main as convert_main

# SNGANGenResBlock (modules.py): conv_1 / conv_2 / shortcut ConvModules, SNConditionNorm norm_1 / norm_2.
G_BLOCK_KEYS = {f"{c}.conv.{p}" for c in ("conv_1", "conv_2", "shortcut") for p in ("weight", "bias")} | {
    f"norm_{i}.{k}" for i in (1, 2) for k in ("norm.running_mean", "norm.running_var", "norm.num_batches_tracked",
                                              "weight_embedding.weight", "bias_embedding.weight")
}
_TORCH_SN = ("weight_orig", "weight_u", "weight_v", "bias")


def _g(res, classes, reweight=True, inplace=False):
    torch.manual_seed(0)
    src = MMGenerator(res, 32 if res == 32 else 2, classes, reweight=reweight, inplace=inplace)
    randomize(src, torch.Generator().manual_seed(1))
    return src


def _d(res, classes, inplace):
    torch.manual_seed(0)
    src = MMDiscriminator(res, 16 if res == 32 else 2, classes, inplace=inplace)
    randomize(src, torch.Generator().manual_seed(2))
    with torch.no_grad():
        src.train()(torch.randn(2, 3, res, res), torch.tensor([0, 1]) if classes else None)  # u, v away from the start
    return src


def _g_parity(src, dst, res, classes):
    src.double(), dst.double()
    z = torch.randn(3, 128, dtype=torch.float64)
    y = torch.tensor([0, 2, classes - 1]) if classes else None
    with torch.no_grad():
        for mode in (False, True):
            src.train(mode), dst.train(mode)
            torch.testing.assert_close(dst(z, y), src(z, y), atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(dst.final_bn.running_var, src.to_rgb.bn.running_var, atol=1e-12, rtol=1e-10)


def _d_parity(src, dst, res, classes):
    src.double(), dst.double()
    x = torch.randn(2, 3, res, res, dtype=torch.float64)
    y = torch.tensor([1, classes - 1]) if classes else None
    with torch.no_grad():
        for mode in (False, True):
            src.train(mode), dst.train(mode)
            torch.testing.assert_close(dst(x, y), src(x.clone(), y).view(-1), atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(dst.head.linear.weight_u, src.decision.weight_u, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("res,classes", [(32, 10), (32, 0), (128, 5)])
def test_generator_keys_and_parity(tmp_path, res, classes):
    src = _g(res, classes)
    keys = set(src.state_dict())
    n = len(src.conv_blocks)
    block = G_BLOCK_KEYS if classes else {k for k in G_BLOCK_KEYS if "embedding" not in k} | {"norm_1.norm.weight", "norm_1.norm.bias",
                                                                                              "norm_2.norm.weight", "norm_2.norm.bias"}
    assert keys == {"noise2feat.weight", "noise2feat.bias", "to_rgb.conv.weight", "to_rgb.conv.bias",
                    *(f"to_rgb.bn.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
                    *(f"conv_blocks.{i}.{k}" for i in range(n) for k in block)}
    path = tmp_path / "g.pth"
    torch.save(src.state_dict(), path)  # a bare SNGANGenerator state dict
    out = tmp_path / "G"
    assert convert_main([str(path), "--from", "mmgen", "--out", str(out)]) == 0
    dst = from_pretrained(out)
    assert (dst.resolution, dst.num_classes) == (res, classes)
    s, d = src.state_dict(), dst.state_dict()
    torch.testing.assert_close(d["conv_out.weight"], s["to_rgb.conv.weight"], rtol=0, atol=0)
    torch.testing.assert_close(d["blocks.0.c_sc.weight"], s["conv_blocks.0.shortcut.conv.weight"], rtol=0, atol=0)
    if classes:  # studio / BigGAN init: gain = 1 + weight_embedding
        torch.testing.assert_close(d["blocks.1.b1.weight"], 1 + s["conv_blocks.1.norm_1.weight_embedding.weight"], rtol=0, atol=0)
    _g_parity(src, dst, res, classes)


@pytest.mark.parametrize("res,classes,inplace", [(32, 10, False), (32, 10, True), (128, 5, True), (32, 0, False)])
def test_discriminator_keys_and_parity(tmp_path, res, classes, inplace):
    src = _d(res, classes, inplace)
    n = len(src.conv_blocks)
    learnable = [i for i, b in enumerate(src.conv_blocks) if b.learnable]
    expected = {f"from_rgb.{c}.conv.{p}" for c in ("conv_1", "conv_2", "shortcut") for p in _TORCH_SN}
    expected |= {f"conv_blocks.{i}.{c}.conv.{p}" for i in range(n) for c in ("conv_1", "conv_2") for p in _TORCH_SN}
    expected |= {f"conv_blocks.{i}.shortcut.conv.{p}" for i in learnable for p in _TORCH_SN}
    expected |= {f"decision.{p}" for p in _TORCH_SN} | ({"proj_y.weight_orig", "proj_y.weight_u", "proj_y.weight_v"} if classes else set())
    assert set(src.state_dict()) == expected
    path = tmp_path / "d.pth"
    torch.save({"meta": {"iter": 10}, "state_dict": {f"discriminator.{k}": v for k, v in src.state_dict().items()},
                "optimizer": {}}, path)
    # D only in the file is not a whole model: a GAN needs both halves.
    with pytest.raises(ValueError, match="expected 'generator' and 'discriminator'"):
        load_source(path, "mmgen", "mmgen-cifar10-projection")
    torch.save(src.state_dict(), path)
    # Without a config the weights cannot tell whether ReLUs were in place: ask for --preset.
    with pytest.raises(ValueError, match=r"fits several presets .*-inplace'\]; pass --preset NAME"):
        load_source(path, "mmgen")
    data = "cifar10" if res == 32 else "imagenet128"
    preset = f"mmgen-{data}-{'projection' if classes else 'sngan'}" + ("-inplace" if inplace else "")
    out = tmp_path / "D"
    assert convert_main([str(path), "--from", "mmgen", "--preset", preset, "--out", str(out)]) == 0
    dst = from_pretrained(out)
    assert dst.arch.hidden == "out" and dst.blocks[1].shortcut_after_activation == inplace
    s, d = src.state_dict(), dst.state_dict()
    torch.testing.assert_close(d["blocks.0.c_sc.weight"], s["from_rgb.shortcut.conv.weight_orig"], rtol=0, atol=0)
    torch.testing.assert_close(d[f"blocks.{n}.c2.weight_u"], s[f"conv_blocks.{n - 1}.conv_2.conv.weight_u"], rtol=0, atol=0)
    _d_parity(src, dst, res, classes)


def test_the_other_relu_variant_differs():
    # The quirk matters: the same weights under the non-inplace preset give other outputs.
    src = _d(32, 10, inplace=True)
    other = conv.convert(src.state_dict(), "mmgen-cifar10-projection").model
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([1, 2])
    with torch.no_grad():
        src.eval(), other.eval()
        assert not torch.allclose(other(x, y), src(x.clone(), y).view(-1), atol=1e-3)


def test_whole_checkpoint_becomes_a_gan_folder(tmp_path):
    # mmcv's checkpoint of BasiccGAN: one state dict with both halves, the config text in meta.
    g, d = _g(32, 10, inplace=True), _d(32, 10, inplace=True)
    state = {**{f"generator.{k}": v for k, v in g.state_dict().items()},
             **{f"discriminator.{k}": v for k, v in d.state_dict().items()}}
    config = "model = dict(generator=dict(act_cfg=dict(type='ReLU', inplace=True), init_cfg=dict(type='studio')))"
    path = tmp_path / "ckpt.pth"
    torch.save({"meta": {"config": config, "iter": 500000}, "state_dict": state}, path)
    out = tmp_path / "GAN"
    assert convert_main([str(path), "--from", "mmgen", "--out", str(out)]) == 0  # the config answers --preset
    spec = from_pretrained(out)
    assert isinstance(spec, GANSpec) and spec.preset.name == "mmgen-cifar10-projection-inplace"
    _g_parity(g, spec.G, 32, 10)
    _d_parity(d, spec.D, 32, 10)


def test_sngan_init_has_no_plus_one_on_the_gain(tmp_path):
    # SNConditionNorm adds 1 to the gain only for the BigGAN / studio inits; the SNGAN init stores the gain itself.
    g = _g(32, 10, reweight=False)
    d = _d(32, 10, inplace=False)
    state = {**{f"generator.{k}": v for k, v in g.state_dict().items()},
             **{f"discriminator.{k}": v for k, v in d.state_dict().items()}}
    obj = {"meta": {"config": "init_cfg = dict(type='sngan-proj')\nact_cfg=dict(type='ReLU')"}, "state_dict": state}
    result = conv.convert(obj)
    assert result.kind == "GAN" and result.source["cbn_gain_plus_one"] is False
    _g_parity(g, result.model.G, 32, 10)


def test_bad_input():
    s = _g(32, 10).state_dict()
    with pytest.raises(ValueError, match="not an mmgeneration SNGAN checkpoint"):
        conv.convert({"l1.weight": torch.zeros(2, 2)})
    with pytest.raises(ValueError, match=r"'blocks.0.c1.bias' has shape \(31,\), expected \(32,\)"):
        conv.convert(dict(s, **{"conv_blocks.0.conv_1.conv.bias": torch.zeros(31)}))
    with pytest.raises(KeyError, match=r"unexpected key 'attn.weight' for a mmgeneration SNGAN generator"):
        conv.convert(dict(s, **{"conv_blocks.1.attn.weight": torch.zeros(1)}))
    with pytest.raises(ValueError, match=r"generator \(64 px\) checkpoint matches none of the supported architectures; pass --preset"):
        conv.convert({k: v for k, v in s.items() if not k.startswith("conv_blocks.2")} | {
            f"conv_blocks.{i}.{k.split('.', 2)[2]}": v for i in (2, 3) for k, v in s.items() if k.startswith("conv_blocks.2")})
