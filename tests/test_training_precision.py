"""The GPU paths of the loop as far as a CPU runs them: fp16 autocast with one GradScaler per
optimizer (scaling, unscaling, overflow skips counted on the device, resume restoring the
scalers), no host synchronisation with fp16, CUDA-graph step marking, the fused power
iteration's persistent buffers across steps, and compile_mode="reduce-overhead" against eager."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch
from torch import nn

from specnorm_gan import layers
from specnorm_gan.data import ImageDataset
from specnorm_gan.training import TrainConfig, Trainer, load_checkpoint
from specnorm_gan.training.precision import Precision


def _data(n: int = 16) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    return ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 10)


def _config(**kw: Any) -> TrainConfig:
    base: Dict[str, Any] = dict(preset="cifar10-resnet", width=1 / 32, iterations=4, batch_size=4, g_batch_size=4,
                                n_dis=1, log_every=2, sample_every=0, ckpt_every=0, out_dir=None, progress=False,
                                tensorboard=False)
    base.update(kw)
    return TrainConfig(**base)


def _equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _small_scale(tr: Trainer, scale: float = 2.0**4) -> None:
    # The default initial scale (2^16) overflows these tiny models' gradients for a few steps.
    tr.scaler_g = torch.amp.GradScaler("cpu", init_scale=scale)
    tr.scaler_d = torch.amp.GradScaler("cpu", init_scale=scale)


def test_fp16_runs_with_one_scaler_per_optimizer_and_sn_in_float32() -> None:
    tr = Trainer(_config(amp="fp16"), _data())
    assert isinstance(tr.scaler_g, torch.amp.GradScaler) and isinstance(tr.scaler_d, torch.amp.GradScaler)
    assert tr.scaler_g is not tr.scaler_d
    assert tr.precision.dtype is torch.float16
    metrics = tr.train()
    assert metrics["skipped_g"] == float(tr.skipped_steps[0]) and metrics["skipped_d"] == float(tr.skipped_steps[1])
    assert all(b.dtype == torch.float32 for b in tr.D.buffers())
    with tr.precision.autocast():  # sigma is computed in float32 under fp16 autocast
        tr.D(torch.zeros(2, 3, 32, 32))
    assert all(s.dtype == torch.float32 for s in layers.spectral_norms(tr.D).values())
    plain = Trainer(_config(), _data())
    assert plain.scaler_g is None and plain.skipped_steps is None


def test_fp16_scaled_step_equals_the_unscaled_update() -> None:
    # Scaling by 2^k and unscaling is exact in floating point: the scaled D step gives the weights of
    # an unscaled fp16-autocast step with the same optimizer (the independent reference, done by hand).
    # SGD, not Adam: Adam's update hardly depends on the gradient's scale, SGD's is proportional to it.
    tr = Trainer(_config(amp="fp16", optimizer_d="sgd", momentum_d=0.9, lr_d=0.05), _data())
    _small_scale(tr)
    ref_D = copy.deepcopy(tr.D)
    ref_opt = torch.optim.SGD(ref_D.parameters(), lr=0.05, momentum=0.9)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    z = torch.randn(4, tr.z_dim)
    G = copy.deepcopy(tr.G)
    with torch.autocast("cpu", dtype=torch.float16):
        with torch.no_grad():
            fake = G(z, None)
        logits = ref_D(torch.cat([x, fake.to(x.dtype)]), None).float().view(-1)
    loss = torch.relu(1 - logits[:4]).mean() + torch.relu(1 + logits[4:]).mean()
    loss.backward()
    ref_opt.step()
    steps_d = tr._d_step_fn  # d_step draws z from the trainer's generator: use the reference's z
    tr._d_step_fn = lambda xr, yr, _z, yf: steps_d(xr, yr, z, yf)
    tr.d_step(x, None)
    assert int(tr.skipped_steps[1]) == 0 and tr.scaler_d.get_scale() == 2.0**4
    assert tr.scaler_d._scale is not None  # the loss was scaled
    for (n, a), b in zip(tr.D.named_parameters(), ref_D.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=n)  # fp16 rounding; unscaled would be 16x off


def test_fp16_overflow_skips_the_step_halves_the_scale_and_is_counted() -> None:
    tr = Trainer(_config(amp="fp16"), _data())
    _small_scale(tr)
    tr.train_iteration()
    assert tr.skipped_steps.tolist() == [0, 0]
    for which, model, scaler in (("D", tr.D, tr.scaler_d), ("G", tr.G, tr.scaler_g)):
        before = {k: v.clone() for k, v in model.named_parameters()}
        scale = scaler.get_scale()
        hook = next(model.parameters()).register_hook(lambda g: g * float("inf"))
        (tr.d_step if which == "D" else tr.g_step)()
        hook.remove()
        assert scaler.get_scale() == scale / 2, which
        assert all(torch.equal(before[k], v) for k, v in model.named_parameters()), which
    assert tr.skipped_steps.tolist() == [1, 1]
    tr.d_step()  # a finite step updates again
    assert tr.skipped_steps.tolist() == [1, 1]


def test_fp16_steps_never_read_device_values_on_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    tr = Trainer(_config(amp="fp16", log_every=100, ema=True), _data())
    tr.train_iteration()

    def forbidden(self: torch.Tensor, *a: Any, **k: Any) -> Any:
        raise AssertionError("host read of a tensor inside a training step")

    for name in ("item", "__bool__", "__int__", "__float__", "__index__", "tolist", "numpy"):
        monkeypatch.setattr(torch.Tensor, name, forbidden)
    tr.train_iteration()
    tr.train_iteration()
    monkeypatch.undo()
    assert tr.iteration == 3


def test_fp16_resume_restores_the_scalers_bit_identically(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    data = _data()
    whole = Trainer(_config(amp="fp16", iterations=6), data)
    whole.train()
    first = Trainer(_config(amp="fp16", iterations=6, out_dir=str(tmp_path)), data)
    first.train(stop_at=3)
    ckpt = load_checkpoint(tmp_path)  # weights_only loading
    assert ckpt["amp"]["scaler_d"] == first.scaler_d.state_dict()
    second = Trainer(_config(amp="fp16", iterations=6, out_dir=str(tmp_path)), data)
    second.resume(tmp_path)
    assert second.scaler_g.state_dict() == first.scaler_g.state_dict()
    assert torch.equal(second.skipped_steps, first.skipped_steps)
    second.train()
    assert _equal(second.G, whole.G) and _equal(second.D, whole.D)
    assert second.scaler_g.state_dict() == whole.scaler_g.state_dict()
    assert second.scaler_d.state_dict() == whole.scaler_d.state_dict()
    assert torch.equal(second.skipped_steps, whole.skipped_steps)
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["skipped_g", "skipped_d"]


def test_fp16_needs_device_support() -> None:
    with pytest.raises(ValueError, match="amp='fp16' needs float16 autocast and torch.amp.GradScaler on the 'meta' device"):
        Precision("fp16", channels_last=False, device_type="meta")
    with pytest.raises(ValueError, match="amp must be 'none', 'bf16' or 'fp16', got 'fp8'"):
        Trainer(_config(amp="fp8"), _data())


def test_cuda_graph_marking_and_output_copies_leave_results_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    # On CUDA, compile_mode="reduce-overhead" marks each step for CUDA-graph trees and copies the
    # step outputs out of graph memory. Forced on here (eager CPU), it must change nothing.
    data = _data()
    calls: List[int] = []
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: calls.append(1))
    ref = Trainer(_config(n_dis=2), data)
    marked = Trainer(_config(n_dis=2), data)
    marked.precision.cudagraphs = True
    ref.train()
    marked.train()
    assert len(calls) == 4 * 3  # one G step and two D steps per iteration
    assert _equal(ref.G, marked.G) and _equal(ref.D, marked.D)
    cfg = Trainer(_config(compile_mode="reduce-overhead"), data).config
    assert cfg.compile and cfg.compile_mode == "reduce-overhead"


def _packed_storage(D: nn.Module) -> List[int]:
    groups = D.__dict__["_sn_fuser"]._groups
    assert groups
    return [id(g) for g in groups] + [t.data_ptr() for g in groups for t in (g.P, g.U, g.V, g.S)]


def test_fused_power_iteration_buffers_persist_across_steps_and_resume(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    tr = Trainer(_config(iterations=5, out_dir=str(tmp_path), ckpt_every=2, gp_weight=1.0), _data())
    tr.train_iteration()
    storage = _packed_storage(tr.D)
    u_ptrs = [b.data_ptr() for n, b in tr.D.named_buffers() if n.endswith(("weight_u", "weight_v"))]
    tr.train(stop_at=3)  # G steps, D steps, penalty forwards, a checkpoint
    assert _packed_storage(tr.D) == storage
    tr.resume(tmp_path)  # load_state_dict copies into the same buffers
    tr.train()
    assert _packed_storage(tr.D) == storage
    assert [b.data_ptr() for n, b in tr.D.named_buffers() if n.endswith(("weight_u", "weight_v"))] == u_ptrs


class _TinyG(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.resolution, self.out_channels = 8, 0, 4, 1
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh())

    def forward(self, z: torch.Tensor, y: Any = None) -> torch.Tensor:
        return self.net(z).view(-1, 1, 4, 4)


class _TinyD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.num_classes = 0
        self.net = layers.fuse_spectral_norm(nn.Sequential(layers.SNLinear(16, 16), nn.LeakyReLU(0.1), layers.SNLinear(16, 1)))

    def forward(self, x: torch.Tensor, y: Any = None) -> torch.Tensor:
        return self.net(x.flatten(1)).view(-1)


@pytest.mark.slow
def test_reduce_overhead_compile_runs_on_cpu_and_matches_eager() -> None:
    # On CPU, mode="reduce-overhead" compiles without CUDA graphs; the result must equal eager
    # within float rounding (tiny models: inductor's CPU compile of the ResNet takes minutes).
    g = torch.Generator().manual_seed(0)
    data = ImageDataset(torch.randint(0, 256, (16, 1, 4, 4), dtype=torch.uint8, generator=g))
    # SGD: updates linear in the gradients (Adam turns rounding-level differences of near-zero gradients
    # into differences of the size of the learning rate).
    cfg = dict(preset=None, arch="cnn", iterations=3, batch_size=4, g_batch_size=4, n_dis=1, log_every=3,
               optimizer_g="sgd", optimizer_d="sgd", lr_g=0.05, lr_d=0.05, momentum_d=0.5)
    torch.manual_seed(0)
    G, D = _TinyG(), _TinyD()
    eager = Trainer(_config(**cfg), data, G=copy.deepcopy(G), D=copy.deepcopy(D))
    compiled = Trainer(_config(compile_mode="reduce-overhead", **cfg), data, G=copy.deepcopy(G), D=copy.deepcopy(D))
    assert compiled.config.compile and not compiled.precision.cudagraphs  # no CUDA here
    eager.train()
    compiled.train()
    for (n, a), b in zip(eager.D.state_dict().items(), compiled.D.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=n)
    for (n, a), b in zip(eager.G.state_dict().items(), compiled.G.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=n)
