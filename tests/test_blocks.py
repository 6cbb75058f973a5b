"""Blocks against independent functional re-implementations (float64, exact spectral norms)."""

from __future__ import annotations

import math
from typing import Callable, List, Optional

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import specnorm_gan
from specnorm_gan import ConditionalBatchNorm2d, DBlock, GBlock, OptimizedDBlock, ProjectionHead, init_weights
from specnorm_gan.layers import is_spectral_norm

DT = torch.float64


# --------------------------------------------------------------------------------------------
# Reference helpers (written from the official Chainer definitions, not from blocks.py)
# --------------------------------------------------------------------------------------------
def _converge(module: nn.Module) -> nn.Module:
    """float64 and a fully converged power iteration, so W / sigma can be compared exactly."""
    module.to(DT)
    specnorm_gan.reset_spectral_norm(module, iterations=2000)
    return module


def _w(layer: nn.Module) -> Tensor:
    w = layer.weight
    if is_spectral_norm(layer):
        dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0
        mat = w.movedim(dim, 0).reshape(w.shape[dim], -1)
        w = w / torch.linalg.matrix_norm(mat, ord=2)
    return w


def _conv(layer: nn.Conv2d, x: Tensor) -> Tensor:
    return F.conv2d(x, _w(layer), layer.bias, layer.stride, layer.padding)


def _bn_train(x: Tensor, eps: float, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None) -> Tensor:
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    h = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        h = h * weight.view(weight.shape[0], -1, 1, 1) if weight.dim() == 2 else h * weight.view(1, -1, 1, 1)
    if bias is not None:
        h = h + (bias.view(bias.shape[0], -1, 1, 1) if bias.dim() == 2 else bias.view(1, -1, 1, 1))
    return h


def _up(x: Tensor) -> Tensor:
    # Nearest-neighbour x2 = Chainer unpooling_2d(ksize 2): every pixel repeated in a 2x2 patch.
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def _down(x: Tensor) -> Tensor:
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))


def _relu(x: Tensor, slope: float = 0.0) -> Tensor:
    return torch.where(x > 0, x, slope * x)


def _g_bn(block: GBlock, bn: nn.Module, h: Tensor, y: Optional[Tensor]) -> Tensor:
    if isinstance(bn, ConditionalBatchNorm2d):
        return _bn_train(h, bn.eps, bn.weight[y], bn.bias[y])
    return _bn_train(h, bn.eps, bn.weight, bn.bias)


# --------------------------------------------------------------------------------------------
# ConditionalBatchNorm2d
# --------------------------------------------------------------------------------------------
def test_conditional_bn_equals_batchnorm_at_init() -> None:
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(6, num_classes=4, eps=2e-5, momentum=0.1)
    bn = nn.BatchNorm2d(6, eps=2e-5, momentum=0.1)
    for _ in range(3):
        x = torch.randn(8, 6, 5, 5) * 3 + 1
        y = torch.randint(0, 4, (8,))
        assert torch.allclose(cbn(x, y), bn(x), atol=1e-6)
    assert torch.allclose(cbn.bn.running_mean, bn.running_mean)
    assert torch.allclose(cbn.bn.running_var, bn.running_var)
    cbn.eval()
    bn.eval()
    x = torch.randn(4, 6, 5, 5)
    assert torch.allclose(cbn(x, torch.tensor([0, 1, 2, 3])), bn(x), atol=1e-6)
    assert cbn.eps == 2e-5 and cbn.momentum == 0.1
    n_params = sum(p.numel() for p in cbn.parameters())
    assert n_params == 2 * 4 * 6  # no shared affine: 2 * num_classes * C


