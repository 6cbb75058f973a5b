"""The reference training loop: end to end through the example scripts, resume identity, DDP,
faults (NaN, signals, corrupt/mismatched checkpoints, failed writes), the official update order,
learning-rate schedule and EMA against closed forms, and the no-host-sync property of the steps.

Everything runs on tiny widths and batches (a few seconds per test on 2 CPU cores)."""

from __future__ import annotations

import importlib.util
import os
import pickle
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pytest
import torch

from specnorm_gan.data import ImageDataset
from specnorm_gan.training import (
    CheckpointError,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    linear_decay,
    load_checkpoint,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
WIDTH = 1 / 32  # 8-channel G, 4-channel D: milliseconds per step


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    # Tiny models on a shared 2-core machine: OpenMP threads only wait on each other.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(n: int = 40, classes: int = 10, seed: int = 0) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    return ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % classes)


def _config(out: Optional[Path], **kw: Any) -> TrainConfig:
    base: Dict[str, Any] = dict(
        preset="cifar10-resnet", width=WIDTH, iterations=6, batch_size=4, g_batch_size=8, log_every=2,
        sample_every=0, ckpt_every=0, out_dir=str(out) if out is not None else None, progress=False, tensorboard=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def _states_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _snapshot(folder: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "SPECNORM_GAN_ALLOCATOR_REEXEC"}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(args: List[str], timeout: int = 120, **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=_env(), **kw)


def _example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def write_cifar10(root: Path, per_batch: int = 4) -> None:
    """The real torchvision/Toronto layout: cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        entry = {"batch_label": name, "labels": [int(v) for v in rng.integers(0, 10, per_batch)], "data": x,
                 "filenames": [f"{i}.png" for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=2)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                     "truck"], "num_cases_per_batch": per_batch, "num_vis": 3072}, f, protocol=2)


# --------------------------------------------------------------------------------------------
# End to end through the scripts
# --------------------------------------------------------------------------------------------
def test_train_cifar_end_to_end_then_sample_and_interpolate(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    write_cifar10(tmp_path / "data")
    run = tmp_path / "run"
    common = ["--threads", "1", "--no-progress", "--out", str(run)]
    first = _run([str(EXAMPLES / "train_cifar.py"), "--data", str(tmp_path / "data"), "--no-verify-data", "--conditional",
                  "--ema", "--width", "0.0625", "--iterations", "4", "--stop-at", "2", "--batch-size", "4",
                  "--g-batch-size", "8", "--log-every", "1", "--sample-every", "2", "--ckpt-every", "2", *common])
    log = first.stdout + first.stderr
    assert first.returncode == 0, log
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":  # the launcher re-executes itself
        assert "allocator: re-executed with MALLOC_MMAP_THRESHOLD_=" in log
    else:
        assert "allocator: not glibc" in log
    assert "20 images (3, 32, 32), 10 classes" in log  # 5 train batches of 4
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["ckpt_00000002.pt"]
    # --resume alone: configuration and data location come from the checkpoint
    second = _run([str(EXAMPLES / "train_cifar.py"), "--resume", *common])
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resumed" in second.stdout + second.stderr
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("iteration,time_s,loss_g,loss_d,d_real,d_fake,lr_g,lr_d,sigma_max,sigma_min")
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    ckpt = torch.load(run / "checkpoints" / "ckpt_00000004.pt", weights_only=True)  # safe loading works
    assert ckpt["iteration"] == 4 and ckpt["G_ema"] is not None and ckpt["config"]["num_classes"] == 10
    from PIL import Image

    with Image.open(run / "samples" / "iter_00000004.png") as im:
        assert im.size == (10 * 34 + 2, 10 * 34 + 2)  # 10 classes x 10 columns of 32 px, padding 2

    sample, interpolate = _example("sample"), _example("interpolate")
    assert sample.main([str(run), "--out", str(tmp_path / "grid.png"), "--rows", "3", "--cols", "4"]) == 0
    with Image.open(tmp_path / "grid.png") as im:
        assert im.size == (4 * 34 + 2, 3 * 34 + 2)
    assert sample.main([str(run), "--num", "3", "--per-class", "--classes", "2", "7", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as d:
        assert d["x"].shape == (6, 32, 32, 3) and d["x"].dtype == np.uint8 and d["y"].tolist() == [2, 2, 2, 7, 7, 7]
    assert sample.main([str(run), "--num", "2", "--per-class", "--classes", "1", "--out", str(tmp_path / "pngs")]) == 0
    assert sorted(p.name for p in (tmp_path / "pngs" / "class_0001").iterdir()) == ["000000.png", "000001.png"]
    assert interpolate.main([str(run), "--out", str(tmp_path / "i.png"), "--rows", "2", "--steps", "5"]) == 0
    assert interpolate.main([str(run), "--class-interp", "--classes", "3", "5", "--rows", "2", "--steps", "4",
                             "--out", str(tmp_path / "c.png")]) == 0
    with Image.open(tmp_path / "c.png") as im:
        assert im.size == (4 * 34 + 2, 2 * 34 + 2)


def test_cli_refuses_to_overwrite_or_resume_a_mismatched_run(tmp_path: Path) -> None:
    train = _example("train")
    data = tmp_path / "d.npz"
    x = np.random.default_rng(0).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    np.savez(data, x=x, y=np.arange(12) % 3)
    run = tmp_path / "run"
    args = ["--no-allocator-tuning", "--preset", "cifar10-resnet", "--data", str(data), "--width", str(WIDTH),
            "--iterations", "2", "--batch-size", "4", "--g-batch-size", "4", "--no-progress", "--no-tensorboard", "--out", str(run)]
    assert train.main(args) == 0
    before = _snapshot(run)
    assert train.main(args) == 2  # a fresh run into a folder with checkpoints is refused
    assert train.main(["--no-allocator-tuning", "--resume", "--out", str(run), "--width", "0.0625", "--no-progress"]) == 2
    assert _snapshot(run) == before  # nothing was overwritten


# --------------------------------------------------------------------------------------------
# Resume identity
# --------------------------------------------------------------------------------------------
def test_resume_is_bitwise_identical(tmp_path: Path) -> None:
    data = _data()
    kw = dict(num_classes=10, ema=True, ema_decay=0.9, dequantize=True, iterations=6)

    def trainer(out: Path) -> Trainer:
        return Trainer(_config(out, **kw), data)

    straight = trainer(tmp_path / "a")
    straight.train()
    split = trainer(tmp_path / "b")
    split.train(stop_at=3)
    assert split.iteration == 3 and Path(split.last_checkpoint).name == "ckpt_00000003.pt"
    resumed = trainer(tmp_path / "b")
    assert resumed.resume(tmp_path / "b") == 3
    resumed.train()
    for name in ("G", "D", "G_ema"):
        assert _states_equal(getattr(straight, name), getattr(resumed, name)), name
    sa, sb = straight.opt_d.state_dict()["state"], resumed.opt_d.state_dict()["state"]
    assert all(torch.equal(sa[i][k], sb[i][k]) for i in sa for k in sa[i])
    assert straight.loader.state_dict() == resumed.loader.state_dict()
    assert torch.equal(straight.noise_gen.get_state(), resumed.noise_gen.get_state())


# --------------------------------------------------------------------------------------------
# The official updater
# --------------------------------------------------------------------------------------------
def test_update_order_batches_and_no_grad_fakes() -> None:
    tr = Trainer(_config(None, n_dis=3, iterations=2, num_classes=10), _data())
    calls: List[tuple] = []
    tr.G.register_forward_hook(lambda m, i, o: calls.append(("G", o.shape[0], torch.is_grad_enabled())))
    tr.D.register_forward_hook(
        lambda m, i, o: calls.append(("D", o.shape[0], torch.is_grad_enabled(), m.blocks[0].c1.weight.requires_grad))
    )
    tr.train_iteration()
    # G step first: G batch 8 with autograd, D frozen; then 3 D steps: fakes (4) without autograd and
    # ONE concatenated real+fake D forward (8) with D trainable.
    assert calls == [("G", 8, True), ("D", 8, True, False)] + [("G", 4, False), ("D", 8, True, True)] * 3
    assert all(p.grad is not None for p in tr.D.parameters())
    assert int(tr.opt_g.state_dict()["state"][0]["step"]) == 1 and int(tr.opt_d.state_dict()["state"][0]["step"]) == 3
    calls.clear()
    tr.config.update_order = "d_first"
    tr.train_iteration()
    assert [c[0] for c in calls] == ["G", "D"] * 3 + ["G", "D"] and calls[-2] == ("G", 8, True)


@pytest.mark.parametrize("decay_start", [0, 3])
def test_linear_lr_decay_to_zero(decay_start: int) -> None:
    n = 6
    tr = Trainer(_config(None, iterations=n, lr_g=2e-4, lr_d=1e-4, decay_start=decay_start, n_dis=1), _data())
    seen = []
    for _ in range(n):
        seen.append((tr.opt_g.param_groups[0]["lr"], tr.opt_d.param_groups[0]["lr"]))
        tr.train_iteration()
    for i, (lg, ld) in enumerate(seen):  # Chainer LinearShift: factor 1 until decay_start, 0 at `iterations`
        f = 1.0 if i <= decay_start else 1.0 - (i - decay_start) / (n - decay_start)
        assert lg == pytest.approx(2e-4 * f, rel=1e-12) and ld == pytest.approx(1e-4 * f, rel=1e-12)
    assert tr.opt_g.param_groups[0]["lr"] == 0.0
    assert linear_decay(n, decay_start, n) == 0.0


def test_ema_closed_form_and_buffers_copied() -> None:
    tr = Trainer(_config(None, ema=True, ema_decay=0.75, ema_start=1, n_dis=1), _data())
    g0 = {k: v.clone() for k, v in tr.G.state_dict().items()}
    tr.train_iteration()  # iteration 0 < ema_start: a copy
    assert _states_equal(tr.G_ema, tr.G)
    g1 = {k: v.clone() for k, v in tr.G.state_dict().items()}
    tr.train_iteration()
    g2 = tr.G.state_dict()
    params = {n for n, _ in tr.G.named_parameters()}
    for k, v in tr.G_ema.state_dict().items():
        if k in params:
            torch.testing.assert_close(v, 0.75 * g1[k] + 0.25 * g2[k], rtol=0, atol=1e-7)
        else:  # BN running statistics and counters: copied, not averaged
            assert torch.equal(v, g2[k]), k
    assert any(not torch.equal(g0[k], g2[k]) for k in params)


def test_penalties_clip_and_optimizers_from_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    import specnorm_gan.regularizers as training  # the GP/R1 terms call the penalties from here

    data = _data()
    small = dict(iterations=2, batch_size=4, g_batch_size=4)
    gp = Trainer(_config(None, preset="xy-wgan-gp", **small), data)
    assert gp.config.gp_weight == 10.0 and gp.config.update_order == "d_first" and gp.config.loss == "wasserstein"
    r1 = Trainer(_config(None, preset="xy-dcgan-r1", **small), data)
    assert r1.config.r1_weight == 5.0
    seen: List[tuple] = []

    def fake_penalty(D: Any, real: torch.Tensor, *rest: Any, **kw: Any) -> torch.Tensor:
        seen.append((D, tuple(real.shape), tuple(rest[0].shape) if rest and rest[0] is not None else None))
        return torch.tensor(0.25)

    monkeypatch.setattr(training, "gradient_penalty", fake_penalty)
    monkeypatch.setattr(training, "r1_penalty", fake_penalty)
    x = torch.zeros(4, 3, 32, 32)
    for tr, weight, other in ((gp, 10.0, (4, 3, 32, 32)), (r1, 5.0, None)):
        z = torch.randn(4, tr.z_dim)
        loss, stats = tr._d_forward(x, None, z, None)  # stats[0]: the loss before penalties
        assert float((loss - stats[0]).detach()) == pytest.approx(weight * 0.25)
        assert seen[-1] == (tr.D, (4, 3, 32, 32), other)  # real batch (and fakes for GP) of the step
    monkeypatch.undo()
    assert torch.isfinite(gp.d_step()).all() and torch.isfinite(r1.d_step()).all()  # the real penalties run
    clip = Trainer(_config(None, preset="xy-wgan", **small), data)
    assert isinstance(clip.opt_d, torch.optim.RMSprop)
    clip.train_iteration()
    assert max(float(p.detach().abs().max()) for p in clip.D.parameters()) <= 0.01
    sgd = Trainer(_config(None, preset="ct-resnet-hinge", **small), data)
    assert isinstance(sgd.opt_d, torch.optim.SGD) and sgd.opt_d.param_groups[0]["momentum"] == 0.9


# --------------------------------------------------------------------------------------------
# Speed properties: no host synchronisation, compile-able steps, opt-in options
# --------------------------------------------------------------------------------------------
def test_steps_never_read_device_values_on_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    tr = Trainer(_config(None, ema=True, dequantize=True, log_every=100), _data())  # the log read is the only sync
    tr.train_iteration()  # warm-up (lazy state)

    def forbidden(self: torch.Tensor, *a: Any, **k: Any) -> Any:
        raise AssertionError("host read of a tensor inside a training step")

    for name in ("item", "__bool__", "__int__", "__float__", "__index__", "tolist", "numpy"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    tr.train_iteration()
    tr.train_iteration()
    monkeypatch.undo()
    assert tr.iteration == 3


def test_step_functions_compile_as_one_graph() -> None:
    # fullgraph=True fails on any graph break (.item(), data-dependent Python control flow); the
    # eager backend keeps this check fast. Conditional model: labels, projection and cBN included.
    tr = Trainer(_config(None, num_classes=10, n_dis=1), _data())
    tr._d_step_fn = torch.compile(tr._d_forward, fullgraph=True, backend="eager")
    tr._g_step_fn = torch.compile(tr._g_forward, fullgraph=True, backend="eager")
    tr.train_iteration()
    tr.train_iteration()


def test_channels_last_close_and_bf16_finite() -> None:
    data = _data()
    ref = Trainer(_config(None, iterations=2, n_dis=1), data)
    cl = Trainer(_config(None, iterations=2, n_dis=1, channels_last=True), data)
    for t in (ref, cl):
        t.train_iteration()
    for (n, a), b in zip(ref.G.named_parameters(), cl.G.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=5e-4, msg=n)  # same math, other kernels (Adam steps ~lr)
    bf = Trainer(_config(None, iterations=2, amp="bf16"), data)
    m = bf.train()
    assert all(np.isfinite(v) for v in m.values())
    assert all(b.dtype == torch.float32 for b in bf.D.buffers())


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------
def test_nan_loss_stops_naming_the_iteration_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    tr = Trainer(_config(tmp_path, iterations=10, log_every=4, ckpt_every=2, keep_checkpoints=5), _data())
    tr.train(stop_at=4)
    with torch.no_grad():
        next(tr.D.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="iteration 5") as e:
        tr.train()
    assert e.value.iteration == 5 and e.value.checkpoint.endswith("ckpt_00000004.pt")
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["ckpt_00000002.pt", "ckpt_00000004.pt"]
    assert load_checkpoint(tmp_path)["iteration"] == 4


def test_sigint_writes_a_checkpoint_then_stops(tmp_path: Path) -> None:
    tr = Trainer(_config(tmp_path, iterations=50), _data())
    original = tr.train_iteration
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs in a background job

    def step() -> None:
        original()
        if tr.iteration == 3:
            os.kill(os.getpid(), signal.SIGINT)

    tr.train_iteration = step  # type: ignore[method-assign]
    with pytest.raises(TrainingInterrupted) as e:
        tr.train()
    assert e.value.signum == signal.SIGINT and e.value.iteration == 3
    ckpt = load_checkpoint(e.value.checkpoint)
    assert ckpt["iteration"] == 3 and torch.equal(ckpt["G"]["dense.weight"], tr.G.state_dict()["dense.weight"])
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


def test_sigterm_from_outside_checkpoints_and_exits_143(tmp_path: Path) -> None:
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((8, 32, 32, 3), np.uint8))
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "train.py"), "--preset", "cifar10-resnet", "--data", str(data), "--width", str(WIDTH),
         "--iterations", "100000", "--batch-size", "4", "--g-batch-size", "4", "--log-every", "1", "--threads", "1",
         "--no-progress", "--out", str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not ((run / "metrics.csv").exists() and len((run / "metrics.csv").read_text().splitlines()) > 2):
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert "SIGTERM received" in out
    ckpt = load_checkpoint(run)
    assert ckpt["iteration"] >= 2


def test_corrupt_truncated_foreign_and_mismatched_checkpoints(tmp_path: Path) -> None:
    data = _data()
    tr = Trainer(_config(tmp_path / "run", iterations=2), data)
    tr.train()
    good = Path(tr.last_checkpoint)
    raw = good.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "truncated.pt").write_bytes(raw[: len(raw) // 2])
    (bad / "garbage.pt").write_bytes(os.urandom(2048))

    class Evil:
        def __reduce__(self) -> Any:
            return (os.system, ("echo pwned",))

    torch.save({"format": "specnorm_gan.checkpoint", "payload": Evil()}, bad / "evil.pt")
    torch.save({"weights": torch.zeros(2)}, bad / "foreign.pt")
    before = _snapshot(tmp_path)
    for name, match in [("truncated.pt", "cannot read"), ("garbage.pt", "cannot read"), ("evil.pt", "cannot read"),
                        ("foreign.pt", "not a specnorm_gan training checkpoint")]:
        with pytest.raises(CheckpointError, match=match):
            load_checkpoint(bad / name)
    other = Trainer(_config(tmp_path / "other", iterations=2, width=2 * WIDTH), data)
    with pytest.raises(CheckpointError, match="width"):
        other.resume(good)
    fewer = Trainer(_config(tmp_path / "fewer", iterations=2), _data(n=30))
    with pytest.raises(CheckpointError, match="40 images"):
        fewer.resume(good)
    assert _snapshot(tmp_path) == before  # nothing overwritten, nothing new


def test_failed_write_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tr = Trainer(_config(tmp_path, iterations=4, keep_checkpoints=1), _data())
    tr.train(stop_at=2)
    before = _snapshot(tmp_path / "checkpoints")

    def dying_save(obj: Any, f: Any, *a: Any, **k: Any) -> None:
        f.write(b"PK\x03\x04 partial")  # a kill in the middle of a write
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        tr.save_checkpoint()
    monkeypatch.undo()
    assert _snapshot(tmp_path / "checkpoints") == before  # no temp file left, the old one intact
    assert load_checkpoint(tmp_path)["iteration"] == 2


def test_keeps_the_last_n_checkpoints_loadable_with_weights_only(tmp_path: Path) -> None:
    tr = Trainer(_config(tmp_path, iterations=5, ckpt_every=1, keep_checkpoints=2), _data())
    tr.train()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["ckpt_00000004.pt", "ckpt_00000005.pt"]
    ckpt = torch.load(tmp_path / "checkpoints" / names[-1], weights_only=True)
    assert set(ckpt["rng"]) >= {"torch", "numpy", "python", "noise"} and ckpt["data"]["epoch"] >= 0
    assert TrainConfig.from_dict(ckpt["config"]) == tr.config


def test_data_and_model_must_agree() -> None:
    with pytest.raises(ValueError, match="no labels"):
        Trainer(_config(None, num_classes=10), _data().unlabeled())
    with pytest.raises(ValueError, match="resolution=32"):
        Trainer(_config(None), _data().resized(16))
    with pytest.raises(ValueError, match="has 10"):
        Trainer(_config(None, num_classes=4), _data())
    with pytest.raises(ValueError, match="decay_start"):
        Trainer(_config(None, decay_start=6), _data())


# --------------------------------------------------------------------------------------------
# Distributed: torchrun, 2 CPU processes (gloo)
# --------------------------------------------------------------------------------------------
def test_torchrun_two_processes(tmp_path: Path) -> None:
    data = tmp_path / "d.npz"
    rng = np.random.default_rng(2)
    np.savez(data, x=rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), y=np.arange(16) % 4)
    run = tmp_path / "run"
    out = _run(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(EXAMPLES / "train.py"),
                "--preset", "cifar10-resnet", "--data", str(data), "--conditional", "--width", str(WIDTH), "--iterations", "3",
                "--batch-size", "4", "--g-batch-size", "8", "--log-every", "1", "--ckpt-every", "3", "--sample-every", "3",
                "--device", "cpu", "--no-progress", "--out", str(run)], timeout=180)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    assert "2 process(es)" in log
    assert "replica check: ok" in log  # identical weights and SN u/v on both ranks
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]  # rank 0 alone writes logs
    assert [p.name for p in (run / "samples").iterdir()] == ["iter_00000003.png"]
    ckpt = load_checkpoint(run)
    assert ckpt["world_size"] == 2 and len(ckpt["rng"]["noise"]) == 2
    assert not torch.equal(ckpt["rng"]["noise"][0], ckpt["rng"]["noise"][1])  # ranks draw different z
