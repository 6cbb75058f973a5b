"""BigGAN's sampling options through the example scripts: ``--truncation`` and ``--standing-stats`` of
sample.py, interpolate.py and evaluate.py (the z each generator forward actually receives is recorded
with a global forward pre-hook), ``--ortho-weight`` of train.py, and their bad values."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import numpy as np
import pytest
import torch
from torch import nn

from specnorm_gan.biggan import BigGANGenerator
from specnorm_gan.data import ImageDataset
from specnorm_gan.training import TrainConfig, Trainer
from specnorm_gan.truncation import TruncatedGenerator, truncate_latents

ROOT = Path(__file__).resolve().parents[1]


def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_example_biggan_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: Any) -> Path:
    out = tmp_path_factory.mktemp("biggan_run")
    data = ImageDataset(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8), torch.arange(16) % 10)
    cfg = TrainConfig(preset="cifar10-biggan", width=1 / 16, iterations=1, out_dir=str(out), ema=True, tensorboard=False,
                      progress=False, batch_size=4, g_batch_size=4, device="cpu")
    Trainer(cfg, data).save_checkpoint()
    return out


@pytest.fixture
def calls() -> Iterator[List[Tuple[bool, torch.Tensor]]]:
    """(training mode, z) of every BigGANGenerator forward while the test runs."""
    seen: List[Tuple[bool, torch.Tensor]] = []

    def hook(module: nn.Module, args: Tuple[Any, ...]) -> None:
        if isinstance(module, BigGANGenerator):
            seen.append((module.training, args[0].detach().clone()))

    handle = nn.modules.module.register_module_forward_pre_hook(hook)
    yield seen
    handle.remove()


def _z(calls: List[Tuple[bool, torch.Tensor]], training: bool) -> torch.Tensor:
    return torch.cat([z for t, z in calls if t == training])


def test_sample_truncation_bounds_every_z(run_dir: Path, tmp_path: Path, calls: List[Any]) -> None:
    sample = _example("sample")
    assert sample.main([str(run_dir), "--num", "40", "--batch-size", "20", "--out", str(tmp_path / "plain.npz")]) == 0
    plain = _z(calls, False)
    assert plain.shape == (40, 80) and float(plain.abs().max()) > 1.5  # untruncated z leave [-0.3, 0.3]
    calls.clear()
    assert sample.main([str(run_dir), "--num", "40", "--batch-size", "20", "--truncation", "0.3", "--out", str(tmp_path / "t.npz")]) == 0
    z = _z(calls, False)
    assert z.shape == (40, 80) and float(z.abs().max()) <= 0.3
    # the truncated normal on [-0.3, 0.3]: nearly uniform there, std close to 0.3 / sqrt(3), mean 0
    assert float(z.abs().max()) > 0.29 and abs(float(z.std()) - 0.3 / math.sqrt(3)) < 0.01 and abs(float(z.mean())) < 0.01
    with np.load(tmp_path / "t.npz") as d:
        assert d["x"].shape == (40, 32, 32, 3)


def test_sample_standing_stats_runs_n_training_forwards(run_dir: Path, tmp_path: Path, calls: List[Any]) -> None:
    sample = _example("sample")
    args = [str(run_dir), "--num", "6", "--batch-size", "3", "--out"]
    assert sample.main(args + [str(tmp_path / "a.npz")]) == 0
    assert [t for t, _ in calls] == [False, False]
    calls.clear()
    assert sample.main(args + [str(tmp_path / "b.npz"), "--standing-stats", "4", "--truncation", "0.5"]) == 0
    train = [z for t, z in calls if t]
    assert len(train) == 4 and all(z.shape == (3, 80) and float(z.abs().max()) <= 0.5 for z in train)
    assert [t for t, _ in calls][4:] == [False, False]  # then sampling, in eval mode
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert not np.array_equal(a["x"], b["x"])  # new BN statistics (and truncated z) change the images


def test_interpolate_truncation_bounds_every_z(run_dir: Path, tmp_path: Path, calls: List[Any]) -> None:
    interpolate = _example("interpolate")
    for extra in ([], ["--lerp"]):
        calls.clear()
        assert interpolate.main([str(run_dir), "--rows", "6", "--steps", "5", "--truncation", "0.4",
                                 "--out", str(tmp_path / "i.png"), *extra]) == 0
        z = _z(calls, False)
        assert z.shape == (30, 80) and float(z.abs().max()) <= 0.4 + 1e-7
    assert (tmp_path / "i.png").is_file()


def test_truncate_latents_is_the_truncated_normal() -> None:
    # The inverse-CDF map against the closed form of the truncated normal's CDF, written here with math.erf.
    t = 0.7
    z = truncate_latents(torch.randn(200_000, generator=torch.Generator().manual_seed(0)), t)
    assert float(z.abs().max()) <= t
    phi = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))  # noqa: E731
    for q in (-0.5, 0.0, 0.3, 0.6):
        want = (phi(q) - phi(-t)) / (phi(t) - phi(-t))
        assert abs(float((z <= q).double().mean()) - want) < 0.005
    G = BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125).eval()
    zn = torch.randn(3, 80)
    y = torch.tensor([1, 2, 3])
    torch.testing.assert_close(TruncatedGenerator(G, t)(zn, y), G(truncate_latents(zn, t), y))


def test_evaluate_truncation_and_standing_stats(run_dir: Path, tmp_path: Path, calls: List[Any]) -> None:
    pytest.importorskip("torch_fidelity", reason="needs the [metrics] extra (torch-fidelity)")
    from torch_fidelity import FeatureExtractorBase, register_feature_extractor
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    class MeanFeatures(FeatureExtractorBase):  # 'pool': channel means; 'logits': a fixed 10-class map of them
        def __init__(self, name: str, features_list: Any, **kwargs: Any) -> None:
            super().__init__(name, features_list)

        @staticmethod
        def get_provided_features_list() -> Tuple[str, str]:
            return ("pool", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return {"isc": "logits", "fid": "pool", "kid": "pool", "prc": "pool"}[metric]

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        @staticmethod
        def get_dummy_input_for_compile() -> torch.Tensor:
            return torch.zeros(1, 3, 32, 32, dtype=torch.uint8)

        def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
            pool = x.double().mean((2, 3)).float() / 255
            out = {"pool": pool, "logits": pool @ torch.linspace(-1, 1, 30).view(3, 10)}
            return tuple(out[k] for k in self.features_list)

    if "specnorm-test-mean" not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor("specnorm-test-mean", MeanFeatures)
    evaluate = _example("evaluate")
    out = tmp_path / "eval.json"
    argv = ["--ckpt", str(run_dir), "--metrics", "is", "--num-samples", "20", "--batch-size", "10",
            "--feature-extractor", "specnorm-test-mean", "--device", "cpu", "--no-cache", "--json", str(out)]
    assert evaluate.main(argv + ["--truncation", "0.25", "--standing-stats", "2"]) == 0
    assert [t for t, _ in calls][:2] == [True, True]  # standing statistics first
    assert all(float(z.abs().max()) <= 0.25 for _, z in calls)
    assert _z(calls, False).shape == (20, 80)
    import json

    result = json.loads(out.read_text())
    assert result["sampling"] == {"truncation": 0.25, "standing_stats_batches": 2} and result["protocol"].endswith("-t0.25")


@pytest.mark.parametrize("flags, message", [
    (["--truncation", "0"], "--truncation must be a finite float > 0"),
    (["--truncation", "-1"], "--truncation must be a finite float > 0"),
    (["--truncation", "nan"], "--truncation must be a finite float > 0"),
    (["--truncation", "inf"], "--truncation must be a finite float > 0"),
    (["--standing-stats", "-2"], "--standing-stats must be an int >= 0"),
])
@pytest.mark.parametrize("script", ["sample", "interpolate", "evaluate"])
def test_bad_sampling_options_are_refused_and_write_nothing(
    script: str, flags: List[str], message: str, run_dir: Path, tmp_path: Path, capsys: Any, calls: List[Any]
) -> None:
    out = tmp_path / "out"
    if script == "evaluate":
        argv = ["--ckpt", str(run_dir), "--metrics", "is", "--json", str(out / "e.json"), *flags]
    else:
        argv = [str(run_dir), "--out", str(out / "x.png"), *flags]
    before = sorted(p.name for p in run_dir.rglob("*"))
    assert _example(script).main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists() and sorted(p.name for p in run_dir.rglob("*")) == before and not calls


def test_train_ortho_weight_flag(tmp_path: Path, capsys: Any) -> None:
    x = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(10, dtype=np.int64))
    tiny = ["--preset", "cifar10-biggan", "--data", str(tmp_path / "d.npz"), "--no-allocator-tuning", "--width", "0.0625",
            "--iterations", "1", "--batch-size", "2", "--g-batch-size", "2", "--no-progress", "--no-tensorboard",
            "--sample-every", "0", "--threads", "1"]
    bad = tmp_path / "bad"
    assert _example("train").main([*tiny, "--ortho-weight", "-1", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "ortho_weight must be a finite float >= 0, got -1.0" in err and not bad.exists()
    run = tmp_path / "run"
    assert _example("train").main([*tiny, "--ortho-weight", "1e-4", "--out", str(run)]) == 0
    ckpt = torch.load(next((run / "checkpoints").iterdir()), weights_only=True)
    assert ckpt["config"]["ortho_weight"] == 1e-4