def test_conditional_bn_selects_per_class_parameters() -> None:
    torch.manual_seed(1)
    cbn = ConditionalBatchNorm2d(3, num_classes=5, eps=1e-4).to(DT)
    with torch.no_grad():
        cbn.weight.normal_()
        cbn.bias.normal_()
    x = torch.randn(6, 3, 4, 4, dtype=DT)
    y = torch.tensor([4, 0, 4, 2, 1, 3])
    normed = _bn_train(x, 1e-4)
    expected = torch.stack([normed[i] * cbn.weight[y[i]].view(3, 1, 1) + cbn.bias[y[i]].view(3, 1, 1) for i in range(6)])
    out = cbn(x, y)
    assert torch.allclose(out, expected, atol=1e-10)
    # Soft labels: one-hot rows give the same result, a 50/50 mix averages the two classes' affine.
    assert torch.allclose(cbn(x, F.one_hot(y, 5).to(DT)), out, atol=1e-10)
    mix = torch.zeros(6, 5, dtype=DT)
    mix[:, 1] = mix[:, 2] = 0.5
    w = (cbn.weight[1] + cbn.weight[2]) / 2
    b = (cbn.bias[1] + cbn.bias[2]) / 2
    assert torch.allclose(cbn(x, mix), normed * w.view(1, 3, 1, 1) + b.view(1, 3, 1, 1), atol=1e-10)
    # Gradients reach only the rows of the classes used.
    cbn.zero_grad()
    cbn(x, torch.tensor([1, 1, 1, 3, 3, 3])).sum().backward()
    assert torch.count_nonzero(cbn.weight.grad.abs().sum(1)) == 2


