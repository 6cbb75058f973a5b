"""benchmarks/small_data.py cannot rot: the same budget for every variant, D's output gap against a
float64 recomputation, and a tiny end-to-end run (three variants x two seeds through examples/train.py,
scored twice with identical numbers) on fixture data written in the real ``.npz`` format."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "small_data.py"


def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))  # the script imports its sibling helpers
    return _module(SCRIPT, "small_data_benchmark")


def _train_module() -> ModuleType:
    return _module(ROOT / "examples" / "train.py", "_small_data_train")


def _args(**kw: object) -> argparse.Namespace:
    base = dict(preset="cifar10-cnn", data_dir="/data", max_images=2500, width=0.5, iterations=1500, out="/tmp/sd",
                log_every=50, ckpt_every=250, batch_size=0, ada_speed=10_000.0)
    base.update(kw)
    return argparse.Namespace(**base)


def test_variants_share_the_budget_and_differ_only_in_the_augmentation() -> None:
    sd = _load()
    train = _train_module()
    args = _args()
    fields = {}
    for variant in sd.VARIANTS:
        cmd = sd.train_command(variant, 1, args)
        parsed = train.build_parser({}, None, None).parse_args(cmd[2:])
        upd = train.config_updates(parsed)
        fields[variant] = upd
        assert upd["iterations"] == 1500 and upd["width"] == 0.5 and upd["seed"] == 1
        assert upd["out_dir"] == str(sd.run_dir(args.out, variant, 1))
        assert parsed.max_images == 2500
    budget = {k: v for k, v in fields["none"].items() if k != "out_dir"}
    for variant, upd in fields.items():
        aug = {k: v for k, v in upd.items() if k != "out_dir" and budget.get(k, object()) != v}
        expected = {"none": {}, "diffaugment": {"diffaugment": "color,translation,cutout"},
                    "ada": {"ada_target": 0.6, "ada_speed_images": 10_000.0, "diffaugment": ""}}[variant]
        assert aug == expected, variant
    with pytest.raises(ValueError, match="unknown variant 'adaa'; expected one of"):
        sd.train_command("adaa", 0, args)


def test_d_mean_output_matches_float64_recomputation() -> None:
    sd = _load()
    torch.manual_seed(0)
    w = torch.randn(3 * 8 * 8)

    class LinearD(torch.nn.Module):
        num_classes = 0

        def forward(self, x: torch.Tensor, y: object = None) -> torch.Tensor:
            return x.flatten(1) @ w

    images = torch.randint(0, 256, (7, 3, 8, 8), dtype=torch.uint8)
    expected = float(((images.double() / 127.5 - 1).flatten(1) @ w.double()).mean())
    got = sd.d_mean_output(LinearD(), images, None, batch_size=3)  # batches of 3, 3 and 1
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_mean_sd_is_numpy_with_ddof_1() -> None:
    sd = _load()
    rows = [{"fd": 1.0}, {"fd": 2.5}, {"fd": 4.0}, {"fd": None}]
    m, s = sd._mean_sd(rows, "fd")
    assert m == pytest.approx(np.mean([1.0, 2.5, 4.0])) and s == pytest.approx(np.std([1.0, 2.5, 4.0], ddof=1))


def _fixture_npz(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    base = rng.integers(0, 256, (10, 1, 1, 3))  # one colour per class, plus noise
    x = np.clip(base[y] + rng.normal(0, 30, (n, 32, 32, 3)), 0, 255).astype(np.uint8)
    np.savez_compressed(path, x=x, y=y.astype(np.int64))


def test_end_to_end_tiny_run_scores_every_variant_reproducibly(tmp_path: Path) -> None:
    pytest.importorskip("torch_fidelity", reason="needs the metrics extra (torch-fidelity)")
    sd = _load()
    data = tmp_path / "data"
    data.mkdir()
    _fixture_npz(data / "cifar10_train.npz", 260, 0)
    _fixture_npz(data / "cifar10_test.npz", 240, 1)
    out = tmp_path / "runs"
    common = ["--out", str(out), "--iterations", "2", "--width", "0.0625", "--batch-size", "4", "--max-images", "200",
              "--seeds", "0", "1", "--num-samples", "200", "--kid-subsets", "3", "--ckpt-every", "1", "--log-every", "1",
              "--data-dir", str(data), "--cache", str(tmp_path / "cache"), "--jobs", "2"]
    threads = torch.get_num_threads()
    try:
        assert sd.main(common + ["--json", str(tmp_path / "a.json"), "--markdown", str(tmp_path / "a.md")]) == 0
        logs = {p: p.read_text() for p in out.glob("*/train.log")}
        assert sd.main(common + ["--score-only", "--json", str(tmp_path / "b.json")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert {p: p.read_text() for p in out.glob("*/train.log")} == logs  # scored again, nothing retrained
    a, b = json.loads((tmp_path / "a.json").read_text()), json.loads((tmp_path / "b.json").read_text())
    assert len(a["rows"]) == 6 and {r["variant"] for r in a["rows"]} == set(sd.VARIANTS)
    keys = ("fd", "kid", "class_tv", "d_train", "d_held", "ada_p")
    assert [[r[k] for k in keys] for r in a["rows"]] == [[r[k] for k in keys] for r in b["rows"]]
    for r in a["rows"]:
        assert r["iteration"] == 2 and np.isfinite(r["fd"]) and r["fd"] >= 0
        assert r["d_gap"] == pytest.approx(r["d_train"] - r["d_held"])
        assert (r["ada_p"] is not None) == (r["variant"] == "ada")
        if r["variant"] == "ada":
            assert 0.0 <= r["ada_p"] <= 1.0
    # the floor: the training subset itself scores far better than an untrained generator
    assert all(f["fd"] < min(r["fd"] for r in a["rows"]) for f in a["floors"])
    table = (tmp_path / "a.md").read_text()
    for variant in sd.VARIANTS:
        assert f"| {variant} | 2 |" in table
