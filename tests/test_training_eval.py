"""Periodic evaluation inside the training loop (``TrainConfig.eval_every``, ``--eval-every``).

The Inception weights cannot be downloaded here, so the evaluator runs with a small stand-in feature
extractor registered through torch-fidelity's own ``register_feature_extractor`` (the real code
paths of ``specnorm_gan.metrics`` run). Checked: rows of ``eval.csv`` at the right iterations, the
best-FID checkpoint (loadable with ``weights_only=True``, holding the weights that scored the
minimum FID, never removed by keep-last-N, kept across resume), bit-identical training with
evaluation on or off, the curves PNG, and clear errors for a missing extra or bad settings.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import pytest
import torch
import torch.nn.functional as F

torch_fidelity = pytest.importorskip("torch_fidelity", reason="needs the [metrics] extra (torch-fidelity)")

from torch_fidelity import FeatureExtractorBase, register_feature_extractor  # noqa: E402
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY  # noqa: E402

from specnorm_gan import metrics as M  # noqa: E402
from specnorm_gan.data import ImageDataset  # noqa: E402
from specnorm_gan.training import TrainConfig, Trainer, load_checkpoint, models_from_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1 / 32  # 8-channel G, 4-channel D
FE = "specnorm-test-train-pool"
N_EVAL = 24  # generated images per evaluation (> the 12 feature dimensions, so FID is well defined)


class PoolFeatures(FeatureExtractorBase):
    """'pool': 2x2 average pool of each channel of x / 255 (12 dims); 'logits': a fixed linear map of it."""

    W = torch.randn(12, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def __init__(self, name: str, features_list: Any, **kwargs: Any) -> None:
        super().__init__(name, features_list)

    @staticmethod
    def get_provided_features_list() -> Any:
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

    def forward(self, x: torch.Tensor) -> Any:
        assert x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3
        pool = F.adaptive_avg_pool2d(x.double() / 255, 2).flatten(1)
        out = {"pool": pool.float(), "logits": (20 * (pool - 0.5) @ self.W).float()}
        return tuple(out[k] for k in self.features_list)


if FE not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(FE, PoolFeatures)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n: int = 40) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    return ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 10)


def _config(out: Optional[Path], **kw: Any) -> TrainConfig:
    base: Dict[str, Any] = dict(
        preset="cifar10-resnet", width=WIDTH, iterations=6, batch_size=4, g_batch_size=8, log_every=2,
        sample_every=0, ckpt_every=0, out_dir=str(out) if out is not None else None, progress=False,
        tensorboard=False, device="cpu", ema=True, ema_decay=0.5,
        eval_every=2, eval_samples=N_EVAL, eval_protocol="50k", eval_feature_extractor=FE,
    )
    base.update(kw)
    return TrainConfig(**base)


def _rows(path: Path) -> List[Dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _weights(t: Trainer) -> Dict[str, torch.Tensor]:
    out = {f"G.{k}": v for k, v in t.G.state_dict().items()}
    out.update({f"D.{k}": v for k, v in t.D.state_dict().items()})
    assert t.G_ema is not None
    out.update({f"G_ema.{k}": v for k, v in t.G_ema.state_dict().items()})
    return out


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """One run of 6 iterations with an evaluation every 2, keeping only the newest regular checkpoint."""
    tmp = tmp_path_factory.mktemp("eval")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(tmp / "torch_home"))  # reference statistics cache
        torch.set_num_threads(1)
        trainer = Trainer(_config(tmp / "run", ckpt_every=2, keep_checkpoints=1), _data())
        trainer.train()
    return {"trainer": trainer, "out": tmp / "run", "rng": trainer.state_dict()["rng"], "tmp": tmp}


# --------------------------------------------------------------------------------------------
def test_eval_rows_best_fid_checkpoint_and_curves(eval_run: Dict[str, Any]) -> None:
    out: Path = eval_run["out"]
    rows = _rows(out / "eval.csv")
    assert [int(r["iteration"]) for r in rows] == [2, 4, 6]
    for r in rows:
        assert r["protocol"] == f"50k-n{N_EVAL}" and r["feature_extractor"] == FE
        assert math.isfinite(float(r["fid"])) and float(r["fid"]) > 0
        assert 1.0 <= float(r["is_mean"]) <= 10.0 and math.isfinite(float(r["is_std"]))
        assert r["kid_mean"] == "" and r["intra_fid"] == ""  # not requested
    lines = [json.loads(s) for s in (out / "eval.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4, 6]
    assert [r["fid"] for r in lines] == [float(r["fid"]) for r in rows]  # csv keeps every digit
    assert lines[0]["pipeline"]["reference_size"] == 40  # default reference: the training data

    fids = [float(r["fid"]) for r in rows]
    best_it = [2, 4, 6][int(np.argmin(fids))]
    ckpts = out / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("*.pt")) == ["best_fid.pt", "ckpt_00000006.pt"]  # keep-last-N spares it
    raw = torch.load(ckpts / "best_fid.pt", weights_only=True)
    assert raw["iteration"] == best_it
    assert raw["eval"]["best_fid"]["fid"] == min(fids) and raw["eval"]["best_fid"]["iteration"] == best_it
    assert load_checkpoint(ckpts / "best_fid.pt")["iteration"] == best_it  # a regular training checkpoint
    assert eval_run["trainer"].best_fid["fid"] == min(fids)

    # the checkpoint holds the weights that scored the minimum: re-evaluate its EMA G from scratch
    _, _, G_ema, _, _ = models_from_checkpoint(ckpts / "best_fid.pt")
    assert G_ema is not None
    fresh = M.Evaluator(_data(), metrics="fid", protocol="50k", feature_extractor=FE, device="cpu", cache=False,
                        batch_size=8)  # the G batch of the run: conv results depend on the batch size in the last bits
    assert fresh.evaluate_generator(G_ema, num_samples=N_EVAL)["fid"] == pytest.approx(min(fids), rel=1e-9)

    png = (out / "eval_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluation_leaves_training_bit_identical_and_resume_keeps_the_best(
    eval_run: Dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(eval_run["tmp"] / "torch_home"))
    # evaluation off: the same weights, EMA, optimizer-driven state and random streams
    off = Trainer(_config(None, eval_every=0), _data())
    off.train()
    on: Trainer = eval_run["trainer"]
    w_on, w_off = _weights(on), _weights(off)
    assert w_on.keys() == w_off.keys() and all(torch.equal(w_on[k], w_off[k]) for k in w_on)
    assert torch.equal(on.noise_gen.get_state(), off.noise_gen.get_state())
    rng_off = off.state_dict()["rng"]
    assert torch.equal(eval_run["rng"]["torch"], rng_off["torch"])
    assert torch.equal(eval_run["rng"]["numpy"]["keys"], rng_off["numpy"]["keys"])

    # stop after iteration 4, resume: the best FID survives and the rows equal the uninterrupted run's
    run = tmp_path / "run"
    Trainer(_config(run), _data()).train(stop_at=4)
    first = _rows(run / "eval.csv")
    resumed = Trainer(_config(run), _data())
    resumed.resume(run)
    assert resumed.best_fid is not None
    assert resumed.best_fid["fid"] == min(float(r["fid"]) for r in first)
    resumed.train()
    keys = ("iteration", "is_mean", "is_std", "fid", "protocol", "reference")
    assert [[r[k] for k in keys] for r in _rows(run / "eval.csv")] == [
        [r[k] for k in keys] for r in _rows(eval_run["out"] / "eval.csv")
    ]
    a = torch.load(run / "checkpoints" / "best_fid.pt", weights_only=True)
    b = torch.load(eval_run["out"] / "checkpoints" / "best_fid.pt", weights_only=True)
    assert a["eval"]["best_fid"] == b["eval"]["best_fid"]
    assert all(torch.equal(a["G_ema"][k], b["G_ema"][k]) for k in b["G_ema"])


def test_missing_metrics_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    with pytest.raises(ImportError, match=r"eval_every=2 .*pip install specnorm-gan\[metrics\]"):
        Trainer(_config(None), _data())
    assert Trainer(_config(None, eval_every=0), _data()).evaluator is None  # not needed when off


def test_missing_matplotlib_skips_the_png_with_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with caplog.at_level(logging.INFO, logger="specnorm_gan.training"):
        Trainer(_config(tmp_path, iterations=2, eval_every=1), _data()).train()
    assert [int(r["iteration"]) for r in _rows(tmp_path / "eval.csv")] == [1, 2]
    notes = [r.getMessage() for r in caplog.records if "eval_curves.png" in r.getMessage()]
    assert len(notes) == 1 and "specnorm-gan[benchmark]" in notes[0]
    assert not (tmp_path / "eval_curves.png").exists()


def test_bad_evaluation_settings() -> None:
    with pytest.raises(ValueError, match="eval_samples must be an int >= 2"):
        Trainer(_config(None, eval_samples=1), _data())
    with pytest.raises(TypeError, match="eval_metrics"):
        Trainer(_config(None, eval_metrics=[]), _data())
    with pytest.raises(ValueError, match="unknown metric|bogus"):
        Trainer(_config(None, eval_metrics=("bogus",)), _data())
    # the paper protocol compares with 10K real images; the 40 training images are too few
    with pytest.raises(ValueError, match=r"10000 reference images .* has 40; use eval_protocol='50k'"):
        Trainer(_config(None, eval_protocol="paper"), _data())
    with pytest.raises(ValueError, match="intra_fid needs a conditional model"):
        Trainer(_config(None, eval_metrics=("fid", "intra_fid")), _data())


def test_cli_flags_reach_the_config(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("_example_train_eval", ROOT / "examples" / "train.py")
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    args = train.build_parser().parse_args([
        "--eval-every", "500", "--eval-samples", "1000", "--eval-metrics", "is", "fid", "kid",
        "--eval-reference", "cifar10-train", "--eval-protocol", "50k", "--eval-feature-extractor", FE,
        "--inception-weights", str(tmp_path / "w.pth"),
    ])
    upd = train.config_updates(args)
    assert upd == {"eval_every": 500, "eval_samples": 1000, "eval_metrics": ("is", "fid", "kid"),
                   "eval_reference": "cifar10-train", "eval_protocol": "50k", "eval_feature_extractor": FE,
                   "inception_weights": str(tmp_path / "w.pth")}
    cfg = TrainConfig(**upd)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg  # survives a checkpoint round trip


def test_train_script_evaluates_and_reports_a_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    spec = importlib.util.spec_from_file_location("_example_train_eval2", ROOT / "examples" / "train.py")
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    npz = tmp_path / "d.npz"
    np.savez(npz, x=_data().images.permute(0, 2, 3, 1).numpy(), y=np.arange(40) % 10)
    common = ["--preset", "cifar10-resnet", "--data", str(npz), "--width", str(WIDTH), "--iterations", "2",
              "--batch-size", "4", "--g-batch-size", "8", "--sample-every", "0", "--no-progress", "--no-tensorboard",
              "--no-allocator-tuning", "--device", "cpu", "--eval-every", "1", "--eval-samples", str(N_EVAL),
              "--eval-protocol", "50k", "--eval-feature-extractor", FE]
    assert train.main(common + ["--out", str(tmp_path / "run")]) == 0
    assert [int(r["iteration"]) for r in _rows(tmp_path / "run" / "eval.csv")] == [1, 2]
    assert (tmp_path / "run" / "checkpoints" / "best_fid.pt").is_file()
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    assert train.main(common + ["--out", str(tmp_path / "run2")]) == 2
    assert "pip install specnorm-gan[metrics]" in capsys.readouterr().err


def test_cli_no_fold_resampling_reaches_every_block() -> None:
    from specnorm_gan import DBlock, GBlock, OptimizedDBlock

    spec = importlib.util.spec_from_file_location("_example_train_fold", ROOT / "examples" / "train.py")
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    upd = train.config_updates(train.build_parser().parse_args(["--no-fold-resampling"]))
    assert upd == {"model_kwargs": {"fold_resampling": False}}
    trainer = Trainer(_config(None, **upd), _data())
    blocks = [m for net in (trainer.G, trainer.D) for m in net.modules() if isinstance(m, (GBlock, DBlock, OptimizedDBlock))]
    assert blocks and not any(b.fold_resampling for b in blocks)
