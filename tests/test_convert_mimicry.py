"""Output parity with the real torch-mimicry 0.1.16 models (installed with --no-deps in the test extra).

The source models are built from the package itself (kwotsin/mimicry: nets/sngan/sngan_{32,48,64,128}.py,
nets/cgan_pd/cgan_pd_{32,128}.py, modules/resblocks.py, modules/spectral_norm.py), saved the way its
BaseModel.save_checkpoint writes Trainer checkpoints, converted through the CLI and compared in eval and
train mode (the same u: mimicry's ``sn_u`` becomes ``weight_u``; after a train forward both hold the same
updated vector).
"""

import pytest
import torch

from _mimicry import import_mimicry
from specnorm_gan import SNResNetDiscriminator, from_pretrained
from specnorm_gan.convert import load_source
from specnorm_gan.convert import mimicry as conv
from specnorm_gan.pretrained import load_state_dict_checked
from specnorm_gan.convert.__main__ import main as convert_main

CASES = {
    # name: (module, G class, D class, resolution, classes)
    "sngan-32": ("nets.sngan.sngan_32", "SNGANGenerator32", "SNGANDiscriminator32", 32, 0),
    "cgan-pd-32": ("nets.cgan_pd.cgan_pd_32", "CGANPDGenerator32", "CGANPDDiscriminator32", 32, 10),
    "sngan-48": ("nets.sngan.sngan_48", "SNGANGenerator48", "SNGANDiscriminator48", 48, 0),
    "sngan-64": ("nets.sngan.sngan_64", "SNGANGenerator64", "SNGANDiscriminator64", 64, 0),
    "sngan-128": ("nets.sngan.sngan_128", "SNGANGenerator128", "SNGANDiscriminator128", 128, 0),
    "cgan-pd-128": ("nets.cgan_pd.cgan_pd_128", "CGANPDGenerator128", "CGANPDDiscriminator128", 128, 20),
}
SLOW = {"sngan-48", "sngan-64", "sngan-128", "cgan-pd-128"}


def _params(case):
    return [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in case]


def _randomize_bn(model, gen):
    # Non-trivial running statistics and affine parameters, so eval mode differs from train mode.
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)
        for name, p in model.named_parameters():
            if ".b" in name and ("embed" in name or name.endswith(("b1.weight", "b2.weight"))):
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)


def _convert(tmp_path, src_model, name, extra=()):
    ckpt_dir = tmp_path / "ckpt"
    src_model.save_checkpoint(directory=str(ckpt_dir), global_step=7, name="model.pth")  # Trainer's layout
    out = tmp_path / f"out-{name}"
    assert convert_main([str(ckpt_dir / "model.pth"), "--from", "mimicry", "--out", str(out), *extra]) == 0
    return from_pretrained(out)


def _build(case, kind):
    module, g_cls, d_cls, res, classes = CASES[case]
    cls = getattr(import_mimicry(module), g_cls if kind == "G" else d_cls)
    return cls(num_classes=classes) if classes else cls(), res, classes


@pytest.mark.parametrize("case", _params(CASES))
def test_generator_parity(tmp_path, case):
    torch.manual_seed(0)
    src, res, classes = _build(case, "G")
    _randomize_bn(src, torch.Generator().manual_seed(1))
    dst = _convert(tmp_path, src, "G")
    assert dst.resolution == res and dst.num_classes == classes
    z = torch.randn(3, 128)
    y = torch.tensor([0, 3, classes - 1]) if classes else None
    args = (z, y) if classes else (z,)
    with torch.no_grad():
        src.eval(), dst.eval()
        torch.testing.assert_close(dst(*args), src(*args), atol=2e-5, rtol=1e-4)
        src.train(), dst.train()
        torch.testing.assert_close(dst(*args), src(*args), atol=2e-5, rtol=1e-4)
    # The train forward updated the same BN statistics.
    final_bn = [m for n, m in src.named_children() if n.startswith("b") and not n.startswith("block")][0]
    torch.testing.assert_close(dst.final_bn.running_var, final_bn.running_var)