def test_conditional_bn_bad_input() -> None:
    cbn = ConditionalBatchNorm2d(3, num_classes=5)
    x = torch.randn(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        cbn(x, torch.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        cbn(x, torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        cbn(x, torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        cbn(torch.randn(2, 4, 4, 4), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer"):
        cbn(x, torch.tensor([True, False]))
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        cbn(x, torch.rand(2, 4))
    with pytest.raises(ValueError, match="num_classes"):
        ConditionalBatchNorm2d(3, num_classes=0)


def test_conditional_bn_survives_sync_batchnorm_conversion() -> None:
    cbn = ConditionalBatchNorm2d(3, num_classes=5)
    with torch.no_grad():
        cbn.weight.mul_(2)
    model = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(cbn))
    converted = model[0]
    assert isinstance(converted, ConditionalBatchNorm2d)
    assert isinstance(converted.bn, nn.SyncBatchNorm)
    assert torch.equal(converted.weight, torch.full((5, 3), 2.0))


# --------------------------------------------------------------------------------------------
# Projection head
# --------------------------------------------------------------------------------------------
def test_projection_head_equals_its_formula() -> None:
    torch.manual_seed(2)
    head = _converge(ProjectionHead(7, num_classes=4)).eval()
    with torch.no_grad():
        head.linear.bias.fill_(0.3)
    h = torch.randn(5, 7, dtype=DT)
    y = torch.tensor([3, 0, 1, 3, 2])
    w = head.linear.weight / torch.linalg.matrix_norm(head.linear.weight, ord=2)
    e = head.embed.weight / torch.linalg.matrix_norm(head.embed.weight, ord=2)
    expected = h @ w[0] + 0.3 + (e[y] * h).sum(dim=1)
    out = head(h, y)
    assert out.shape == (5,)
    assert torch.allclose(out, expected, atol=1e-10)


def test_projection_head_options_and_bad_input() -> None:
    uncond = ProjectionHead(6, bias=False)
    assert uncond.embed is None and uncond.linear.bias is None
    assert is_spectral_norm(uncond.linear)
    plain = ProjectionHead(6, num_classes=3, sn_linear=False)
    assert type(plain.linear) is nn.Linear and is_spectral_norm(plain.embed)
    h = torch.randn(2, 6)
    with pytest.raises(ValueError, match="expected y=None"):
        uncond(h, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="num_classes=3"):
        plain(h)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        plain(h, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        plain(torch.randn(2, 5), torch.tensor([0, 1]))


# --------------------------------------------------------------------------------------------
# Generator block
# --------------------------------------------------------------------------------------------
def _gblock_reference(block: GBlock, x: Tensor, y: Optional[Tensor]) -> Tensor:
    slope = block.negative_slope
    up = (lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)) if block.upsample_mode == "bilinear" else _up
    if not block.upsample:
        up = lambda t: t  # noqa: E731
    if block.order == "pre":
        h = _relu(_g_bn(block, block.b1, x, y), slope)
        h = _conv(block.c1, up(h))
        h = _relu(_g_bn(block, block.b2, h, y), slope)
        h = _conv(block.c2, h)
    else:
        h = _relu(_g_bn(block, block.b1, _conv(block.c1, up(x)), y), slope)
        h = _relu(_g_bn(block, block.b2, _conv(block.c2, h), y), slope)
    sc = up(x)
    if block.c_sc is not None:
        sc = _conv(block.c_sc, sc)
    return h + sc


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(in_channels=6, out_channels=4),
        dict(in_channels=4, out_channels=4, num_classes=3),
        dict(in_channels=4, out_channels=6, order="post", num_classes=3),
        dict(in_channels=4, out_channels=4, upsample_mode="bilinear"),
        dict(in_channels=4, out_channels=4, learnable_shortcut=False, negative_slope=0.2),
        dict(in_channels=4, out_channels=4, upsample=False),
        dict(in_channels=4, out_channels=5, hidden_channels=3, sn=True),
    ],
)
@pytest.mark.parametrize("fold", [True, False])
def test_gblock_matches_reference(kwargs: dict, fold: bool) -> None:
    torch.manual_seed(3)
    block = specnorm_gan.fold_resampling(_converge(GBlock(**kwargs)), fold)
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, ConditionalBatchNorm2d) or isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.normal_()
                m.bias.normal_()
    x = torch.randn(4, kwargs["in_channels"], 4, 4, dtype=DT)
    y = torch.tensor([0, 2, 1, 2]) if kwargs.get("num_classes") else None
    out = block(x, y)
    size = 8 if kwargs.get("upsample", True) else 4
    assert out.shape == (4, kwargs["out_channels"], size, size)
    assert torch.allclose(out, _gblock_reference(block, x, y), atol=1e-9)


def test_gblock_official_structure() -> None:
    block = GBlock(8, 4)
    # Hidden width = out; both 3x3; BN eps 2e-5 (Chainer); shortcut is learnable when upsampling.
    assert block.c1.out_channels == 4 and block.c1.kernel_size == (3, 3) and block.c2.kernel_size == (3, 3)
    assert block.b1.num_features == 8 and block.b2.num_features == 4 and block.b1.eps == 2e-5
    assert block.c_sc is not None and block.c_sc.kernel_size == (1, 1)
    assert GBlock(4, 4).c_sc is not None  # in == out but upsampling: still learnable (official rule)
    assert GBlock(4, 4, upsample=False).c_sc is None
    assert GBlock(4, 4, learnable_shortcut=False).c_sc is None
    assert not any(is_spectral_norm(m) for m in block.modules())
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        GBlock(4, 8, learnable_shortcut=False)
    with pytest.raises(ValueError, match="order"):
        GBlock(4, 4, order="middle")
    with pytest.raises(ValueError, match="upsample_mode"):
        GBlock(4, 4, upsample_mode="bicubic")
    with pytest.raises(ValueError, match="needs labels"):
        GBlock(4, 4, num_classes=3)(torch.randn(2, 4, 2, 2))


# --------------------------------------------------------------------------------------------
# Discriminator blocks
# --------------------------------------------------------------------------------------------
def _dblock_reference(block: DBlock, x: Tensor) -> Tensor:
    s = block.negative_slope
    if block.order == "pre":
        h = _conv(block.c2, _relu(_conv(block.c1, _relu(x, s)), s))
        sc = _conv(block.c_sc, x) if block.c_sc is not None else x  # conv1x1 first, then pool
        if block.downsample:
            h, sc = _down(h), _down(sc)
        return h + sc
    if block.downsample:
        x = _down(x)
    h = _relu(_conv(block.c2, _relu(_conv(block.c1, x), s)), s)
    return h + (_conv(block.c_sc, x) if block.c_sc is not None else x)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(in_channels=4, out_channels=6),
        dict(in_channels=4, out_channels=4, downsample=False),
        dict(in_channels=4, out_channels=4),
        dict(in_channels=4, out_channels=6, hidden_channels=6, negative_slope=0.1),
        dict(in_channels=4, out_channels=6, order="post"),
        dict(in_channels=4, out_channels=4, order="post", downsample=False, negative_slope=0.2),
    ],
)
@pytest.mark.parametrize("fold", [True, False])
def test_dblock_matches_reference(kwargs: dict, fold: bool) -> None:
    torch.manual_seed(4)
    block = specnorm_gan.fold_resampling(_converge(DBlock(**kwargs)), fold)
    x = torch.randn(3, kwargs["in_channels"], 6, 6, dtype=DT)
    out = block(x)
    size = 3 if kwargs.get("downsample", True) else 6
    assert out.shape == (3, kwargs["out_channels"], size, size)
    assert torch.allclose(out, _dblock_reference(block, x), atol=1e-9)


