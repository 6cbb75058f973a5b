"""The loop with DiffAugment / ADA, LeCam and friends, and RpGAN: runs, logs p, resumes bit for bit on CPU."""

from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import torch

from specnorm_gan.augment import AdaptiveAugment
from specnorm_gan.data import ImageDataset
from specnorm_gan.training import Trainer, TrainConfig


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n: int = 24) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    return ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 3)


def _config(out: Optional[Path], **kw: Any) -> TrainConfig:
    base: Dict[str, Any] = dict(
        preset="cifar10-resnet", width=0.0625, iterations=4, batch_size=4, g_batch_size=4, n_dis=2, log_every=2,
        sample_every=0, ckpt_every=0, out_dir=str(out) if out is not None else None, progress=False, tensorboard=False,
        device="cpu",
    )
    base.update(kw)
    return TrainConfig(**base)


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


VARIANTS = {
    "ada_lecam": dict(ada_target=0.6, ada_p=0.5, ada_speed_images=16, ada_interval=1, lecam_weight=0.3),
    "diffaug_bcr_zcr": dict(diffaugment="color,translation,cutout", bcr_weight=1.0, zcr_weight=1.0, zcr_g_weight=0.5),
    "rpgan_r1_r2": dict(loss="rpgan", r1_weight=1.0, r2_weight=1.0, diffaugment="translation"),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_resume_is_bit_identical(tmp_path: Path, name: str) -> None:
    kw = VARIANTS[name]
    whole = Trainer(_config(tmp_path / "a", **kw), _data())
    whole.train()
    first = Trainer(_config(tmp_path / "b", **kw), _data())
    first.train(stop_at=2)
    second = Trainer(_config(tmp_path / "b", **kw), _data())
    second.resume(tmp_path / "b")
    second.train()
    assert _same(whole.G, second.G) and _same(whole.D, second.D)
    if isinstance(whole.augment, AdaptiveAugment):
        assert torch.equal(whole.augment.p, second.augment.p) and float(whole.augment.p) != 0.5
        assert "ada_p" in (tmp_path / "a" / "metrics.csv").read_text().splitlines()[0]
    lecam = [t for t in whole.loss_terms if t.name == "lecam"]
    if lecam:
        other = [t for t in second.loss_terms if t.name == "lecam"][0]
        assert torch.equal(lecam[0].ema_real, other.ema_real) and torch.equal(lecam[0].ema_fake, other.ema_fake)


def test_augmentation_changes_the_run_and_p0_ada_does_not() -> None:
    plain = Trainer(_config(None, iterations=2), _data())
    plain.train()
    frozen = Trainer(_config(None, iterations=2, ada_target=0.6, ada_p=0.0, ada_speed_images=1e12), _data())
    frozen.train()
    diff = Trainer(_config(None, iterations=2, diffaugment="cutout"), _data())
    diff.train()
    assert not _same(plain.G, diff.G)
    # ADA at p = 0 is the identity, but it draws its random numbers from the noise stream: compare against
    # the identity by resetting the stream is not possible, so check that p stayed 0 and training ran finite
    assert float(frozen.augment.p) == 0.0
    assert all(torch.isfinite(p).all() for p in frozen.G.parameters())


@pytest.mark.parametrize("kw, match", [
    (dict(lecam_weight=-1.0), "lecam_weight must be a finite float >= 0"),
    (dict(bcr_weight=-0.1), "bcr_weight"),
    (dict(r2_weight=float("nan")), "r2_weight"),
    (dict(diffaugment="color,zoom"), "unknown DiffAugment policy"),
    (dict(ada_target=1.5), r"ada_target must be a probability in \[0, 1\]"),
    (dict(ada_target=0.6, ada_p=-0.5), r"ada_p must be a probability in \[0, 1\]"),
    (dict(ada_target=0.6, diffaugment="color"), "give one"),
    (dict(lecam_weight=0.1, regularizers={"lecam": {"weight": 0.2}}), "give it once"),
])
def test_bad_config(kw: Dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Trainer(_config(None, **kw), _data())
