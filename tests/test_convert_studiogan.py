"""PyTorch-StudioGAN ResNet SNGAN 32 px checkpoints -> ``studiogan-*`` presets.

StudioGAN cannot be installed here (no package; its ``src/`` imports CUDA ops), so the fixture is
``tests/_studiogan.py``, a re-implementation written from its published definition (file and commit
cited there), whose state dicts carry exactly the keys listed below. The checkpoint file is the dict
``src/utils/ckpt.py`` reads: ``{"state_dict": ..., "seed", "run_name", "step", ...}``.
"""

import json

import pytest
import torch

from _convert_util import randomize
from _studiogan import StudioDiscriminator, StudioGenerator
from specnorm_gan import SNResNetDiscriminator, from_pretrained
from specnorm_gan.convert import load_source
from specnorm_gan.convert import studiogan as conv
from specnorm_gan.convert.__main__ import main as convert_main
from specnorm_gan.pretrained import load_state_dict_checked

# src/models/resnet.py GenBlock.__init__ (bn1, bn2, conv2d0, conv2d1, conv2d2) and ops.ConditionalBatchNorm2d.
G_BLOCK_KEYS = {
    "conv2d0.weight", "conv2d0.bias", "conv2d1.weight", "conv2d1.bias", "conv2d2.weight", "conv2d2.bias",
    *(f"bn{i}.{k}" for i in (1, 2) for k in ("bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                                              "embed0.weight", "embed1.weight")),
}
# g_cond_mtd "W/O": MODULES.g_bn = ops.batchnorm_2d (affine BN).
G_BLOCK_KEYS_UNCOND = {
    *(k for k in G_BLOCK_KEYS if k.startswith("conv")),
    *(f"bn{i}.{k}" for i in (1, 2) for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
}
# DiscOptBlock / DiscBlock: conv2d0 only where the block downsamples or changes width; torch's SN buffers.
_SN = ("weight_orig", "weight_u", "weight_v", "bias")
D_KEYS = {
    *(f"blocks.{i}.0.{c}.{k}" for i in range(4) for c in ("conv2d1", "conv2d2") for k in _SN),
    *(f"blocks.{i}.0.conv2d0.{k}" for i in (0, 1) for k in _SN),
    *(f"linear1.{k}" for k in _SN), "embedding.weight_orig", "embedding.weight_u", "embedding.weight_v",
}


_randomize = randomize


def _save(tmp_path, model, kind):
    path = tmp_path / f"model={kind}-best-weights-step=2000.pth"
    torch.save({"state_dict": model.state_dict(), "seed": 0, "run_name": "SNGAN-test", "step": 2000,
                "best_step": 2000, "best_fid": 30.0}, path)
    return path


@pytest.mark.parametrize("classes", [0, 10])
def test_generator_keys_mapping_and_forward(tmp_path, classes):
    torch.manual_seed(0)
    src = StudioGenerator(g_conv_dim=8, classes=classes)
    _randomize(src, torch.Generator().manual_seed(1))
    keys = set(src.state_dict())
    block_keys = G_BLOCK_KEYS if classes else G_BLOCK_KEYS_UNCOND
    expected = {"linear0.weight", "linear0.bias", "conv2d5.weight", "conv2d5.bias",
                *(f"bn4.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
                *(f"blocks.{i}.0.{k}" for i in range(3) for k in block_keys)}
    assert keys == expected

    out = tmp_path / "G"
    assert convert_main([str(_save(tmp_path, src, "G")), "--from", "studiogan", "--out", str(out)]) == 0
    dst = from_pretrained(out)
    preset = "studiogan-projection-32" if classes else "studiogan-sngan-32"
    assert json.loads((out / "config.json").read_text())["source"]["preset"] == preset
    assert (dst.resolution, dst.num_classes, list(dst.arch.channels)) == (32, classes, [32] * 4)
    s, d = src.state_dict(), dst.state_dict()
    # Key by key: renamed tensors are the source's; the cBN gain is 1 + embed0.
    torch.testing.assert_close(d["dense.weight"], s["linear0.weight"], rtol=0, atol=0)
    torch.testing.assert_close(d["blocks.2.c_sc.weight"], s["blocks.2.0.conv2d0.weight"], rtol=0, atol=0)
    torch.testing.assert_close(d["final_bn.running_var"], s["bn4.running_var"], rtol=0, atol=0)
    torch.testing.assert_close(d["conv_out.bias"], s["conv2d5.bias"], rtol=0, atol=0)
    if classes:
        torch.testing.assert_close(d["blocks.1.b2.weight"], 1 + s["blocks.1.0.bn2.embed0.weight"], rtol=0, atol=0)
        torch.testing.assert_close(d["blocks.1.b2.bias"], s["blocks.1.0.bn2.embed1.weight"], rtol=0, atol=0)
        torch.testing.assert_close(d["blocks.0.b1.bn.running_mean"], s["blocks.0.0.bn1.bn.running_mean"], rtol=0, atol=0)
    assert dst.blocks[0].b1.eps == 1e-4 and dst.final_bn.eps == 1e-4

    # In float64 both sides agree to rounding (float32 differs by the operation order, e.g. folded resampling).
    src.double(), dst.double()
    z = torch.randn(4, 128, dtype=torch.float64)
    y = torch.tensor([0, 3, 9, 9]) if classes else None
    with torch.no_grad():
        src.eval(), dst.eval()
        torch.testing.assert_close(dst(z, y), src(z, y), atol=1e-10, rtol=1e-9)
        src.train(), dst.train()
        torch.testing.assert_close(dst(z, y), src(z, y), atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(dst.final_bn.running_mean, src.bn4.running_mean, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("classes", [0, 10])
def test_discriminator_keys_mapping_and_forward(tmp_path, classes):
    torch.manual_seed(0)
    src = StudioDiscriminator(d_conv_dim=8, classes=classes)
    _randomize(src, torch.Generator().manual_seed(2))
    x = torch.randn(3, 3, 32, 32)
    y = torch.tensor([1, 9, 0]) if classes else None
    with torch.no_grad():
        src.train()(x.clone(), y)  # u and v away from their random start
    assert set(src.state_dict()) == (D_KEYS if classes else {k for k in D_KEYS if not k.startswith("embedding")})

    out = tmp_path / "D"
    assert convert_main([str(_save(tmp_path, src, "D")), "--from", "studiogan", "--out", str(out)]) == 0
    dst = from_pretrained(out)
    assert (dst.resolution, dst.num_classes, list(dst.arch.channels), dst.arch.hidden) == (32, classes, [16] * 4, "out")
    s, d = src.state_dict(), dst.state_dict()
    for a, b in (("blocks.1.c_sc", "blocks.1.0.conv2d0"), ("blocks.3.c2", "blocks.3.0.conv2d2"), ("head.linear", "linear1")):
        for suffix, src_suffix in (("weight", "weight_orig"), ("weight_u", "weight_u"), ("weight_v", "weight_v")):
            torch.testing.assert_close(d[f"{a}.{suffix}"], s[f"{b}.{src_suffix}"], rtol=0, atol=0)
    assert dst.blocks[2].c_sc is None and dst.blocks[3].c_sc is None  # identity shortcuts, as in DiscBlock
    src.double(), dst.double()
    x = x.double()
    with torch.no_grad():
        src.eval(), dst.eval()
        torch.testing.assert_close(dst(x, y), src(x.clone(), y), atol=1e-10, rtol=1e-9)
        src.train(), dst.train()
        torch.testing.assert_close(dst(x, y), src(x.clone(), y), atol=1e-10, rtol=1e-9)
        # Both ran one power iteration from the same u (torch's SN in the source).
        torch.testing.assert_close(dst.blocks[1].c1.weight_u, src.blocks[1][0].conv2d1.weight_u, atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(dst.head.linear.weight_u, src.linear1.weight_u, atol=1e-10, rtol=1e-9)


def test_discblock_shortcut_reads_relu_of_input():
    # The in-place ReLU of DiscBlock rewrites the tensor the shortcut keeps; the converted D must compute that.
    torch.manual_seed(0)
    src = StudioDiscriminator(d_conv_dim=8)
    _randomize(src, torch.Generator().manual_seed(3))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        src.train()(x.clone())  # u, v one power iteration from their random start, as in any saved D
    result = conv.convert({"state_dict": src.state_dict()})
    plain = SNResNetDiscriminator(32, channels=[16] * 4, hidden="out", head_bias=True)
    load_state_dict_checked(plain, result.model.state_dict())
    with torch.no_grad():
        src.eval(), plain.eval(), result.model.eval()
        ref = src(x.clone())
        assert not torch.allclose(plain(x), ref, atol=1e-3)
        torch.testing.assert_close(result.model(x), ref, atol=1e-5, rtol=1e-4)


def test_independent_recomputation_of_the_first_d_block():
    # Plain torch ops from the definition: sigma = u^T W v (eval), OptimizedDBlock = avgpool(conv2(relu(conv1 x))) + conv0(avgpool x).
    torch.manual_seed(0)
    src = StudioDiscriminator(d_conv_dim=8)
    _randomize(src, torch.Generator().manual_seed(4))
    with torch.no_grad():
        src.train()(torch.randn(2, 3, 32, 32))
    block = conv.convert(src.state_dict()).model.eval().blocks[0]
    s = src.state_dict()

    def w(name):
        mat = s[f"blocks.0.0.{name}.weight_orig"]
        sigma = s[f"blocks.0.0.{name}.weight_u"] @ mat.flatten(1) @ s[f"blocks.0.0.{name}.weight_v"]
        return mat / sigma, s[f"blocks.0.0.{name}.bias"]

    x = torch.randn(2, 3, 32, 32)
    f = torch.nn.functional
    h = f.conv2d(torch.relu(f.conv2d(x, *w("conv2d1"), padding=1)), *w("conv2d2"), padding=1)
    expected = f.avg_pool2d(h, 2) + f.conv2d(f.avg_pool2d(x, 2), *w("conv2d0"))
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=1e-4)


def test_provenance_and_preset_choice(tmp_path):
    src = StudioGenerator(g_conv_dim=8, classes=10)
    result = load_source(_save(tmp_path, src, "G_ema"), "studiogan")
    assert (result.preset, result.kind, result.source["step"]) == ("studiogan-projection-32", "G", 2000)
    # An explicit preset is honoured (same topology, the checkpoint's widths and classes).
    assert load_source(_save(tmp_path, src, "G"), "studiogan", preset="studiogan-sngan-32").preset == "studiogan-sngan-32"


def test_bad_input(tmp_path):
    d = StudioDiscriminator(d_conv_dim=8).state_dict()
    with pytest.raises(KeyError, match=r"unexpected key 'linear2.weight' for a PyTorch-StudioGAN discriminator"):  # an AC / 2C head
        conv.convert(dict(d, **{"linear2.weight_orig": torch.zeros(10, 16)}))
    with pytest.raises(KeyError, match=r"missing keys \['blocks.1.c_sc.weight'"):
        conv.convert({k: v for k, v in d.items() if k != "blocks.1.0.conv2d0.weight_orig"})
    with pytest.raises(ValueError, match=r"'head.linear.bias' has shape \(2,\), expected \(1,\)"):
        conv.convert(dict(d, **{"linear1.bias": torch.zeros(2)}))
    with pytest.raises(ValueError, match="not a PyTorch-StudioGAN ResNet checkpoint"):
        conv.convert(SNResNetDiscriminator(32, width=0.125).state_dict())
    # A 64 px StudioGAN D (5 blocks) has no preset here.
    five = dict(d, **{f"blocks.4.0.conv2d1.{k}": v for k, v in ((k.rsplit(".", 1)[1], v) for k, v in d.items()
                                                               if k.startswith("blocks.3.0.conv2d1."))})
    with pytest.raises(ValueError, match="only 32 px is supported"):
        conv.convert(five)