def test_dblock_official_structure() -> None:
    block = DBlock(4, 8)
    assert block.c1.out_channels == 4  # hidden = in (official), not out
    assert block.c2.in_channels == 4 and block.c2.out_channels == 8
    assert all(is_spectral_norm(m) for m in (block.c1, block.c2, block.c_sc))
    assert DBlock(4, 8, hidden_channels=8).c1.out_channels == 8
    assert DBlock(4, 4).c_sc is not None  # downsampling: learnable shortcut
    assert DBlock(4, 4, downsample=False).c_sc is None
    assert DBlock(4, 4, order="post").c_sc is None  # post-activation: conv only when in != out
    assert not any(is_spectral_norm(m) for m in DBlock(4, 4, sn=False).modules())
    with pytest.raises(ValueError, match="negative_slope"):
        DBlock(4, 4, negative_slope=-0.1)


def test_optimized_dblock_matches_reference() -> None:
    torch.manual_seed(5)
    block = _converge(OptimizedDBlock(3, 5))
    x = torch.randn(2, 3, 8, 8, dtype=DT)
    # No activation on the image; residual pooled after conv; shortcut pooled before the 1x1 conv.
    expected = _down(_conv(block.c2, _relu(_conv(block.c1, x)))) + _conv(block.c_sc, _down(x))
    assert torch.allclose(block(x), expected, atol=1e-9)
    leaky = _converge(OptimizedDBlock(3, 5, negative_slope=0.2))
    expected = _down(_conv(leaky.c2, _relu(_conv(leaky.c1, x), 0.2))) + _conv(leaky.c_sc, _down(x))
    assert torch.allclose(leaky(x), expected, atol=1e-9)


def test_dblock_shortcut_sees_the_raw_input() -> None:
    # Residual weights zero -> the block is its shortcut. With an identity 1x1 conv (sigma 1) the
    # output must be avgpool(x), negative values included; an in-place ReLU at the block input
    # would return avgpool(relu(x)).
    block = DBlock(3, 3, downsample=True)
    with torch.no_grad():
        block.c1.weight.zero_()
        block.c2.weight.zero_()
        block.c1.bias.zero_()
        block.c2.bias.zero_()
        block.c_sc.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        block.c_sc.bias.zero_()
    specnorm_gan.reset_spectral_norm(block)
    x = -torch.rand(2, 3, 4, 4) - 0.5  # all negative
    assert torch.allclose(block(x), F.avg_pool2d(x, 2), atol=1e-6)


