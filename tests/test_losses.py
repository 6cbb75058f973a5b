"""Losses and regularizers against hand-computed values, torch's own BCE, and finite differences."""

from __future__ import annotations

import math
from typing import List

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import specnorm_gan
from specnorm_gan import losses
from specnorm_gan.losses import (
    bce_d_loss,
    bce_g_loss,
    get_loss,
    gradient_penalty,
    hinge_d_loss,
    hinge_g_loss,
    least_squares_d_loss,
    least_squares_g_loss,
    list_losses,
    r1_penalty,
    wasserstein_d_loss,
    wasserstein_g_loss,
)

REAL: List[float] = [2.0, 0.5, -1.0, 0.25]
FAKE: List[float] = [-2.0, 0.0, 1.5]  # a different batch size on purpose


def _mean(values: List[float]) -> float:
    return sum(values) / len(values)


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def _t(values: List[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# --------------------------------------------------------------------------------------------
# Values against hand-computed formulas
# --------------------------------------------------------------------------------------------
def test_hinge_matches_hand_computation() -> None:
    expected_d = _mean([max(0.0, 1 - r) for r in REAL]) + _mean([max(0.0, 1 + f) for f in FAKE])
    assert hinge_d_loss(_t(REAL), _t(FAKE)).item() == pytest.approx(expected_d, abs=1e-12)
    assert hinge_g_loss(_t(FAKE)).item() == pytest.approx(-_mean(FAKE), abs=1e-12)
    # 0.75 by hand: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; relu(1-2)=0, relu(1+0)=1 -> 0.5.
    assert hinge_d_loss(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])).item() == pytest.approx(0.75)


