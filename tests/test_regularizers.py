"""Loss terms as objects (specnorm_gan.regularizers): GP/R1 equal the penalty functions, a custom
registered term changes the loss by exactly its weighted value, state survives a checkpoint; and the
clear errors of issue 17 (no CUDA device, unsafe checkpoint files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import torch

from specnorm_gan.data import ImageDataset
from specnorm_gan.losses import gradient_penalty, r1_penalty
from specnorm_gan.regularizers import (
    LossContext,
    Regularizer,
    get_regularizer,
    list_regularizers,
    register_regularizer,
)
from specnorm_gan.training import CheckpointError, TrainConfig, Trainer, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def _data(n: int = 16) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    return ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 10)


def _config(**kw: Any) -> TrainConfig:
    base: Dict[str, Any] = dict(preset="cifar10-resnet", width=1 / 32, iterations=4, batch_size=4, g_batch_size=4,
                                n_dis=1, log_every=2, sample_every=0, ckpt_every=0, out_dir=None, progress=False,
                                tensorboard=False)
    base.update(kw)
    return TrainConfig(**base)


@register_regularizer("test_constant")
class _Constant(Regularizer):
    """A constant term (its gradient is 0): isolates how the step adds a term."""

    def __init__(self, weight: float = 1.0, value: float = 0.0) -> None:
        super().__init__(weight)
        self.value = value

    def __call__(self, ctx: LossContext) -> torch.Tensor:
        return ctx.d_out_real.new_tensor(self.value)


@register_regularizer("test_lecam_like")
class _RunningMean(Regularizer):
    """LeCam-style state: an EMA of D's mean output on real images, kept on the device."""

    def __init__(self, weight: float = 1.0, decay: float = 0.5) -> None:
        super().__init__(weight)
        self.decay = decay
        self.ema = torch.zeros(())

    def __call__(self, ctx: LossContext) -> torch.Tensor:
        self.ema = self.decay * self.ema.to(ctx.d_out_real) + (1 - self.decay) * ctx.d_out_real.detach().mean()
        return (ctx.d_out_fake - self.ema).pow(2).mean()

    def state_dict(self) -> Dict[str, Any]:
        return {"ema": self.ema.clone()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.ema = state["ema"].clone()


@register_regularizer("test_g_l2")
class _GWeights(Regularizer):
    """A G-side term on G's parameters (like orthogonal regularization)."""

    side = "g"

    def __call__(self, ctx: LossContext) -> torch.Tensor:
        return sum(p.pow(2).sum() for p in ctx.G.parameters())


def test_gp_and_r1_terms_equal_the_penalty_functions() -> None:
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    d = lambda x, y=None: D(x).view(-1)  # noqa: E731
    ctx = LossContext(D=d, G=torch.nn.Identity(), fake=fake, d_out_fake=d(fake), real=real, d_out_real=d(real),
                      generator=torch.Generator().manual_seed(3))
    gp = get_regularizer("gp", weight=10.0)(ctx)
    ref = gradient_penalty(d, real, fake, generator=torch.Generator().manual_seed(3))
    assert torch.equal(gp, ref)
    assert torch.equal(get_regularizer("r1", weight=5.0)(ctx), r1_penalty(d, real))
    # independent check of R1 for a linear D: the input gradient is the weight row, so R1 = ||w||^2
    lin = torch.nn.Linear(12, 1, bias=False).double()
    x = torch.randn(4, 12, dtype=torch.float64)
    c = LossContext(D=lambda v, y=None: lin(v).view(-1), G=torch.nn.Identity(), fake=x, d_out_fake=x[:, 0], real=x,
                    d_out_real=x[:, 0])
    torch.testing.assert_close(get_regularizer("r1")(c), lin.weight.pow(2).sum())


def test_config_weights_map_onto_terms_and_bad_names_are_refused() -> None:
    tr = Trainer(_config(preset="xy-wgan-gp", iterations=2), _data())
    assert [(t.name, t.weight) for t in tr.loss_terms] == [("gp", 10.0)]
    tr = Trainer(_config(r1_weight=2.5, regularizers={"test_constant": {"weight": 0.5}}), _data())
    assert [(t.name, t.weight) for t in tr.loss_terms] == [("r1", 2.5), ("test_constant", 0.5)]
    with pytest.raises(ValueError, match="unknown regularizers \\['nope'\\]"):
        Trainer(_config(regularizers={"nope": {}}), _data())
    with pytest.raises(ValueError, match="give it once"):
        Trainer(_config(r1_weight=1.0, regularizers={"r1": {"weight": 1.0}}), _data())
    with pytest.raises(ValueError, match="weight must be a finite float >= 0"):
        get_regularizer("gp", weight=-1.0)
    with pytest.raises(ValueError, match="already registered"):
        register_regularizer("gp")(_Constant)
    assert {"gp", "r1", "test_constant"} <= set(list_regularizers())


def test_custom_term_changes_the_d_loss_by_exactly_its_weighted_value() -> None:
    data = _data()
    plain = Trainer(_config(), data)
    extra = Trainer(_config(regularizers={"test_constant": {"weight": 0.5, "value": 3.0}}), data)
    x = torch.zeros(4, 3, 32, 32)
    z = torch.randn(4, plain.z_dim)
    loss0, stats0 = plain._d_forward(x, None, z, None)
    loss1, stats1 = extra._d_forward(x, None, z, None)
    assert torch.equal(stats0, stats1)  # same weights, same batch: the adversarial part is equal
    assert float((loss1 - loss0).detach()) == 0.5 * 3.0
    # a zero-gradient term leaves the training run itself unchanged
    plain.train()
    extra.train()
    assert all(torch.equal(a, b) for a, b in zip(plain.D.state_dict().values(), extra.D.state_dict().values()))


def test_g_side_term_enters_the_g_loss() -> None:
    data = _data()
    plain = Trainer(_config(), data)
    extra = Trainer(_config(regularizers={"test_g_l2": {"weight": 0.25}}), data)
    z = torch.randn(4, plain.z_dim)
    l2 = sum(p.detach().pow(2).sum() for p in plain.G.parameters())
    diff = extra._g_forward(z, None) - plain._g_forward(z, None)
    torch.testing.assert_close(diff.detach(), 0.25 * l2, rtol=1e-5, atol=1e-5)


def test_term_state_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    regs = {"test_lecam_like": {"weight": 0.1}}
    data = _data()
    whole = Trainer(_config(regularizers=regs), data)
    whole.train()
    first = Trainer(_config(regularizers=regs, out_dir=str(tmp_path)), data)
    first.train(stop_at=2)
    ckpt = load_checkpoint(tmp_path)
    assert torch.equal(ckpt["regularizers"]["test_lecam_like"]["ema"], first.loss_terms[0].ema)
    assert float(first.loss_terms[0].ema) != 0.0
    second = Trainer(_config(regularizers=regs, out_dir=str(tmp_path)), data)
    second.resume(tmp_path)
    assert torch.equal(second.loss_terms[0].ema, first.loss_terms[0].ema)
    second.train()
    assert torch.equal(second.loss_terms[0].ema, whole.loss_terms[0].ema)
    assert all(torch.equal(a, b) for a, b in zip(second.D.state_dict().values(), whole.D.state_dict().values()))


# --------------------------------------------------------------------------------------------
# issue 17 items 5 and 6
# --------------------------------------------------------------------------------------------
def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["SPECNORM_GAN_ALLOCATOR_REEXEC"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return env


def _snapshot(folder: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_device_without_a_gpu_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no CUDA device is available on this machine; available: cpu"):
        Trainer(_config(device="cuda"), _data())
    import numpy as np

    np.savez(tmp_path / "d.npz", x=np.zeros((8, 32, 32, 3), np.uint8), y=np.zeros(8, np.int64))
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "train.py"), "--preset", "cifar10-resnet", "--width",
                        "0.03125", "--data", str(tmp_path / "d.npz"), "--device", "cuda", "--out", str(out),
                        "--no-progress"], capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 2, r.stdout + r.stderr
    assert "error: device 'cuda': no CUDA device is available on this machine; available: cpu" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_unsafe_checkpoint_is_refused_plainly(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> Any:
            return (os.system, (f"touch {marker}",))

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    evil = run / "checkpoints" / "ckpt_00000002.pt"
    torch.save({"format": "specnorm_gan.checkpoint", "payload": Evil()}, evil)
    import numpy as np

    np.savez(tmp_path / "d.npz", x=np.zeros((8, 32, 32, 3), np.uint8), y=np.zeros(8, np.int64))
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(evil)
    msg = str(info.value)
    assert msg.startswith(f"{evil} is not a safe checkpoint and was not loaded")
    assert "posix.system" in msg or "os.system" in msg or "system" in msg
    assert "weights_only=False" not in msg and "weights_only` set to `False" not in msg
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "train.py"), "--resume", "--out", str(run),
                        "--data", str(tmp_path / "d.npz"), "--no-progress"],
                       capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"error: {evil} is not a safe checkpoint and was not loaded" in r.stderr
    assert "weights_only=False" not in r.stderr and "False" not in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists()
    assert _snapshot(tmp_path) == before  # nothing written or changed