BLOCK_FACTORIES = {
    "gblock": lambda: GBlock(4, 4),
    "gblock_cond": lambda: GBlock(4, 6, num_classes=3),
    "gblock_post": lambda: GBlock(4, 4, order="post", negative_slope=0.1),
    "dblock": lambda: DBlock(4, 6),
    "dblock_identity": lambda: DBlock(4, 4, downsample=False),
    "dblock_leaky": lambda: DBlock(4, 4, negative_slope=0.2),
    "dblock_post": lambda: DBlock(4, 6, order="post"),
    "optimized": lambda: OptimizedDBlock(4, 6),
    "head": lambda: ProjectionHead(4, num_classes=3),
    "cbn": lambda: ConditionalBatchNorm2d(4, num_classes=3),
}


@pytest.mark.parametrize("name", sorted(BLOCK_FACTORIES))
def test_blocks_never_mutate_their_input(name: str) -> None:
    torch.manual_seed(6)
    block = BLOCK_FACTORIES[name]()
    x = torch.randn(4, 4) if name == "head" else torch.randn(4, 4, 4, 4)  # has negative entries
    x.requires_grad_(True)
    before = x.detach().clone()
    version = x._version
    y = torch.tensor([0, 1, 2, 1])
    takes_y = isinstance(block, (ConditionalBatchNorm2d, ProjectionHead)) or getattr(block, "num_classes", 0) > 0
    out = block(x, y) if takes_y else block(x)
    out.square().sum().backward()
    assert x._version == version, "the block wrote into its input"
    assert torch.equal(x.detach(), before)


# --------------------------------------------------------------------------------------------
# Initialization
# --------------------------------------------------------------------------------------------
def _glorot_bound(w: Tensor, gain: float) -> float:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def test_chainer_init_gains_and_zero_biases() -> None:
    torch.manual_seed(7)
    D = specnorm_gan.SNResNetDiscriminator(32, num_classes=10, width=0.5)
    G = specnorm_gan.SNResNetGenerator(32, num_classes=10, width=0.5)
    checked = 0
    for model in (D, G):
        residual = {id(c) for m in model.modules() if isinstance(m, (GBlock, DBlock, OptimizedDBlock)) for c in (m.c1, m.c2)}
        for m in model.modules():
            if not isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
                continue
            gain = math.sqrt(2.0) if id(m) in residual else 1.0
            bound = _glorot_bound(m.weight, gain)
            w = m.weight.detach().abs()
            assert float(w.max()) <= bound + 1e-7
            if m.weight.numel() >= 1000:  # a uniform sample reaches close to its bound
                assert float(w.max()) > 0.95 * bound, type(m).__name__
            if getattr(m, "bias", None) is not None:
                assert torch.count_nonzero(m.bias) == 0
            checked += 1
    assert checked > 20
    for m in G.modules():
        if isinstance(m, ConditionalBatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and torch.count_nonzero(m.bias) == 0


def test_other_init_schemes() -> None:
    torch.manual_seed(8)
    block = init_weights(DBlock(16, 32), "orthogonal")
    mat = block.c2.weight.detach().reshape(32, -1)  # 32 x 144: orthonormal rows
    assert torch.allclose(mat @ mat.T, torch.eye(32), atol=1e-5)
    block = init_weights(DBlock(64, 64), "normal0.02")
    assert abs(float(block.c1.weight.detach().std()) - 0.02) < 0.001
    block = init_weights(DBlock(8, 16), "torch-default")
    assert torch.count_nonzero(block.c1.bias) > 0
    block = init_weights(DBlock(8, 16), "xavier", residual_gain=3.0)
    assert float(block.c1.weight.detach().abs().max()) > _glorot_bound(block.c1.weight, 1.0)
    with pytest.raises(ValueError, match="chainer"):
        init_weights(DBlock(8, 16), "kaiming")


def _sigma_errors(model: nn.Module) -> List[float]:
    errors = []
    for m in model.modules():
        if is_spectral_norm(m):
            w = m.weight.detach()
            exact = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2)
            errors.append(float((m.sigma - exact).abs() / exact))
    return errors