@pytest.mark.parametrize("case", _params(CASES))
def test_discriminator_parity(tmp_path, case):
    torch.manual_seed(0)
    src, res, classes = _build(case, "D")
    x = torch.randn(2, 3, res, res)
    y = torch.tensor([1, classes - 1]) if classes else None
    args = (x, y) if classes else (x,)
    with torch.no_grad():
        src.train()
        src(*args)  # advance u once, so it is not the random start
    dst = _convert(tmp_path, src, "D")
    with torch.no_grad():
        src.eval(), dst.eval()
        torch.testing.assert_close(dst(*args), src(*args).view(-1), atol=1e-5, rtol=1e-4)
        u_before = dst.blocks[0].c1.weight_u.clone()
        torch.testing.assert_close(dst(*args), src(*args).view(-1), atol=1e-5, rtol=1e-4)
        assert torch.equal(dst.blocks[0].c1.weight_u, u_before)  # eval changes no buffer
        src.train(), dst.train()
        torch.testing.assert_close(dst(*args), src(*args).view(-1), atol=1e-5, rtol=1e-4)
        # The same updated vectors: torch's SN in the blocks, mimicry's own SN in the head.
        torch.testing.assert_close(dst.blocks[1].c2.weight_u, src.block2.c2.weight_u, atol=1e-6, rtol=1e-5)
        head = [m for n, m in src.named_children() if n.startswith("l") and n != "l_y"][0]
        head_u = head.sn_u if hasattr(head, "sn_u") else head.weight_u  # the nets mix both SN classes
        torch.testing.assert_close(dst.head.linear.weight_u, head_u.view(-1), atol=1e-6, rtol=1e-5)


def test_d_shortcut_reads_relu_of_input():
    # The quirk is what makes the parity hold: without it the converted D differs from mimicry's.
    torch.manual_seed(0)
    src, _, _ = _build("sngan-32", "D")
    result = conv.convert(src.state_dict())
    plain = SNResNetDiscriminator(32, head_bias=True)
    load_state_dict_checked(plain, result.model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        src.train(), plain.train(), result.model.train()
        ref = src(x).view(-1)
        assert not torch.allclose(plain(x), ref, atol=1e-3)
        torch.testing.assert_close(result.model(x), ref, atol=1e-5, rtol=1e-4)


def test_d_48_and_64_told_apart_by_the_head_name(tmp_path):
    # Both have 5 blocks of the same widths; sngan_48.py names the head l5, sngan_64.py l6.
    for case, res in (("sngan-48", 48), ("sngan-64", 64)):
        torch.manual_seed(0)
        src, _, _ = _build(case, "D")
        path = tmp_path / f"{case}.pth"
        torch.save(src.state_dict(), path)
        result = load_source(path, "mimicry")
        assert (result.preset, result.model.resolution) == (f"mimicry-{case}", res)


def _d32_state():
    torch.manual_seed(0)
    src, _, _ = _build("sngan-32", "D")
    return src.state_dict()


def test_bad_input_unknown_format_and_other_architecture(tmp_path):
    path = tmp_path / "d.pth"
    torch.save(_d32_state(), path)
    with pytest.raises(ValueError, match=r"unknown source format 'tf'; expected one of \['mimicry', 'studiogan', 'mmgen', 'chainer'\]"):
        load_source(path, "tf")
    with pytest.raises(SystemExit):  # argparse: invalid choice
        convert_main([str(path), "--from", "tf", "--out", str(tmp_path / "o")])
    # This library's own state dict is another architecture for the mimicry converter.
    torch.save(SNResNetDiscriminator(32, width=0.125).state_dict(), path)
    with pytest.raises(ValueError, match="not a torch-mimicry SNGAN / cGAN-PD checkpoint"):
        load_source(path, "mimicry")
    assert convert_main([str(path), "--from", "mimicry", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_bad_input_missing_extra_key_and_shape():
    state = _d32_state()
    missing = {k: v for k, v in state.items() if k != "block3.c2.bias"}
    with pytest.raises(KeyError, match=r"missing keys \['blocks.2.c2.bias'\]"):
        conv.convert(missing)
    extra = dict(state, **{"block3.c3.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match=r"unexpected keys \['blocks.2.c3.weight'\]"):
        conv.convert(extra)
    bad = dict(state, **{"block3.c2.bias": torch.zeros(64)})
    with pytest.raises(ValueError, match=r"'blocks.2.c2.bias' has shape \(64,\), expected \(128,\)"):
        conv.convert(bad)
