"""The small-data presets (DiffAugment CIFAR-10 10% / 20%, 100-shot at 64 px): published values, their way
into TrainConfig and examples/train.py (policy, training subset), a tiny CPU run with the augmentation
active, and clear errors for a wrong policy.

The expected values are written here from the published scripts, not read back from the presets:
mit-han-lab/data-efficient-gans ``DiffAugment-biggan-cifar/scripts/DiffAugment-biggan-cifar10-0.{1,2}.sh``
(``--DiffAugment translation,cutout --batch_size 50 --num_D_steps 4 --G_lr 2e-4 --D_lr 2e-4 --num_epochs 5000
--num_samples 5000 / 10000 --ema --ema_start 1000``, Adam betas (0, 0.999) and EMA decay 0.9999 from
``utils.py``; one G step per ``batch_size * num_D_steps`` real images) and
``DiffAugment-stylegan2/run_few_shot.py`` / ``README.md`` (100-shot: ``color,translation,cutout``, 300 kimg,
batch 16).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest
import torch

from specnorm_gan import TrainHParams, build_gan, get_preset, list_presets
from specnorm_gan.augment import DiffAugment
from specnorm_gan.data import ImageDataset
from specnorm_gan.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]
CIFAR = {"cifar10-10pct-diffaugment": 5000, "cifar10-20pct-diffaugment": 10_000}
FEW_SHOT = {"100shot-64-resnet": 5, "100shot-64-cnn": 1}  # name -> n_dis
SMALL_DATA = sorted([*CIFAR, *FEW_SHOT])


@pytest.fixture(autouse=True)
def _single_thread(request: pytest.FixtureRequest) -> None:
    """Runs each test on one thread (the CLI's --threads 1 too) and gives the count back afterwards."""
    request.addfinalizer(functools.partial(torch.set_num_threads, torch.get_num_threads()))
    torch.set_num_threads(1)


def _train_script() -> Any:
    spec = importlib.util.spec_from_file_location("_train_small_data", ROOT / "examples" / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# Published values
# --------------------------------------------------------------------------------------------
def test_presets_exist_and_cite_their_source() -> None:
    assert set(SMALL_DATA) <= set(list_presets())
    for name in SMALL_DATA:
        record = get_preset(name)
        assert "mit-han-lab/data-efficient-gans" in record.source and "DiffAugment" in record.description


@pytest.mark.parametrize("name", sorted(CIFAR))
def test_cifar_presets_follow_the_diffaugment_biggan_scripts(name: str) -> None:
    images = CIFAR[name]
    record = get_preset(name)
    hp = record.hparams
    assert (record.dataset, record.resolution, record.num_classes, record.generator, record.discriminator) == (
        "cifar10", 32, 10, "biggan", "biggan")
    assert (hp.diffaugment, hp.max_images, hp.ada_target) == ("translation,cutout", images, None)
    assert (hp.batch_size, hp.g_batch_size, hp.n_dis, hp.lr_g, hp.lr_d) == (50, 50, 4, 2e-4, 2e-4)
    assert (hp.betas_g, hp.betas_d, hp.loss, hp.lr_decay, hp.update_order) == ((0.0, 0.999), (0.0, 0.999), "hinge", "none", "d_first")
    assert (hp.ema_decay, hp.ema_start, hp.ortho_weight) == (0.9999, 1000, 0.0)
    assert hp.iterations == 5000 * images // (50 * 4)  # 5000 epochs of the subset, 200 real images per G step
    assert record.g_kwargs["init"] == record.d_kwargs["init"] == "normal0.02"  # --G_init N02 --D_init N02
    # Same architecture as cifar10-biggan (this library's BigGAN-CIFAR row).
    assert record.g_kwargs["arch"] == get_preset("cifar10-biggan").g_kwargs["arch"] == "biggan-32"


@pytest.mark.parametrize("name", sorted(FEW_SHOT))
def test_few_shot_presets(name: str) -> None:
    n_dis = FEW_SHOT[name]
    record = get_preset(name)
    hp = record.hparams
    assert (record.dataset, record.resolution, record.num_classes) == ("imagefolder", 64, 0)
    assert (hp.diffaugment, hp.max_images, hp.batch_size, hp.n_dis) == ("color,translation,cutout", 100, 16, n_dis)
    assert hp.iterations * 16 * n_dis == 300_000  # 300 kimg of real images shown to D
    spec = build_gan(name, width=1 / 16)
    assert spec.G.resolution == spec.D.resolution == 64
    x = spec.G(spec.G.sample_z(2))
    assert x.shape == (2, 3, 64, 64) and spec.D(DiffAugment(hp.diffaugment)(x)).shape == (2,)


# --------------------------------------------------------------------------------------------
# Into TrainConfig, and a tiny run with the augmentation active
# --------------------------------------------------------------------------------------------
def _data(name: str, n: int = 12) -> ImageDataset:
    record = get_preset(name)
    g = torch.Generator().manual_seed(0)
    r = record.resolution
    labels = torch.arange(n) % record.num_classes if record.num_classes else None
    return ImageDataset(torch.randint(0, 256, (n, 3, r, r), dtype=torch.uint8, generator=g), labels)


@pytest.mark.parametrize("name", SMALL_DATA)
def test_tiny_run_resolves_the_preset_and_augments_every_d_input(name: str, tmp_path: Path) -> None:
    hp = get_preset(name).hparams
    cfg = TrainConfig(preset=name, width=1 / 16, iterations=2, batch_size=4, g_batch_size=4, n_dis=2, log_every=1,
                      sample_every=0, ckpt_every=0, out_dir=str(tmp_path), progress=False, tensorboard=False, device="cpu")
    trainer = Trainer(cfg, _data(name))
    resolved = trainer.config
    assert resolved.diffaugment == hp.diffaugment and resolved.ada_target is None
    assert (resolved.lr_g, resolved.betas_d, resolved.update_order, resolved.ema_start) == (
        hp.lr_g, hp.betas_d, hp.update_order, hp.ema_start)
    assert isinstance(trainer.augment, DiffAugment) and trainer.augment.policy == hp.diffaugment.split(",")

    outputs: List[Tuple[torch.Tensor, torch.Tensor]] = []
    seen_by_d: List[torch.Tensor] = []
    h1 = trainer.augment.register_forward_hook(lambda m, args, out: outputs.append((args[0].detach(), out)))
    h2 = trainer.D.register_forward_pre_hook(lambda m, args: seen_by_d.append(args[0]))
    try:
        trainer.train()
    finally:
        h1.remove()
        h2.remove()
    assert trainer.iteration == 2
    # Per iteration: 2 D steps (real + fake in one augmented batch) and 1 G step.
    assert len(outputs) == len(seen_by_d) == 2 * (2 + 1)
    assert all(any(x is out for _, out in outputs) for x in seen_by_d)  # D only sees augmented batches
    assert all(not torch.equal(inp, out) for inp, out in outputs)  # and the augmentation changes them
    assert all(torch.isfinite(p).all() for p in trainer.G.parameters())


# --------------------------------------------------------------------------------------------
# Wrong values
# --------------------------------------------------------------------------------------------
def test_wrong_policy_in_a_preset_override_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown DiffAugment policy \['cutuot'\]; expected .*'cutout'"):
        build_gan("cifar10-10pct-diffaugment", width=1 / 16, diffaugment="translation,cutuot")
    with pytest.raises(TypeError, match="diffaugment must be a comma-separated policy string"):
        build_gan("100shot-64-cnn", width=1 / 16, diffaugment=["color"])
    with pytest.raises(ValueError, match="max_images must be an int >= 1 or None, got 0"):
        build_gan("100shot-64-resnet", width=1 / 16, max_images=0)
    with pytest.raises(ValueError, match=r"both augment D's inputs; expected one of them"):
        build_gan("cifar10-20pct-diffaugment", width=1 / 16, ada_target=0.6)
    with pytest.raises(ValueError, match=r"ada_target must be a probability in \[0, 1\] or None, got 1.5"):
        TrainHParams(ada_target=1.5)
    # An override that is right goes through; ADA replaces the policy when the policy is cleared.
    assert build_gan("cifar10-10pct-diffaugment", width=1 / 16, diffaugment="", ada_target=0.6).hparams.ada_target == 0.6
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        Trainer(TrainConfig(preset="100shot-64-cnn", width=1 / 16, diffaugment="colour", out_dir=None, device="cpu"),
                _data("100shot-64-cnn"))


# --------------------------------------------------------------------------------------------
# examples/train.py: the preset's training subset
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cifar_like(tmp_path_factory: Any) -> Path:
    """5,100 labelled 32 px images in the .npz format of /work/shared/data (uint8 NHWC 'x', int64 'y')."""
    path = tmp_path_factory.mktemp("data") / "cifar_like.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (5100, 32, 32, 3), dtype=np.uint8), y=np.arange(5100, dtype=np.int64) % 10)
    return path


@pytest.fixture
def subsets(monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Every ImageDataset.subset call: its size, seed and the images it returned."""
    calls: List[Dict[str, Any]] = []
    original = ImageDataset.subset

    def spy(self: ImageDataset, n: int, seed: Any = None) -> ImageDataset:
        out = original(self, n, seed=seed)
        calls.append({"n": n, "seed": seed, "len": len(out), "images": out.images, "of": self})
        return out

    monkeypatch.setattr(ImageDataset, "subset", spy)
    return calls


def _tiny(data: Path, out: Path, *extra: str) -> List[str]:
    return ["--preset", "cifar10-10pct-diffaugment", "--data", str(data), "--no-allocator-tuning", "--width", "0.0625",
            "--iterations", "1", "--batch-size", "2", "--g-batch-size", "2", "--n-dis", "1", "--no-progress",
            "--no-tensorboard", "--sample-every", "0", "--threads", "1", "--out", str(out), *extra]


def test_train_script_uses_the_preset_subset_and_policy(cifar_like: Path, tmp_path: Path, subsets: List[Dict[str, Any]]) -> None:
    train = _train_script()
    assert train.main(_tiny(cifar_like, tmp_path / "run")) == 0
    (call,) = subsets
    assert (call["n"], call["seed"], call["len"], len(call["of"])) == (5000, 0, 5000, 5100)
    # The subset is the seeded draw of ImageDataset.subset, the one --max-images makes.
    assert torch.equal(call["images"], ImageDataset.subset(call["of"], 5000, seed=0).images)
    ckpt = torch.load(next((tmp_path / "run" / "checkpoints").iterdir()), weights_only=True)
    assert ckpt["extra"]["data"]["max_images"] == 5000  # kept for --resume
    assert ckpt["config"]["diffaugment"] == "translation,cutout" and ckpt["config"]["n_dis"] == 1


def test_train_script_max_images_flag_wins(cifar_like: Path, tmp_path: Path, subsets: List[Dict[str, Any]]) -> None:
    train = _train_script()
    assert train.main(_tiny(cifar_like, tmp_path / "a", "--max-images", "300", "--seed", "3")) == 0
    assert [(c["n"], c["seed"], c["len"]) for c in subsets] == [(300, 3, 300)]
    subsets.clear()
    assert train.main(_tiny(cifar_like, tmp_path / "b", "--max-images", "0")) == 0  # 0 = every image
    assert subsets == []
    ckpt = torch.load(next((tmp_path / "b" / "checkpoints").iterdir()), weights_only=True)
    assert ckpt["extra"]["data"]["max_images"] == 0


def test_train_script_refuses_bad_small_data_flags(cifar_like: Path, tmp_path: Path, capsys: Any) -> None:
    train = _train_script()
    assert train.main(_tiny(cifar_like, tmp_path / "neg", "--max-images", "-5")) == 2
    assert "error: --max-images must be an int >= 0 (0 = all images), got -5" in capsys.readouterr().err
    assert train.main(_tiny(cifar_like, tmp_path / "pol", "--diffaugment", "colour")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown DiffAugment policy ['colour']" in err
    assert not (tmp_path / "neg").exists() and not (tmp_path / "pol" / "checkpoints").exists()


def test_train_script_ada_target_replaces_the_preset_policy(cifar_like: Path, tmp_path: Path) -> None:
    train = _train_script()
    assert train.main(_tiny(cifar_like, tmp_path / "ada", "--ada-target", "0.6", "--max-images", "40")) == 0
    ckpt = torch.load(next((tmp_path / "ada" / "checkpoints").iterdir()), weights_only=True)
    assert (ckpt["config"]["diffaugment"], ckpt["config"]["ada_target"]) == ("", 0.6)


def test_train_script_few_shot_preset_on_an_image_folder(tmp_path: Path, subsets: List[Dict[str, Any]]) -> None:
    from PIL import Image

    folder = tmp_path / "few-shot"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(110):  # more images than the preset's 100, non-square: centre-cropped and resized to 64 px
        Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    train = _train_script()
    argv = ["--preset", "100shot-64-cnn", "--data", str(folder), "--no-allocator-tuning", "--width", "0.0625",
            "--iterations", "1", "--batch-size", "2", "--g-batch-size", "2", "--no-progress", "--no-tensorboard",
            "--sample-every", "0", "--threads", "1", "--out", str(tmp_path / "run")]
    assert train.main(argv) == 0
    (call,) = subsets
    assert (call["n"], call["len"], len(call["of"]), tuple(call["images"].shape[1:])) == (100, 100, 110, (3, 64, 64))
    ckpt = torch.load(next((tmp_path / "run" / "checkpoints").iterdir()), weights_only=True)
    assert ckpt["config"]["diffaugment"] == "color,translation,cutout" and ckpt["config"]["num_classes"] == 0