def test_init_rewarms_spectral_norm() -> None:
    # After re-initialization, sigma must describe the new weights (reset_spectral_norm was run):
    # within the accuracy of the 15-iteration warm-up. Stale u, v (weights re-drawn behind the
    # layers' back) give estimates far below the true sigma, which this check would catch.
    torch.manual_seed(9)
    D = specnorm_gan.SNResNetDiscriminator(32, width=0.25)
    for scheme in ("orthogonal", "chainer"):
        init_weights(D, scheme)
        assert max(_sigma_errors(D)) < 0.1, scheme
    with torch.no_grad():
        for m in D.modules():
            if is_spectral_norm(m):
                nn.init.orthogonal_(m.weight)
    assert max(_sigma_errors(D)) > 0.5  # the control: without a reset the estimates are stale


@pytest.mark.parametrize("factory", [lambda: DBlock(4, 4), lambda: OptimizedDBlock(3, 4), lambda: GBlock(4, 4)])
def test_blocks_in_eval_mode_are_deterministic_and_leave_buffers_alone(factory: Callable[[], nn.Module]) -> None:
    # eval mode is deterministic and leaves SN buffers unchanged.
    block = factory().eval()
    x = torch.randn(2, block.c1.in_channels, 4, 4)
    buffers = [b.clone() for b in block.buffers()]
    out1, out2 = block(x), block(x)
    assert torch.equal(out1, out2)
    assert all(torch.equal(a, b) for a, b in zip(buffers, block.buffers()))


# --------------------------------------------------------------------------------------------
# Resampling folded into convolutions, and the CPU upsampling kernels
# --------------------------------------------------------------------------------------------
def _fold_pair(block: nn.Module) -> tuple:
    import copy

    plain = specnorm_gan.fold_resampling(copy.deepcopy(block), False)
    return block, plain


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda: GBlock(6, 5), (3, 6, 5, 7)),
        (lambda: GBlock(6, 6, order="post", sn=True), (3, 6, 4, 4)),
        (lambda: GBlock(6, 5, upsample_mode="bilinear", num_classes=4), (3, 6, 5, 5)),
        (lambda: GBlock(6, 6, learnable_shortcut=False, negative_slope=0.2), (2, 6, 3, 5)),
        (lambda: DBlock(6, 5), (3, 6, 8, 8)),
        (lambda: DBlock(6, 6, hidden_channels=4), (3, 6, 7, 9)),  # odd sizes: floor, like avg_pool2d
        (lambda: DBlock(6, 6, learnable_shortcut=False, sn=False), (2, 6, 6, 6)),
        (lambda: DBlock(6, 5, order="post"), (2, 6, 8, 8)),
        (lambda: OptimizedDBlock(3, 6), (3, 3, 9, 8)),
    ],
)
def test_folded_resampling_equals_the_plain_order(factory: Callable[[], nn.Module], shape: tuple) -> None:
    # Same function, fewer operations: outputs, input gradients and parameter gradients of the
    # folded block equal those of the official operation order (float64, training mode, the same
    # power-iteration state in both copies).
    torch.manual_seed(11)
    folded, plain = _fold_pair(factory().to(DT).train())
    x = torch.randn(*shape, dtype=DT)
    y = torch.tensor([0, 3, 1][: shape[0]]) if getattr(folded, "num_classes", 0) else None
    outs, grads = [], []
    for block in (folded, plain):
        xi = x.clone().requires_grad_()
        out = block(xi, y) if isinstance(block, GBlock) else block(xi)
        out.backward(torch.linspace(-1, 1, out.numel(), dtype=DT).view_as(out))
        outs.append(out.detach())
        grads.append([xi.grad] + [p.grad for p in block.parameters()])
    assert outs[0].shape == outs[1].shape
    assert torch.allclose(outs[0], outs[1], rtol=0, atol=1e-12)
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=0, atol=1e-11)
    assert folded.state_dict().keys() == plain.state_dict().keys()


