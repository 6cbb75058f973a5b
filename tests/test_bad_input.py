"""Bad input through the training command line (examples/train.py main()): each is refused before
anything is written, with an ``error:`` line naming the problem and the expected value (issue 17,
items 1-4); an image folder with an unreadable file trains on the rest after one warning."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TINY = ["--no-allocator-tuning", "--width", "0.03125", "--iterations", "1", "--batch-size", "2", "--g-batch-size", "2",
        "--no-progress", "--no-tensorboard", "--sample-every", "0"]


def _train_main() -> Callable[[List[str]], int]:
    spec = importlib.util.spec_from_file_location("_bad_input_train", EXAMPLES / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _npz(path: Path, n: int, labels: Any = None) -> Path:
    x = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    arrays: Dict[str, np.ndarray] = {"x": x}
    if labels is not None:
        arrays["y"] = np.asarray(labels, dtype=np.int64)
    np.savez(path, **arrays)
    return path


def _png(path: Path, value: int, truncate: bool = False) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) if truncate else np.full((32, 32, 3), value, np.uint8)).save(path)
    if truncate:  # a real PNG cut to half its bytes: the header opens, the pixel data is missing
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


def _files(folder: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _case(name: str, tmp: Path) -> List[str]:
    """Writes the bad input of case ``name`` under ``tmp`` and returns the command line."""
    if name == "negative-labels":
        return ["--preset", "cifar10-resnet", "--data", str(_npz(tmp / "neg.npz", 6, [0, -1, 2, 1, -1, 0]))]
    if name == "labels-beyond-classes":
        labels = [0, 10, 3, 12, 9, 10]  # the projection preset has 10 classes
        return ["--preset", "cifar10-projection", "--data", str(_npz(tmp / "big.npz", 6, labels))]
    if name == "num-classes-flag":
        return ["--preset", "cifar10-resnet", "--num-classes", "2", "--data", str(_npz(tmp / "three.npz", 6, [0, 1, 2, 0, 1, 2]))]
    if name == "no-images":
        return ["--preset", "cifar10-resnet", "--data", str(_npz(tmp / "empty.npz", 0, []))]
    if name == "unreadable-folder":
        pytest.importorskip("PIL")
        _png(tmp / "faces" / "a.png", 1, truncate=True)
        _png(tmp / "faces" / "b.png", 2, truncate=True)
        return ["--preset", "cifar10-resnet", "--data", str(tmp / "faces")]
    threads = {"threads-0": "0", "threads-negative": "-4"}[name]
    return ["--preset", "cifar10-resnet", "--data", str(_npz(tmp / "ok.npz", 6, [0, 1, 2, 0, 1, 2])), "--threads", threads]


def _expected(name: str, tmp: Path) -> str:
    return {
        "negative-labels": rf"^error: cannot load .*neg\.npz: .*neg\.npz: 'y' holds 2 negative labels: -1 \(2 times\); "
                           rf"labels must be class indices >= 0$",
        "labels-beyond-classes": rf"^error: .*big\.npz holds 3 labels outside \[0, 10\): 10 \(2 times\), 12 \(1 time\); "
                                 rf"labels must be class indices in \[0, number of classes = 10\)$",
        "num-classes-flag": rf"^error: .*three\.npz holds 2 labels outside \[0, 2\): 2 \(2 times\);",
        "no-images": rf"^error: cannot load .*empty\.npz: no images in {re.escape(str(tmp / 'empty.npz'))} ",
        "unreadable-folder": rf"^error: cannot load .*faces: none of the 2 image files under {re.escape(str(tmp / 'faces'))} "
                             rf"could be decoded: .*a\.png .*; .*b\.png ",
        "threads-0": r"^error: --threads must be a positive integer, got 0$",
        "threads-negative": r"^error: --threads must be a positive integer, got -4$",
    }[name]


@pytest.mark.parametrize("name", ["negative-labels", "labels-beyond-classes", "num-classes-flag", "no-images",
                                  "unreadable-folder", "threads-0", "threads-negative"])
def test_cli_refuses_bad_input_before_writing_anything(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _case(name, tmp_path)
    run = tmp_path / "run"
    before = _files(tmp_path)
    threads = torch.get_num_threads()
    capsys.readouterr()
    code = _train_main()([*args, *TINY, "--out", str(run)])
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(_expected(name, tmp_path), errors[0]), err
    assert "Traceback" not in err
    assert not run.exists() and _files(tmp_path) == before  # no run folder, inputs untouched
    assert torch.get_num_threads() == threads


def test_cli_trains_on_an_image_folder_without_its_unreadable_file(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    for i in range(4):
        _png(tmp_path / "faces" / f"{i}.png", 40 * i)
    _png(tmp_path / "faces" / "9_cut.png", 9, truncate=True)
    run = tmp_path / "run"
    with pytest.warns(UserWarning) as record:
        code = _train_main()(["--preset", "cifar10-resnet", "--data", str(tmp_path / "faces"), *TINY, "--out", str(run)])
    assert code == 0
    skipped = [str(w.message) for w in record if "could not be decoded" in str(w.message)]
    assert len(skipped) == 1, [str(w.message) for w in record]
    assert skipped[0].startswith(f"skipped 1 of 5 image files under {tmp_path / 'faces'}")
    assert str(tmp_path / "faces" / "9_cut.png") in skipped[0] and "training uses the other 4" in skipped[0]
    ckpt = torch.load(next((run / "checkpoints").iterdir()), weights_only=True)
    assert ckpt["iteration"] == 1 and ckpt["dataset"]["num_images"] == 4


def test_trainer_names_labels_beyond_the_models_classes(tmp_path: Path) -> None:
    # Library path (no CLI): a dataset with labels 0..4 for a 4-class model. The count of the bad
    # value is recomputed independently with numpy.
    from specnorm_gan import ImageDataset, TrainConfig, Trainer

    labels = np.array([0, 1, 2, 3, 4, 4, 1, 4], dtype=np.int64)
    data = ImageDataset(torch.zeros(8, 3, 32, 32, dtype=torch.uint8), torch.from_numpy(labels), name="toy")
    cfg = TrainConfig(preset="cifar10-resnet", num_classes=4, width=0.0625, iterations=1, out_dir=str(tmp_path / "run"))
    expected = int((labels >= 4).sum())
    with pytest.raises(ValueError, match=rf"4 \({expected} times\)"):
        Trainer(cfg, data)
    assert not (tmp_path / "run").exists()