def test_bce_matches_hand_computation_and_torch() -> None:
    expected_d = _mean([_softplus(-r) for r in REAL]) + _mean([_softplus(f) for f in FAKE])
    assert bce_d_loss(_t(REAL), _t(FAKE)).item() == pytest.approx(expected_d, abs=1e-12)
    assert bce_g_loss(_t(FAKE)).item() == pytest.approx(_mean([_softplus(-f) for f in FAKE]), abs=1e-12)
    # torch's own cross-entropy: targets 1 for real, 0 for fake; 1 for the generator.
    torch_d = F.binary_cross_entropy_with_logits(_t(REAL), torch.ones(4, dtype=torch.float64)) + \
        F.binary_cross_entropy_with_logits(_t(FAKE), torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(bce_d_loss(_t(REAL), _t(FAKE)), torch_d)
    torch_g = F.binary_cross_entropy_with_logits(_t(FAKE), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(bce_g_loss(_t(FAKE)), torch_g)


def test_bce_label_smoothing_matches_torch() -> None:
    t = 0.9
    torch_d = F.binary_cross_entropy_with_logits(_t(REAL), torch.full((4,), t, dtype=torch.float64)) + \
        F.binary_cross_entropy_with_logits(_t(FAKE), torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(bce_d_loss(_t(REAL), _t(FAKE), real_target=t), torch_d)
    torch_g = F.binary_cross_entropy_with_logits(_t(FAKE), torch.full((3,), t, dtype=torch.float64))
    assert torch.allclose(bce_g_loss(_t(FAKE), target=t), torch_g)
    loss = get_loss("bce", real_target=t)
    assert torch.allclose(loss.d_loss(_t(REAL), _t(FAKE)), torch_d)
    assert torch.allclose(loss.g_loss(_t(FAKE)), torch_g)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        get_loss("bce", real_target=1.5)


def test_wasserstein_matches_hand_computation() -> None:
    assert wasserstein_d_loss(_t(REAL), _t(FAKE)).item() == pytest.approx(_mean(FAKE) - _mean(REAL), abs=1e-12)
    assert wasserstein_g_loss(_t(FAKE)).item() == pytest.approx(-_mean(FAKE), abs=1e-12)


def test_least_squares_matches_hand_computation() -> None:
    expected_d = 0.5 * _mean([(r - 1) ** 2 for r in REAL]) + 0.5 * _mean([f ** 2 for f in FAKE])
    assert least_squares_d_loss(_t(REAL), _t(FAKE)).item() == pytest.approx(expected_d, abs=1e-12)
    assert least_squares_g_loss(_t(FAKE)).item() == pytest.approx(0.5 * _mean([(f - 1) ** 2 for f in FAKE]), abs=1e-12)
    # Custom targets a, b, c.
    loss = get_loss("least_squares", a=-1.0, b=1.0, c=0.0)
    expected_d = 0.5 * _mean([(r - 1) ** 2 for r in REAL]) + 0.5 * _mean([(f + 1) ** 2 for f in FAKE])
    assert loss.d_loss(_t(REAL), _t(FAKE)).item() == pytest.approx(expected_d, abs=1e-12)
    assert loss.g_loss(_t(FAKE)).item() == pytest.approx(0.5 * _mean([f ** 2 for f in FAKE]), abs=1e-12)


@pytest.mark.parametrize("shape", [(5,), (5, 1)])
def test_losses_accept_n_and_n1_logits(shape: tuple) -> None:
    real, fake = torch.randn(shape), torch.randn(shape)
    for name in list_losses():
        loss = get_loss(name)
        assert loss.d_loss(real, fake).shape == ()
        g = loss.g_loss(fake, real) if loss.needs_real_logits else loss.g_loss(fake)
        assert g.shape == ()
        assert torch.allclose(loss.d_loss(real, fake), loss.d_loss(real.flatten(), fake.flatten()))


# --------------------------------------------------------------------------------------------
# get_loss
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, d_fn, g_fn",
    [
        ("hinge", hinge_d_loss, hinge_g_loss),
        ("bce", bce_d_loss, bce_g_loss),
        ("wasserstein", wasserstein_d_loss, wasserstein_g_loss),
        ("least_squares", least_squares_d_loss, least_squares_g_loss),
    ],
)
def test_get_loss_objects_match_plain_functions(name: str, d_fn, g_fn) -> None:  # type: ignore[no-untyped-def]
    loss = get_loss(name)
    assert loss.name == name
    real, fake = torch.randn(6), torch.randn(6)
    assert torch.equal(loss.d_loss(real, fake), d_fn(real, fake))
    assert torch.equal(loss.g_loss(fake), g_fn(fake))


@pytest.mark.parametrize(
    "alias, canonical",
    [("ns", "bce"), ("dcgan", "bce"), ("standard", "bce"), ("Non-Saturating", "bce"), ("wgan", "wasserstein"),
     ("lsgan", "least_squares"), ("least-squares", "least_squares"), ("HINGE", "hinge")],
)
def test_get_loss_aliases(alias: str, canonical: str) -> None:
    assert get_loss(alias).name == canonical


def test_get_loss_unknown_name_and_options() -> None:
    with pytest.raises(ValueError, match="unknown loss 'hinj'.*hinge"):
        get_loss("hinj")
    with pytest.raises(ValueError, match="invalid options"):
        get_loss("hinge", real_target=0.9)
    with pytest.raises(TypeError):
        get_loss(3)  # type: ignore[arg-type]
    obj = get_loss("hinge")
    assert get_loss(obj) is obj
    assert list_losses() == ["bce", "hinge", "least_squares", "rpgan", "wasserstein"]


def test_losses_reject_bad_logits() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        hinge_g_loss(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="torch.Tensor"):
        hinge_d_loss([1.0], torch.zeros(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        bce_g_loss(torch.zeros(0))


def test_losses_exported_from_package() -> None:
    assert specnorm_gan.losses is losses
    assert specnorm_gan.losses.get_loss("hinge").name == "hinge"


# --------------------------------------------------------------------------------------------
# Gradient penalty and R1
# --------------------------------------------------------------------------------------------
class _MLP(nn.Module):
    """A small smooth critic (tanh) in float64 for finite differences."""

    def __init__(self, dim: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 8), nn.Tanh(), nn.Linear(8, 1)).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


def _fd_grad_norms(f, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """Per-sample input-gradient norms of ``f`` by central differences (float64)."""
    n = x.shape[0]
    flat = x.detach().reshape(n, -1)
    grads = torch.zeros_like(flat)
    with torch.no_grad():
        for j in range(flat.shape[1]):
            e = torch.zeros_like(flat)
            e[:, j] = h
            plus = f((flat + e).view_as(x))
            minus = f((flat - e).view_as(x))
            grads[:, j] = (plus - minus) / (2 * h)
    return grads.norm(dim=1)


def test_gradient_penalty_linear_critic_closed_form() -> None:
    torch.manual_seed(0)
    lin = nn.Linear(5, 1).double()
    real, fake = torch.randn(7, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    gp = gradient_penalty(lambda x: lin(x).squeeze(1), real, fake)
    expected = (lin.weight.norm() - 1) ** 2  # the gradient is w everywhere
    assert torch.allclose(gp, expected)
    assert torch.allclose(gradient_penalty(lambda x: lin(x).squeeze(1), real, fake, center=0.0), lin.weight.norm() ** 2)
    # Under no_grad (logging) the value is the same and carries no graph.
    with torch.no_grad():
        logged = gradient_penalty(lambda x: lin(x).squeeze(1), real, fake)
    assert torch.allclose(logged, expected) and not logged.requires_grad
    assert gp.requires_grad  # otherwise it could not be added to the D loss


def test_gradient_penalty_matches_finite_differences() -> None:
    torch.manual_seed(1)
    D = _MLP(6)
    real = torch.randn(4, 2, 3, dtype=torch.float64)
    fake = torch.randn(4, 2, 3, dtype=torch.float64)
    alpha = torch.rand(4, dtype=torch.float64)
    gp = gradient_penalty(D, real, fake, alpha=alpha)
    a = alpha.view(4, 1, 1)
    x_hat = a * real + (1 - a) * fake
    norms = _fd_grad_norms(D, x_hat)
    assert torch.allclose(gp, ((norms - 1) ** 2).mean(), rtol=1e-6, atol=1e-9)


def test_gradient_penalty_is_differentiable_wrt_critic_parameters() -> None:
    # d GP / d theta by autograd (create_graph) against a finite difference in one parameter.
    torch.manual_seed(2)
    D = _MLP(3)
    real, fake = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    alpha = torch.rand(5, dtype=torch.float64)
    gp = gradient_penalty(D, real, fake, alpha=alpha)
    (grad,) = torch.autograd.grad(gp, D.net[0].weight)
    h = 1e-6
    with torch.no_grad():
        D.net[0].weight[2, 1] += h
        plus = gradient_penalty(D, real, fake, alpha=alpha)
        D.net[0].weight[2, 1] -= 2 * h
        minus = gradient_penalty(D, real, fake, alpha=alpha)
    # gradient_penalty needs autograd for the input gradient, so it runs with grad enabled inside.
    assert grad[2, 1].item() == pytest.approx(((plus - minus) / (2 * h)).item(), rel=1e-5, abs=1e-9)


def test_gradient_penalty_passes_labels_and_random_alpha_is_seeded() -> None:
    seen = []
    lin = nn.Linear(3, 1)

    def D(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(y)
        return lin(x).squeeze(1) + y.float()

    real, fake, y = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 3])
    g1 = gradient_penalty(D, real, fake, y, generator=torch.Generator().manual_seed(0))
    g2 = gradient_penalty(D, real, fake, y, generator=torch.Generator().manual_seed(0))
    assert seen[0] is y and torch.equal(g1, g2)


def test_gradient_penalty_bad_input() -> None:
    lin = nn.Linear(3, 1)
    D = lambda x: lin(x).squeeze(1)  # noqa: E731
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(D, torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"alpha must have shape \(4,\)"):
        gradient_penalty(D, torch.randn(4, 3), torch.randn(4, 3), alpha=torch.rand(4, 1))


def test_r1_penalty_closed_form_and_finite_differences() -> None:
    torch.manual_seed(3)
    lin = nn.Linear(4, 1).double()
    real = torch.randn(6, 4, dtype=torch.float64)
    r1 = r1_penalty(lambda x: lin(x).squeeze(1), real)
    assert torch.allclose(r1, lin.weight.pow(2).sum())
    D = _MLP(4)
    real = torch.randn(5, 4, dtype=torch.float64)
    assert torch.allclose(r1_penalty(D, real), (_fd_grad_norms(D, real) ** 2).mean(), rtol=1e-6, atol=1e-9)
    # The penalty backpropagates into D's parameters and leaves the caller's tensor alone.
    r1_penalty(D, real).backward()
    assert D.net[0].weight.grad is not None and real.grad is None and not real.requires_grad


def test_penalties_on_a_library_discriminator_match_finite_differences() -> None:
    # A conditional SN discriminator in eval mode (fixed sigma), float64.
    torch.manual_seed(4)
    D = specnorm_gan.SNResNetDiscriminator(8, num_classes=3, arch=specnorm_gan.models.ResNetDiscriminatorArch((4, 4), (True, False)))
    D = D.double().eval()
    real = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    fake = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    y = torch.tensor([0, 2])
    alpha = torch.tensor([0.3, 0.8], dtype=torch.float64)
    gp = gradient_penalty(D, real, fake, y, alpha=alpha)
    a = alpha.view(2, 1, 1, 1)
    norms = _fd_grad_norms(lambda x: D(x, y), a * real + (1 - a) * fake)
    assert torch.allclose(gp, ((norms - 1) ** 2).mean(), rtol=1e-5)
    r1 = r1_penalty(D, real, y)
    assert torch.allclose(r1, (_fd_grad_norms(lambda x: D(x, y), real) ** 2).mean(), rtol=1e-5)
