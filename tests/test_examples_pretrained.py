"""examples/sample.py and examples/evaluate.py accept a converted / pretrained folder as well as a training
checkpoint (issue 14 item 3), through ``specnorm_gan.pretrained.generator_from_path``."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from _chainer import gen_npz
from specnorm_gan import SNResNetDiscriminator, build_gan, save_pretrained
from specnorm_gan.convert.__main__ import main as convert_main
from specnorm_gan.pretrained import generator_from_path
from specnorm_gan.training import CheckpointError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name):
    spec = importlib.util.spec_from_file_location(f"_pretrained_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def converted(tmp_path):
    np.savez(tmp_path / "gen.npz", **gen_npz(16, 10))
    out = tmp_path / "converted"
    assert convert_main([str(tmp_path / "gen.npz"), "--from", "chainer", "--out", str(out)]) == 0
    return out


def test_sample_from_a_converted_folder(converted, tmp_path, capsys):
    out = tmp_path / "samples.npz"
    assert _example("sample").main([str(converted), "--num", "20", "--batch-size", "8", "--out", str(out)]) == 0
    with np.load(out) as d:
        x, y = d["x"], d["y"]
    assert x.shape == (20, 32, 32, 3) and x.dtype == np.uint8
    assert sorted(set(y.tolist())) == list(range(10))  # class-balanced labels of the 10-class G
    G, is_ema, info = generator_from_path(converted)
    assert not is_ema and not G.training and info["preset"] == "cifar10-projection"
    assert str(converted) in capsys.readouterr().out


def test_sample_refuses_a_discriminator_folder(tmp_path, capsys):
    save_pretrained(SNResNetDiscriminator(32, width=0.125), tmp_path / "d")
    assert _example("sample").main([str(tmp_path / "d"), "--out", str(tmp_path / "g.npz")]) == 2
    assert "holds a SNResNetDiscriminator; sampling needs a generator" in capsys.readouterr().err


def test_evaluate_loads_a_gan_folder_and_checks_the_preset(tmp_path):
    spec = build_gan("cifar10-projection", width=0.0625)
    folder = save_pretrained(spec, tmp_path / "gan")
    evaluate = _example("evaluate")
    G, info = evaluate.load_generator(str(folder))
    assert info["preset"] == "cifar10-projection" and info["num_classes"] == 10 and not G.training
    for k, v in spec.G.state_dict().items():
        assert torch.equal(G.state_dict()[k], v), k
    with pytest.raises(CheckpointError, match="holds a model of preset 'cifar10-projection', not 'cifar10-resnet'"):
        evaluate.load_generator(str(folder), expect_preset="cifar10-resnet")


def test_evaluate_script_end_to_end_on_a_pretrained_folder(converted, tmp_path, capsys):
    pytest.importorskip("torch_fidelity")
    import test_metrics  # registers its small test feature extractor  # noqa: F401

    x = torch.randint(0, 256, (60, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    np.savez(tmp_path / "real.npz", x=x.numpy(), y=(torch.arange(60) % 10).numpy())
    out = tmp_path / "eval.json"
    argv = ["--ckpt", str(converted), "--metrics", "fid", "--reference", str(tmp_path / "real.npz"), "--protocol", "50k", "--num-samples", "40",
            "--feature-extractor", test_metrics.FE, "--device", "cpu", "--cache-dir", str(tmp_path / "cache"),
            "--json", str(out), "--batch-size", "20"]
    assert _example("evaluate").main(argv) == 0
    result = json.loads(out.read_text())
    assert result["checkpoint"]["preset"] == "cifar10-projection" and np.isfinite(result["fid"])
