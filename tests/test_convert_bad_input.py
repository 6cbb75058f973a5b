"""Bad input to the converters, through the CLI and the Python API, for every source format (issue 14 item 4):
an unknown format, a file of another format or architecture, a missing or extra key, a shape mismatch. Each
gives a clear error naming the key and the expected and found shapes; the CLI exits 2 and writes nothing;
a failed load changes no tensor of the model; an ambiguous preset asks for ``--preset``."""

import numpy as np
import pytest
import torch

from _chainer import dis_npz, gen_npz
from _mmgen import MMDiscriminator
from _studiogan import StudioGenerator
from specnorm_gan import SNResNetGenerator, from_pretrained, save_pretrained
from specnorm_gan.convert import convert_file, load_source
from specnorm_gan.convert.__main__ import main as convert_main
from specnorm_gan.pretrained import load_state_dict_checked


def _files(tmp_path):
    torch.manual_seed(0)
    studio = tmp_path / "studio.pth"
    torch.save({"state_dict": StudioGenerator(g_conv_dim=8, classes=10).state_dict()}, studio)
    chainer = tmp_path / "gen.npz"
    np.savez(chainer, **gen_npz(16, 10))
    mm = tmp_path / "mmgen_d.pth"
    torch.save(MMDiscriminator(32, 16, 10).state_dict(), mm)
    return {"studiogan": studio, "chainer": chainer, "mmgen": mm}


def _cli(args, capsys):
    rc = convert_main([str(a) for a in args])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("src_fmt,as_fmt,message", [
    ("studiogan", "mimicry", "not a torch-mimicry SNGAN / cGAN-PD checkpoint"),
    ("studiogan", "mmgen", "not an mmgeneration SNGAN checkpoint"),
    ("mmgen", "studiogan", "not a PyTorch-StudioGAN ResNet checkpoint"),
    ("chainer", "studiogan", "not a torch.save checkpoint"),
    ("studiogan", "chainer", "not a numpy .npz archive"),
])
def test_a_file_of_another_format(tmp_path, capsys, src_fmt, as_fmt, message):
    path = _files(tmp_path)[src_fmt]
    with pytest.raises(ValueError, match=message):
        load_source(path, as_fmt)
    rc, err = _cli([path, "--from", as_fmt, "--out", tmp_path / "out"], capsys)
    assert rc == 2 and message in err and err.startswith("error:")
    assert not (tmp_path / "out").exists()


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"unknown source format 'pytorch-gan-zoo'; expected one of \['mimicry', 'studiogan', 'mmgen', 'chainer'\]"):
        convert_file(tmp_path / "x.pth", "pytorch-gan-zoo", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_source(tmp_path / "nowhere.pth", "mimicry")


def test_shape_mismatch_and_missing_extra_keys_through_the_cli(tmp_path, capsys):
    state = StudioGenerator(g_conv_dim=8).state_dict()
    path = tmp_path / "g.pth"
    torch.save({"state_dict": dict(state, **{"conv2d5.bias": torch.zeros(4)})}, path)
    rc, err = _cli([path, "--from", "studiogan", "--out", tmp_path / "o1"], capsys)
    assert rc == 2 and "'conv_out.bias' has shape (4,), expected (3,)" in err
    torch.save({"state_dict": {k: v for k, v in state.items() if k != "bn4.running_var"}}, path)
    rc, err = _cli([path, "--from", "studiogan", "--out", tmp_path / "o2"], capsys)
    assert rc == 2 and "missing keys ['final_bn.running_var']" in err
    npz = gen_npz(16, 0)
    npz["block2/c3/W"] = np.zeros(1, "f")
    np.savez(tmp_path / "g.npz", **npz)
    rc, err = _cli([tmp_path / "g.npz", "--from", "chainer", "--out", tmp_path / "o3"], capsys)
    assert rc == 2 and "unexpected key 'blocks.0.c3.W'" in err
    assert not any((tmp_path / f"o{i}").exists() for i in (1, 2, 3))


def test_preset_inferred_when_unambiguous_else_asked_for(tmp_path, capsys):
    files = _files(tmp_path)
    assert load_source(files["chainer"], "chainer").preset == "cifar10-projection"  # inferred
    assert load_source(files["studiogan"], "studiogan").preset == "studiogan-projection-32"
    rc, err = _cli([files["mmgen"], "--from", "mmgen", "--out", tmp_path / "o"], capsys)
    assert rc == 2 and "fits several presets ['mmgen-cifar10-projection', 'mmgen-cifar10-projection-inplace']" in err
    assert "pass --preset NAME" in err and not (tmp_path / "o").exists()
    rc, _ = _cli([files["mmgen"], "--from", "mmgen", "--preset", "mmgen-cifar10-projection", "--out", tmp_path / "o"], capsys)
    assert rc == 0 and (tmp_path / "o" / "config.json").is_file()
    with pytest.raises(ValueError, match="unknown preset|no preset"):
        load_source(files["mmgen"], "mmgen", preset="mmgen-cifar11")


def test_a_failed_load_changes_nothing(tmp_path):
    # The bad entry comes last in the state dict: a loader copying key by key would have half-loaded the model.
    G = SNResNetGenerator(32, width=0.125)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    source = SNResNetGenerator(32, width=0.125).state_dict()
    last = list(source)[-1]
    bad = dict(source, **{last: torch.zeros(tuple(source[last].shape) + (2,))})
    with pytest.raises(ValueError, match=rf"'{last}' has shape"):
        load_state_dict_checked(G, bad)
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k
    # The same through a pretrained folder whose weights lost a key: from_pretrained refuses it.
    folder = save_pretrained(SNResNetGenerator(32, width=0.125), tmp_path / "f")
    import safetensors.torch as st

    tensors = st.load_file(str(folder / "model.safetensors"))
    del tensors["blocks.2.c1.bias"]
    st.save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(KeyError, match=r"missing keys \['blocks.2.c1.bias'\]"):
        from_pretrained(folder)


def test_d_checkpoint_of_an_unsupported_size(tmp_path):
    d = dis_npz(16, 10)
    d = {k: v for k, v in d.items() if not k.startswith("block4/")}  # 3 blocks: no official design
    np.savez(tmp_path / "d.npz", **d)
    with pytest.raises(ValueError, match=r"discriminator \(3 blocks\) checkpoint matches none of the supported architectures; pass --preset"):
        load_source(tmp_path / "d.npz", "chainer")