def test_fold_resampling_switch_reaches_every_block() -> None:
    spec = specnorm_gan.build_gan("cifar10-resnet", width=0.125, fold_resampling=False)
    blocks = [m for m in list(spec.G.modules()) + list(spec.D.modules()) if isinstance(m, (GBlock, DBlock, OptimizedDBlock))]
    assert blocks and not any(b.fold_resampling for b in blocks)
    specnorm_gan.fold_resampling(spec.D)
    assert all(b.fold_resampling for b in blocks if not isinstance(b, GBlock))
    assert all(b.fold_resampling for b in specnorm_gan.build_gan("cifar10-resnet", width=0.125).G.blocks)
    # The DCGAN-style CNN has no resampling blocks: the override is accepted and ignored there.
    specnorm_gan.build_gan("cifar10-cnn", width=0.125, fold_resampling=False)


def test_folding_keeps_forward_hooks_of_the_convolutions() -> None:
    # A layer with forward hooks runs as a module (hooks fire), with the plain order.
    block = DBlock(4, 4).to(DT).eval()
    seen: List[Tensor] = []
    block.c2.register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(2, 4, 6, 6, dtype=DT)
    out = block(x)
    assert len(seen) == 1 and seen[0].shape == (2, 4, 6, 6)
    assert torch.allclose(out, specnorm_gan.fold_resampling(block, False)(x), atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape, channels_last", [((2, 3, 5, 7), False), ((1, 1, 1, 1), False), ((2, 4, 3, 2), True)])
def test_upsample_equals_torch_interpolate(mode: str, dtype: torch.dtype, shape: tuple, channels_last: bool) -> None:
    from specnorm_gan.blocks import _upsample

    x = torch.randn(*shape, dtype=dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    ref = F.interpolate(x, scale_factor=2, mode=mode, **kwargs)
    out = _upsample(x, mode)
    g = torch.randn_like(ref)
    (g_ref,) = torch.autograd.grad(ref, x, g)
    (g_out,) = torch.autograd.grad(out, x, g)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert out.shape == ref.shape and out.dtype == dtype
    assert torch.allclose(out, ref, rtol=0, atol=tol)
    assert torch.allclose(g_out, g_ref, rtol=0, atol=tol)


def test_bilinear_upsample_second_order_gradients() -> None:
    from specnorm_gan.blocks import _upsample

    x = torch.randn(2, 3, 4, 5, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: _upsample(t, "bilinear"), (x,))
    assert torch.autograd.gradgradcheck(lambda t: _upsample(t, "bilinear"), (x,))


@pytest.mark.parametrize("out_channels, bias, sn", [(3, True, False), (1, False, False), (4, True, True)])
def test_few_output_conv_equals_the_convolution(out_channels: int, bias: bool, sn: bool) -> None:
    from specnorm_gan.blocks import _conv3x3_few_outputs
    from specnorm_gan.layers import SNConv2d

    torch.manual_seed(0)
    cls = SNConv2d if sn else nn.Conv2d
    ref = cls(6, out_channels, 3, padding=1, bias=bias).double()
    ours = cls(6, out_channels, 3, padding=1, bias=bias).double()
    ours.load_state_dict(ref.state_dict())
    forwards: List[int] = []
    ours.forward = lambda t, f=ours.forward: forwards.append(1) or f(t)  # type: ignore[method-assign]
    x = torch.randn(3, 6, 5, 7, dtype=DT, requires_grad=True)
    out_ref, out = ref(x), _conv3x3_few_outputs(ours, x)
    assert not forwards  # the tap decomposition ran, not the layer's own forward
    g = torch.randn_like(out_ref)
    grads_ref = torch.autograd.grad(out_ref, [x, *ref.parameters()], g)
    grads = torch.autograd.grad(out, [x, *ours.parameters()], g)
    assert out.shape == out_ref.shape
    assert torch.allclose(out, out_ref, rtol=0, atol=1e-12)
    for a, b in zip(grads, grads_ref):
        assert torch.allclose(a, b, rtol=0, atol=1e-11)
    for name, buf in ref.named_buffers():  # the power iteration advanced once, as in conv(x)
        assert torch.allclose(dict(ours.named_buffers())[name], buf, rtol=0, atol=1e-12)


def test_few_output_conv_keeps_the_plain_convolution_elsewhere() -> None:
    from specnorm_gan.blocks import _conv3x3_few_outputs

    calls: List[int] = []
    conv = nn.Conv2d(4, 3, 3, padding=1)
    conv.register_forward_pre_hook(lambda m, i: calls.append(1))  # hooks must run: plain path
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(_conv3x3_few_outputs(conv, x), conv(x)) and len(calls) == 2
    counted = nn.Conv2d(4, 3, 3, padding=1)
    forwards: List[int] = []
    counted.forward = lambda t, f=counted.forward: forwards.append(1) or f(t)  # type: ignore[method-assign]
    for arg in (x.contiguous(memory_format=torch.channels_last), x.to(torch.bfloat16)):
        _conv3x3_few_outputs(counted.to(arg.dtype), arg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _conv3x3_few_outputs(counted.float(), x)
    wide = nn.Conv2d(4, 5, 3, padding=1)
    wide.forward = lambda t, f=wide.forward: forwards.append(1) or f(t)  # type: ignore[method-assign]
    _conv3x3_few_outputs(wide, x)
    assert len(forwards) == 4


@pytest.mark.parametrize("shape", [(2, 4, 5, 7), (1, 3, 1, 2)])
def test_few_output_conv_gradcheck(shape: tuple) -> None:
    from specnorm_gan.blocks import _conv3x3_few_outputs

    class Out(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(shape[1], 2, 3, padding=1).double()

        def forward(self, t: Tensor) -> Tensor:
            return _conv3x3_few_outputs(self.conv, t)

    m = Out()
    x = torch.randn(*shape, dtype=DT, requires_grad=True)
    w = m.conv.weight.detach().clone().requires_grad_()
    b = m.conv.bias.detach().clone().requires_grad_()  # type: ignore[union-attr]

    def f(t: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return torch.func.functional_call(m, {"conv.weight": w, "conv.bias": b}, (t,))

    assert torch.allclose(f(x, w, b), m.conv(x), rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(f, (x, w, b))
    assert torch.autograd.gradgradcheck(f, (x, w, b))


def test_dblock_shortcut_after_activation_reads_relu_of_input() -> None:
    # torch-mimicry's quirk (its in-place ReLU): shortcut = avgpool(c_sc(relu(x))), written out here.
    torch.manual_seed(0)
    block = DBlock(4, 6, shortcut_after_activation=True, fold_resampling=False).eval()
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        w = lambda conv: conv.weight / conv.sigma  # noqa: E731
        a = F.relu(x)
        h = F.conv2d(F.relu(F.conv2d(a, w(block.c1), block.c1.bias, padding=1)), w(block.c2), block.c2.bias, padding=1)
        ref = F.avg_pool2d(h, 2) + F.avg_pool2d(F.conv2d(a, w(block.c_sc), block.c_sc.bias), 2)
        torch.testing.assert_close(block(x), ref, atol=1e-5, rtol=1e-5)
        plain = DBlock(4, 6, fold_resampling=False).eval()
        plain.load_state_dict(block.state_dict())
        assert not torch.allclose(plain(x), ref, atol=1e-3)
    with pytest.raises(ValueError, match="shortcut_after_activation needs order='pre'"):
        DBlock(4, 6, order="post", shortcut_after_activation=True)
