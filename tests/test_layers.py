"""Spectral-norm layers: exactness against independent references, robustness, formats."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import specnorm_gan as sg
from specnorm_gan.layers import _SpectralNorm


def _matrix(layer: nn.Module) -> torch.Tensor:
    w = layer.weight
    dim = 1 if isinstance(layer, nn.modules.conv._ConvTransposeNd) else 0
    return w.movedim(dim, 0).reshape(w.shape[dim], -1)


def _true_sigma(layer: nn.Module) -> torch.Tensor:
    return torch.linalg.matrix_norm(_matrix(layer).detach().double(), ord=2)


def _layers(dtype=torch.float64):
    torch.manual_seed(0)
    return {
        "linear": (sg.SNLinear(20, 30, dtype=dtype), torch.randn(4, 20, dtype=dtype)),
        "conv2d": (sg.SNConv2d(3, 8, 3, padding=1, dtype=dtype), torch.randn(2, 3, 6, 6, dtype=dtype)),
        "conv_grouped_dilated": (
            sg.SNConv2d(4, 8, 3, padding=2, dilation=2, groups=2, dtype=dtype),
            torch.randn(2, 4, 7, 7, dtype=dtype),
        ),
        "conv1x1": (sg.SNConv2d(8, 5, 1, dtype=dtype), torch.randn(2, 8, 4, 4, dtype=dtype)),
        "conv_transpose2d": (
            sg.SNConvTranspose2d(6, 4, 4, stride=2, padding=1, dtype=dtype),
            torch.randn(2, 6, 5, 5, dtype=dtype),
        ),
        "embedding": (sg.SNEmbedding(10, 16, dtype=dtype), torch.tensor([0, 3, 9, 3])),
    }


def _functional(layer: nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.Linear):
        return F.linear(x, w, layer.bias)
    if isinstance(layer, nn.Embedding):
        return F.embedding(x, w)
    if isinstance(layer, nn.ConvTranspose2d):
        return F.conv_transpose2d(x, w, layer.bias, layer.stride, layer.padding, layer.output_padding, layer.groups, layer.dilation)
    return F.conv2d(x, w, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups)


@pytest.mark.parametrize("name", list(_layers()))
def test_sigma_converges_to_matrix_norm_and_forward_matches_functional(name: str) -> None:
    layer, x = _layers()[name]
    layer.train()
    with torch.no_grad():
        for _ in range(300):
            layer(x)
    true = _true_sigma(layer)
    assert abs(layer.sigma - true) / true < 1e-4
    layer.eval()
    expected = _functional(layer, x, layer.weight / true)
    torch.testing.assert_close(layer(x), expected, rtol=1e-4, atol=1e-5)


def test_layers_are_instances_of_torch_classes_and_weight_is_the_raw_parameter() -> None:
    for cls, base in [
        (sg.SNLinear, nn.Linear), (sg.SNConv2d, nn.Conv2d), (sg.SNConvTranspose2d, nn.ConvTranspose2d),
        (sg.SNEmbedding, nn.Embedding), (sg.SNConv1d, nn.Conv1d), (sg.SNConv3d, nn.Conv3d),
        (sg.SNConvTranspose1d, nn.ConvTranspose1d), (sg.SNConvTranspose3d, nn.ConvTranspose3d),
    ]:
        assert issubclass(cls, base)
    layer = sg.SNConv2d(3, 4, 3)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["weight", "bias"]
    assert sorted(layer.state_dict()) == ["bias", "weight", "weight_u", "weight_v"]
    nn.init.zeros_(layer.weight)  # nn.init sees the raw weight
    assert layer.weight.abs().sum() == 0
    assert layer.sigma.dim() == 0 and not layer.sigma.requires_grad


def test_u_v_buffers_are_unit_vectors_and_warmup_gives_converged_sigma_in_eval() -> None:
    torch.manual_seed(1)
    layer = sg.SNConv2d(64, 128, 3)
    assert torch.allclose(layer.weight_u.norm(), torch.tensor(1.0))
    assert torch.allclose(layer.weight_v.norm(), torch.tensor(1.0))
    # Without any training forward, eval already divides by a warmed-up sigma (pytorch#51800).
    true = _true_sigma(layer)
    assert abs(layer.sigma - true) / true < 0.05
    # torch's hook-based SN has no warm-up: its first eval sigma is far worse.
    torch.manual_seed(1)
    ref = torch.nn.utils.spectral_norm(nn.Conv2d(64, 128, 3)).eval()
    ref_sigma = torch.dot(ref.weight_u, torch.mv(_matrix_orig(ref), ref.weight_v))
    assert abs(ref_sigma - true) / true > abs(layer.sigma - true) / true


def _matrix_orig(ref: nn.Module) -> torch.Tensor:
    return ref.weight_orig.detach().reshape(ref.weight_orig.shape[0], -1)


def test_power_iteration_and_gradient_match_torch_hook_spectral_norm_from_same_u_v() -> None:
    # torch.nn.utils.spectral_norm updates v then u (the paper's Algorithm 1), like this library.
    torch.manual_seed(0)
    ref = torch.nn.utils.spectral_norm(nn.Conv2d(4, 6, 3, dtype=torch.float64))
    ours = sg.SNConv2d(4, 6, 3, dtype=torch.float64)
    with torch.no_grad():
        ours.weight.copy_(ref.weight_orig)
        ours.bias.copy_(ref.bias)
        ours.weight_u.copy_(ref.weight_u)
        ours.weight_v.copy_(ref.weight_v)
    x = torch.randn(3, 4, 8, 8, dtype=torch.float64)
    for _ in range(3):
        ref.zero_grad(), ours.zero_grad()
        y_ref, y = ref(x), ours(x)
        torch.testing.assert_close(y, y_ref)
        (y_ref ** 2).sum().backward()
        (y ** 2).sum().backward()
        torch.testing.assert_close(ours.weight.grad, ref.weight_orig.grad)
        torch.testing.assert_close(ours.weight_u, ref.weight_u)
        torch.testing.assert_close(ours.weight_v, ref.weight_v)


def test_gradient_matches_torch_parametrization_at_convergence() -> None:
    torch.manual_seed(0)
    ref = torch.nn.utils.parametrizations.spectral_norm(nn.Linear(12, 9, dtype=torch.float64))
    ours = sg.SNLinear(12, 9, dtype=torch.float64)
    with torch.no_grad():
        ours.weight.copy_(ref.parametrizations.weight.original)
        ours.bias.copy_(ref.bias)
        for _ in range(500):  # converge both to the same singular pair
            ref(torch.zeros(1, 12, dtype=torch.float64))
            ours(torch.zeros(1, 12, dtype=torch.float64))
    x = torch.randn(5, 12, dtype=torch.float64)
    (ref(x).sin().sum()).backward()
    (ours(x).sin().sum()).backward()
    torch.testing.assert_close(ours.weight.grad, ref.parametrizations.weight.original.grad, rtol=1e-7, atol=1e-9)


def test_gradient_flows_through_sigma_finite_differences() -> None:
    # With u, v fixed (eval mode), W / (u^T W v) is a smooth function of W: check with gradcheck.
    torch.manual_seed(0)
    layer = sg.SNLinear(5, 4, dtype=torch.float64).eval()
    x = torch.randn(3, 5, dtype=torch.float64)

    def f(w: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            layer.weight.copy_(w)
        return layer(x)

    w0 = layer.weight.detach().clone().requires_grad_(True)

    def g(w: torch.Tensor) -> torch.Tensor:
        sigma = layer.weight_u @ w @ layer.weight_v
        return F.linear(x, w / sigma, layer.bias)

    assert torch.autograd.gradcheck(g, (w0,))
    # and the layer's own autograd equals the reference autograd
    out = layer(x)
    (grad,) = torch.autograd.grad(out.sum(), layer.weight)
    (grad_ref,) = torch.autograd.grad(g(w0).sum(), w0)
    torch.testing.assert_close(grad, grad_ref)


def test_eval_mode_writes_no_buffer_and_is_deterministic() -> None:
    for layer, x in _layers().values():
        layer.eval()
        before = {k: v.clone() for k, v in layer.state_dict().items()}
        y1, y2 = layer(x), layer(x)
        assert torch.equal(y1, y2)
        for k, v in layer.state_dict().items():
            assert torch.equal(v, before[k]), k
        layer.train()
        layer(x)
        assert not torch.equal(layer.weight_u, before["weight_u"]) or not torch.equal(layer.weight_v, before["weight_v"])


def test_zero_weight_batch_one_channels_last_float64() -> None:
    conv = sg.SNConv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.zero_()
    for mode in (True, False):
        conv.train(mode)
        out = conv(torch.randn(1, 3, 5, 5))
        assert torch.isfinite(out).all()
    lin = sg.SNLinear(3, 2)
    with torch.no_grad():
        lin.weight.fill_(1e-30)
    assert torch.isfinite(lin(torch.randn(1, 3))).all()
    conv = sg.SNConv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 5, 5)
    conv.eval()
    torch.testing.assert_close(conv(x.to(memory_format=torch.channels_last)), conv(x))
    conv64 = sg.SNConv2d(3, 4, 3, dtype=torch.float64)
    assert conv64(torch.randn(2, 3, 5, 5, dtype=torch.float64)).dtype == torch.float64
    assert conv64.weight_u.dtype == torch.float64


def _small_d(fused: bool) -> nn.Module:
    torch.manual_seed(0)
    d = nn.Sequential(
        sg.SNConv2d(3, 8, 3, padding=1), nn.ReLU(), sg.SNConv2d(8, 8, 3, padding=1), nn.ReLU(),
        sg.SNConv2d(8, 8, 3, padding=1), nn.ReLU(), sg.SNConv2d(8, 16, 1), nn.Flatten(), sg.SNLinear(16 * 16, 1),
    )
    return sg.fuse_spectral_norm(d) if fused else d


@pytest.mark.parametrize("fused", [False, True])
def test_two_forwards_before_one_backward(fused: bool) -> None:
    d = _small_d(fused)
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    loss = F.relu(1 - d(real)).mean() + F.relu(1 + d(fake)).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())


def test_fused_equals_per_layer() -> None:
    a, b = _small_d(False), _small_d(True)
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.1)
    torch.manual_seed(1)
    for _ in range(3):
        x = torch.randn(4, 3, 4, 4)
        for m, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            m(x).square().mean().backward()
            opt.step()
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=n)
    a.eval(), b.eval()
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(a(x), b(x), rtol=1e-5, atol=1e-6)


def test_fused_path_runs_fewer_operators_than_per_layer() -> None:
    from torch.profiler import ProfilerActivity, profile

    counts = {}
    x = torch.randn(2, 3, 4, 4)
    for fused in (False, True):
        d = _small_d(fused)
        d(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            d(x)
        counts[fused] = sum(e.count for e in prof.key_averages() if e.key.startswith("aten::"))
    assert counts[True] < counts[False]


def test_deepcopy_pickle_state_dict_round_trip() -> None:
    d = _small_d(True)
    d(torch.randn(2, 3, 4, 4))  # a training forward first
    for make in (copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))):
        clone = make(d)
        for (k, v), w in zip(d.state_dict().items(), clone.state_dict().values()):
            assert torch.equal(v, w), k
        x = torch.randn(2, 3, 4, 4)
        torch.testing.assert_close(clone(x), d(x))  # both advance u identically
    buf = io.BytesIO()
    torch.save(d.state_dict(), buf)
    buf.seek(0)
    other = _small_d(True)
    other.load_state_dict(torch.load(buf, weights_only=True))
    for (k, v), w in zip(d.state_dict().items(), other.state_dict().values()):
        assert torch.equal(v, w), k


def test_loads_both_torch_spectral_norm_formats() -> None:
    torch.manual_seed(0)
    hook = torch.nn.utils.spectral_norm(nn.Conv2d(3, 5, 3))
    param = torch.nn.utils.parametrizations.spectral_norm(nn.ConvTranspose2d(5, 3, 4))
    for _ in range(5):
        hook(torch.randn(1, 3, 6, 6)), param(torch.randn(1, 5, 3, 3))
    hook.eval(), param.eval()
    ours_conv = sg.SNConv2d(3, 5, 3).eval()
    ours_conv.load_state_dict(hook.state_dict())
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(ours_conv(x), hook(x))
    ours_t = sg.SNConvTranspose2d(5, 3, 4).eval()
    sd = param.state_dict()
    sg.load_torch_spectral_norm_state_dict(ours_t, sd)
    assert "parametrizations.weight.original" in sd  # the helper leaves the caller's dict intact
    x = torch.randn(2, 5, 3, 3)
    torch.testing.assert_close(ours_t(x), param(x))


def test_ema_copies_sn_buffers_and_keeps_sigma() -> None:
    d = _small_d(True)
    ema = copy.deepcopy(d)
    opt = torch.optim.SGD(d.parameters(), lr=5e-4)
    for _ in range(30):
        opt.zero_grad()
        d(torch.randn(4, 3, 4, 4)).mean().backward()
        opt.step()
        sg.ema_update_(ema, d, decay=0.9)
    for (name, m), m_ema in zip(d.named_modules(), ema.modules()):
        if isinstance(m, _SpectralNorm):
            assert torch.equal(m.weight_u, m_ema.weight_u) and torch.equal(m.weight_v, m_ema.weight_v), name
            assert torch.allclose(m_ema.weight_u.norm(), torch.tensor(1.0))
            # the EMA copy's sigma matches the source's and the true norm of its own weights
            assert abs(m_ema.sigma - m.sigma) / m.sigma < 0.02, name
            assert abs(m_ema.sigma - _true_sigma(m_ema)) / _true_sigma(m_ema) < 0.02, name
    sg.ema_update_(ema, d, decay=0.0)  # decay 0 copies the parameters
    for p, q in zip(d.parameters(), ema.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="decay"):
        sg.ema_update_(ema, d, decay=1.5)


def test_spectral_norm_on_existing_modules_and_remove() -> None:
    torch.manual_seed(0)
    cases = [
        (nn.Linear(4, 3), torch.randn(2, 4)),
        (nn.Conv1d(2, 3, 3), torch.randn(2, 2, 7)),
        (nn.Conv2d(2, 3, 3), torch.randn(2, 2, 5, 5)),
        (nn.Conv3d(2, 3, 2), torch.randn(1, 2, 3, 3, 3)),
        (nn.ConvTranspose1d(3, 2, 3), torch.randn(2, 3, 5)),
        (nn.ConvTranspose2d(3, 2, 3), torch.randn(2, 3, 4, 4)),
        (nn.ConvTranspose3d(3, 2, 2), torch.randn(1, 3, 2, 2, 2)),
        (nn.Embedding(7, 5), torch.tensor([1, 2, 6])),
    ]
    for module, x in cases:
        plain_cls = type(module)
        weight = module.weight
        layer = sg.spectral_norm(module)
        assert layer is module and layer.weight is weight and isinstance(layer, plain_cls)
        assert sg.is_spectral_norm(layer)
        for _ in range(200):
            layer(x)
        true = _true_sigma(layer)
        assert abs(layer.sigma - true) / true < 1e-3, plain_cls
        layer.eval()
        y = layer(x)
        sg.remove_spectral_norm(layer)
        assert type(layer) is plain_cls and not list(layer.buffers())
        torch.testing.assert_close(layer(x), y)
    d = sg.spectral_norm_all(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1)))
    assert list(sg.spectral_norms(d)) == ["0", "2"]
    assert all(s.dim() == 0 for s in sg.spectral_norms(d).values())


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(ValueError, match="n_power_iterations"):
        sg.SNLinear(2, 3, n_power_iterations=0)
    with pytest.raises(ValueError, match="eps"):
        sg.SNConv2d(2, 3, 3, eps=0.0)
    with pytest.raises(TypeError, match="supports"):
        sg.spectral_norm(nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="already"):
        sg.spectral_norm(sg.SNLinear(2, 3))
    with pytest.raises(ValueError, match=r"\(\*, 4\)"):
        sg.SNLinear(4, 3)(torch.randn(2, 5))
    with pytest.raises(ValueError, match="3 input channels"):
        sg.SNConv2d(3, 4, 3)(torch.randn(2, 4, 8, 8))
    with pytest.raises(TypeError, match="integer"):
        sg.SNEmbedding(4, 3)(torch.randn(2))
    with pytest.raises(ValueError, match="shape"):
        sg.SNLinear(4, 3).load_state_dict(sg.SNLinear(5, 3).state_dict())
    with pytest.raises(TypeError, match="no spectral"):
        sg.remove_spectral_norm(nn.Linear(2, 2))


def test_torch_compile_fullgraph_train_forward_backward_matches_eager() -> None:
    eager, compiled_src = _small_d(True), _small_d(True)
    compiled = torch.compile(compiled_src, fullgraph=True, backend="aot_eager")
    x = torch.randn(4, 3, 4, 4)
    for _ in range(2):
        y_e, y_c = eager(x), compiled(x)
        torch.testing.assert_close(y_c, y_e, rtol=1e-5, atol=1e-6)
        y_e.square().sum().backward()
        y_c.square().sum().backward()
    for (n, p), q in zip(eager.named_parameters(), compiled_src.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6, msg=n)
    for (n, b), c in zip(eager.named_buffers(), compiled_src.buffers()):
        torch.testing.assert_close(c, b, rtol=1e-5, atol=1e-6, msg=n)


def test_autocast_bfloat16_keeps_sn_in_float32() -> None:
    d = _small_d(True)
    x = torch.randn(4, 3, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = d(x)
    assert torch.isfinite(y).all()
    for m in d.modules():
        if isinstance(m, _SpectralNorm):
            assert m.weight_u.dtype == torch.float32 and torch.isfinite(m.weight_u).all()
            assert torch.allclose(m.weight_u.norm(), torch.tensor(1.0), atol=1e-5)
    # large weights would overflow float16; the iteration still runs in float32
    lin = sg.SNLinear(8, 8)
    with torch.no_grad():
        lin.weight.mul_(1e5)
    with torch.autocast("cpu", dtype=torch.float16):
        out = lin(torch.randn(2, 8))
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------------------------------
# The packed (fused) power iteration against the per-layer path
# --------------------------------------------------------------------------------------------
class _Mixed(nn.Module):
    """Every layer kind and several shapes (dim 0 and dim 1 weights) in one fused root."""

    def __init__(self, n_power_iterations: int = 1) -> None:
        super().__init__()
        kw = dict(n_power_iterations=n_power_iterations, dtype=torch.float64)
        self.embed = sg.SNEmbedding(5, 6, **kw)
        self.up = sg.SNConvTranspose2d(6, 4, 4, stride=2, padding=1, **kw)
        self.c1 = sg.SNConv2d(4, 8, 3, padding=1, **kw)
        self.c2 = sg.SNConv2d(8, 8, 3, padding=1, **kw)
        self.c3 = sg.SNConv2d(8, 8, 3, padding=1, **kw)
        self.sc = sg.SNConv2d(4, 8, 1, **kw)
        self.head = sg.SNLinear(8, 1, **kw)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        h = self.up(self.embed(y)[:, :, None, None].expand(-1, -1, 3, 3).contiguous())
        h = self.c3(F.relu(self.c2(F.relu(self.c1(h))))) + self.sc(h)
        return self.head(h.sum(dim=(2, 3))).view(-1)


def _mixed_pair(n_power_iterations: int = 1) -> tuple:
    torch.manual_seed(3)
    per_layer = _Mixed(n_power_iterations)
    fused = sg.fuse_spectral_norm(copy.deepcopy(per_layer))
    return per_layer, fused


def _grads(model: nn.Module) -> list:
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_packed_fused_path_equals_per_layer_path(n_power_iterations: int) -> None:
    # Forward, gradients (through sigma), u/v buffers: float64, training and eval mode, with the
    # D(real) + D(fake) pattern (two forwards before one backward) and an optimizer between steps.
    per_layer, fused = _mixed_pair(n_power_iterations)
    opts = [torch.optim.SGD(m.parameters(), lr=0.05) for m in (per_layer, fused)]
    for step in range(3):
        y1, y2 = torch.tensor([0, 4, 2]), torch.tensor([1, 1, 3])
        grads = []
        for model, opt in zip((per_layer, fused), opts):
            opt.zero_grad()
            (model(y1).square().mean() - model(y2).mean()).backward()
            grads.append(_grads(model))
            opt.step()
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for (k, a), b in zip(per_layer.state_dict().items(), fused.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=k)
    per_layer.eval(), fused.eval()
    y = torch.tensor([0, 1, 2, 3, 4])
    for model in (per_layer, fused):
        model.zero_grad()
        model(y).sum().backward()
    torch.testing.assert_close(per_layer(y), fused(y), rtol=1e-10, atol=1e-12)
    for a, b in zip(_grads(per_layer), _grads(fused)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_packed_path_gradient_matches_finite_differences() -> None:
    _, fused = _mixed_pair()
    fused.eval()  # fixed u, v: the output is a smooth function of the weights
    y = torch.tensor([0, 2, 4])
    params = dict(fused.named_parameters())
    names = ["up.weight", "c2.weight", "head.weight", "embed.weight"]

    def f(*weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(fused, {**params, **dict(zip(names, weights))}, (y,))

    assert torch.autograd.gradcheck(f, tuple(params[n].detach().clone().requires_grad_() for n in names))


def test_packed_path_sees_buffers_written_or_replaced_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    import specnorm_gan.layers.fused as layers  # the module whose _pack_layers reads _PACK_ALLOWANCE

    for allowance in (layers._PACK_ALLOWANCE, 0):  # one packed group, then one group per shape
        monkeypatch.setattr(layers, "_PACK_ALLOWANCE", allowance)
        per_layer, fused = _mixed_pair()
        y = torch.tensor([0, 3])
        fused(y), per_layer(y)
        groups = fused._sn_fuser._groups
        assert len(groups) == 1 if allowance else len(groups) > 2
        # load_state_dict writes the buffers in place; reset_spectral_norm redraws them.
        source = _Mixed()
        per_layer.load_state_dict(source.state_dict())
        fused.load_state_dict(source.state_dict())
        torch.testing.assert_close(fused(y), per_layer(y), rtol=1e-10, atol=1e-12)
        torch.manual_seed(9)
        sg.reset_spectral_norm(per_layer)
        torch.manual_seed(9)
        sg.reset_spectral_norm(fused)
        torch.testing.assert_close(fused(y), per_layer(y), rtol=1e-10, atol=1e-12)
        # Buffers replaced by new tensors (dtype change) rebuild the packed storage.
        per_layer.float(), fused.float()
        torch.testing.assert_close(fused(y), per_layer(y), rtol=1e-5, atol=1e-6)
        for (k, a), b in zip(per_layer.state_dict().items(), fused.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)


def test_packed_path_dispatches_at_most_a_fifth_of_torchs_operators() -> None:
    # The target, as a property: count ATen operators per training forward (profiler),
    # minus those of the same network without SN, for 5 distinct weight shapes and 11 layers.
    from torch.profiler import ProfilerActivity, profile

    def stack() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 16, 1),
            *[nn.Conv2d(16, 16, 3, padding=1) for _ in range(6)], nn.Conv2d(16, 8, 1),
            nn.Flatten(), nn.Linear(8 * 4 * 4, 1),
        )

    def count(model: nn.Module) -> int:
        x = torch.randn(2, 3, 4, 4)
        model(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            model(x)
        return sum(e.count for e in prof.key_averages() if e.key.startswith("aten::"))

    plain = count(stack())
    ours = count(sg.spectral_norm_all(stack()))
    theirs_model = stack()
    for m in theirs_model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            torch.nn.utils.parametrizations.spectral_norm(m)
    theirs = count(theirs_model)
    assert (ours - plain) <= 0.2 * (theirs - plain), (ours - plain, theirs - plain)


@pytest.mark.parametrize("fused", [False, True])
def test_eval_forward_then_training_forward_then_backward(fused: bool) -> None:
    # An eval-mode forward's graph must not see the u, v that a later training forward writes.
    per_layer, other = _mixed_pair()
    model = other if fused else per_layer
    reference = copy.deepcopy(model)
    y = torch.tensor([0, 2, 4])
    model.eval()
    out_eval = model(y).sum()
    model.train()
    model(y)
    out_eval.backward()
    reference.eval()
    reference(y).sum().backward()
    for a, b in zip(_grads(model), _grads(reference)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_packing_bounds_the_padding() -> None:
    # ImageNet-sized D: very different shapes must not all be padded to the largest one.
    from specnorm_gan.layers import _PACK_ALLOWANCE, _PACK_SLACK, _pack_layers

    meta = dict(device="meta")
    layers = [sg.SNConv2d(1024, 1024, 3, **meta) for _ in range(4)] + [
        sg.SNConv2d(64, 64, 3, **meta), sg.SNConv2d(3, 64, 3, **meta), sg.SNConv2d(512, 1024, 1, **meta),
        sg.SNLinear(1024, 1, **meta), sg.SNEmbedding(1000, 1024, **meta),
    ]
    groups = _pack_layers(layers)
    assert sorted(id(m) for g in groups for m in g.layers) == sorted(id(m) for m in layers)
    assert 1 < len(groups) < len(layers)
    for g in groups:
        real = sum(r * c for r, c in g.shapes)
        assert g.P.numel() <= _PACK_SLACK * real + _PACK_ALLOWANCE
