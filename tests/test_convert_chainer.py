"""Official Chainer ``sngan_projection`` .npz snapshots -> the official presets (``cifar10-projection``, ...).

Chainer does not run on this torch stack, so the fixtures are .npz files written with numpy in the layout
``chainer.serializers.save_npz`` produces (link-path keys, SN ``u``, BN ``avg_mean`` / ``avg_var`` / ``N``), and
the expected outputs come from ``tests/_chainer.py``, a plain-torch recomputation of the published forward
(files and commits cited there), at 32 and 128 px. Parity in float64.
"""

import numpy as np
import pytest
import torch

from _chainer import dis_npz, dis_forward, gen_forward, gen_npz
from specnorm_gan import GANSpec, from_pretrained
from specnorm_gan.convert import chainer as conv
from specnorm_gan.convert import load_source
from specnorm_gan.convert.__main__ import main as convert_main


def _write(path, arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("classes", [10, 0])
def test_generator_mapping_and_forward(tmp_path, classes):
    npz = gen_npz(ch=16, classes=classes)
    out = tmp_path / "G"
    assert convert_main([str(_write(tmp_path / "ResNetGenerator_50000.npz", npz)), "--from", "chainer", "--out", str(out)]) == 0
    G = from_pretrained(out)
    assert (G.resolution, G.num_classes, list(G.arch.channels)) == (32, classes, [16] * 4)
    s = G.state_dict()
    # Key by key (W and b keep torch's layout; cBN gammas/W is the per-class gain; N is dropped).
    assert torch.equal(s["dense.weight"], torch.from_numpy(npz["l1/W"]))
    assert torch.equal(s["blocks.1.c_sc.bias"], torch.from_numpy(npz["block3/c_sc/b"]))
    assert torch.equal(s["final_bn.running_var"], torch.from_numpy(npz["b5/avg_var"]))
    assert torch.equal(s["conv_out.weight"], torch.from_numpy(npz["c5/W"]))
    if classes:
        assert torch.equal(s["blocks.2.b2.weight"], torch.from_numpy(npz["block4/b2/gammas/W"]))
        assert torch.equal(s["blocks.0.b1.bn.running_mean"], torch.from_numpy(npz["block2/b1/avg_mean"]))
    else:
        assert torch.equal(s["blocks.0.b1.weight"], torch.from_numpy(npz["block2/b1/gamma"]))
    assert G.final_bn.eps == 2e-5 and G.blocks[0].upsample_mode == "nearest"
    G.double()
    z = torch.randn(3, 128, dtype=torch.float64)
    y = torch.tensor([0, 4, 9]) if classes else None
    with torch.no_grad():
        torch.testing.assert_close(G.eval()(z, y), gen_forward(npz, z, y), atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(G.train()(z, y), gen_forward(npz, z, y, train=True), atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("classes", [10, 0])
def test_discriminator_mapping_and_forward(tmp_path, classes):
    npz = dis_npz(ch=16, classes=classes)
    result = load_source(_write(tmp_path / "SNResNetDiscriminator_50000.npz", npz), "chainer")
    assert result.preset == ("cifar10-projection" if classes else "cifar10-resnet")
    D = result.model
    s = D.state_dict()
    assert torch.equal(s["blocks.1.c_sc.weight"], torch.from_numpy(npz["block2/c_sc/W"]))
    assert torch.equal(s["blocks.3.c2.weight_u"], torch.from_numpy(npz["block4/c2/u"]).view(-1))  # u kept
    assert D.blocks[2].c_sc is None and D.head.linear.bias is None  # snresnet_32: l5 has nobias=True
    D.double()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    y = torch.tensor([3, 9]) if classes else None
    with torch.no_grad():
        u0 = D.blocks[1].c1.weight_u.clone()
        for _ in range(2):  # max_sv.py iterates from the stored u on every forward; eval stores nothing
            torch.testing.assert_close(D.eval()(x, y), dis_forward(npz, x, y), atol=1e-10, rtol=1e-9)
        assert torch.equal(D.blocks[1].c1.weight_u, u0)
        torch.testing.assert_close(D.train()(x, y), dis_forward(npz, x, y), atol=1e-10, rtol=1e-9)
        # Training mode stores the iterated u, as max_sv.py's caller does: u <- n(n(u W) W^T).
        w = torch.from_numpy(npz["block2/c1/W"]).double().flatten(1)
        v = torch.from_numpy(npz["block2/c1/u"]).double() @ w
        u = (v / v.norm()) @ w.T
        torch.testing.assert_close(D.blocks[1].c1.weight_u, (u / u.norm()).view(-1), atol=1e-10, rtol=1e-9)


def test_trainer_snapshot_becomes_a_gan_folder(tmp_path):
    # extensions.snapshot() of the official train.py: both models under the updater, plus optimizer state.
    g, d = gen_npz(16, 10), dis_npz(16, 10)
    arrays = {**{f"updater/model:gen/{k}": v for k, v in g.items()}, **{f"updater/model:dis/{k}": v for k, v in d.items()},
              "updater/optimizer:gen/t": np.array(5), "updater/iteration": np.array(50000)}
    out = tmp_path / "GAN"
    assert convert_main([str(_write(tmp_path / "snapshot_iter_50000.npz", arrays)), "--from", "chainer", "--out", str(out)]) == 0
    spec = from_pretrained(out)
    assert isinstance(spec, GANSpec) and spec.preset.name == "cifar10-projection"
    z, y = torch.randn(2, 128, dtype=torch.float64), torch.tensor([1, 2])
    with torch.no_grad():
        torch.testing.assert_close(spec.G.double().eval()(z, y), gen_forward(g, z, y), atol=1e-10, rtol=1e-9)


def test_bad_input(tmp_path):
    g = gen_npz(16, 10)
    with pytest.raises(ValueError, match="not a numpy .npz archive"):
        conv.read(_write_text(tmp_path / "x.npz"))
    with pytest.raises(ValueError, match="not a Chainer sngan_projection snapshot"):
        conv.convert({"foo/W": torch.zeros(1)})
    bad = {k: torch.from_numpy(np.asarray(v)) for k, v in g.items()}
    bad["block3/c1/b"] = torch.zeros(15)
    with pytest.raises(ValueError, match=r"'blocks.1.c1.bias' has shape \(15,\), expected \(16,\)"):
        conv.convert(bad)
    bad = {k: torch.from_numpy(np.asarray(v)) for k, v in g.items() if k != "block2/b2/betas/W"}
    with pytest.raises(KeyError, match=r"missing keys \['blocks.0.b2.bias'\]"):
        conv.convert(bad)


def _write_text(path):
    path.write_text("not an archive")
    return path


def test_128_px_models_need_the_preset_when_tiny_and_match_the_recomputation(tmp_path):
    # gen_models/resnet.py + dis_models/snresnet.py: the output conv is named l7, the D head l7 has a bias.
    g, d = gen_npz(2, 10, res=128), dis_npz(2, 10, res=128)
    tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in g.items()}
    # Reduced widths fit both 128 px conditional configs (ImageNet, dog & cat small): --preset decides.
    with pytest.raises(ValueError, match=r"fits several presets \['dogcat128-projection', 'imagenet128-projection'\]"):
        conv.convert(tensors)
    G = conv.convert(tensors, "imagenet128-projection").model.double()
    assert list(G.arch.channels) == [32, 32, 16, 8, 4, 2]
    D = conv.convert({k: torch.from_numpy(np.asarray(v)) for k, v in d.items()}, "imagenet128-projection").model.double()
    assert list(D.arch.channels) == [2, 4, 8, 16, 32, 32] and D.blocks[5].c_sc is None and D.head.linear.bias is not None
    z, y = torch.randn(2, 128, dtype=torch.float64), torch.tensor([0, 9])
    x = torch.randn(2, 3, 128, 128, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(G.eval()(z, y), gen_forward(g, z, y), atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(G.train()(z, y), gen_forward(g, z, y, train=True), atol=1e-10, rtol=1e-9)
        torch.testing.assert_close(D.eval()(x, y), dis_forward(d, x, y), atol=1e-10, rtol=1e-9)
