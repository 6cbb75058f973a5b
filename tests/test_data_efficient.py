"""LeCam, bCR, zCR, R2 and the RpGAN loss against closed forms and finite differences."""

import math

import pytest
import torch
import torch.nn.functional as F

from specnorm_gan.losses import get_loss, r2_penalty
from specnorm_gan.regularizers import LossContext, get_regularizer


def test_rpgan_closed_form_and_pairing():
    loss = get_loss("rpgan")
    r, f = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.0, 1.0, 3.0])
    d_ref = sum(math.log1p(math.exp(fi - ri)) for ri, fi in zip(r.tolist(), f.tolist())) / 3
    g_ref = sum(math.log1p(math.exp(ri - fi)) for ri, fi in zip(r.tolist(), f.tolist())) / 3
    assert abs(float(loss.d_loss(r, f)) - d_ref) < 1e-6
    assert abs(float(loss.g_loss(f, r)) - g_ref) < 1e-6
    # a larger fake batch pairs with the tiled real batch
    f6 = torch.cat([f, f + 1])
    ref = torch.stack([torch.log1p(torch.exp(r[i % 3] - f6[i])) for i in range(6)]).mean()
    assert torch.isclose(loss.g_loss(f6, r), ref)
    with pytest.raises(ValueError, match="real_logits"):
        loss.g_loss(f)


def test_r2_matches_finite_differences():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    D = lambda x, y=None: net(x).view(-1)  # noqa: E731
    x = torch.randn(4, 3, dtype=torch.float64)
    h, total = 1e-6, 0.0
    for i in range(4):
        for j in range(3):
            e = torch.zeros_like(x[i]); e[j] = h
            total += ((D((x[i] + e)[None]) - D((x[i] - e)[None])) / (2 * h)).item() ** 2
    assert abs(float(r2_penalty(D, x)) - total / 4) < 1e-6


def test_lecam_anchor_ema_and_state():
    term = get_regularizer("lecam", weight=0.3, decay=0.9)
    r1, f1 = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    ctx = lambda r, f: LossContext(D=None, G=None, fake=None, d_out_fake=f, real=torch.zeros(2), d_out_real=r)  # noqa: E731
    v1 = term(ctx(r1, f1))
    a_r, a_f = 0.1 * 2.0, 0.1 * -0.5
    ref1 = (F.relu(r1 - a_f).pow(2).mean() + F.relu(a_r - f1).pow(2).mean())
    assert torch.isclose(v1, ref1)
    state = term.state_dict()
    other = get_regularizer("lecam", weight=0.3, decay=0.9)
    other.load_state_dict(state)
    r2, f2 = torch.tensor([0.5, 0.5]), torch.tensor([0.2, 0.4])
    a_r, a_f = 0.9 * a_r + 0.1 * 0.5, 0.9 * a_f + 0.1 * 0.3
    ref2 = F.relu(r2 - a_f).pow(2).mean() + F.relu(a_r - f2).pow(2).mean()
    assert torch.isclose(other(ctx(r2, f2)), ref2) and torch.isclose(term(ctx(r2, f2)), ref2)


def test_bcr_invariant_d_is_zero_and_sum_d_matches_lost_pixels():
    term = get_regularizer("bcr", weight=10.0, translation_ratio=0.25)
    D = lambda x, y=None: x[:, 0, 3:5, 3:5].mean((1, 2))  # noqa: E731  centre of flat images survives T
    x = torch.ones(6, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    ctx = LossContext(D=D, G=None, fake=2 * x, d_out_fake=D(2 * x), real=x, d_out_real=D(x), generator=g)
    assert float(term(ctx)) == 0.0
    # D = pixel sum on flat images: D(x) - D(T(x)) = the pixels shifted out; each is at most 8*2+8*2-4 = 28
    S = lambda x, y=None: x.flatten(1).sum(1)  # noqa: E731
    ctx = LossContext(D=S, G=None, fake=x, d_out_fake=S(x), real=x, d_out_real=S(x), generator=g)
    v = float(term(ctx))
    assert 0.0 < v <= 2 * 28.0 ** 2


def test_zcr_closed_form_with_linear_g_and_d():
    A = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]], dtype=torch.float64)
    w = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    G = lambda z, y=None: z @ A.T  # noqa: E731
    D = lambda x, y=None: x @ w  # noqa: E731
    z = torch.randn(5, 2, dtype=torch.float64)
    sigma = 0.1
    eps = torch.randn(5, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ctx = LossContext(D=D, G=G, fake=G(z), d_out_fake=D(G(z)), real=G(z), d_out_real=D(G(z)), z=z,
                      generator=torch.Generator().manual_seed(7))
    ref_d = ((sigma * eps) @ A.T @ w).pow(2).mean()
    assert torch.isclose(get_regularizer("zcr", sigma=sigma)(ctx).double(), ref_d)
    ctx.generator = torch.Generator().manual_seed(7)
    ref_g = -((sigma * eps) @ A.T).pow(2).mean()
    assert torch.isclose(get_regularizer("zcr_g", sigma=sigma)(ctx).double(), ref_g)
    assert get_regularizer("zcr_g").side == "g"


def test_bad_weights_and_decay():
    for name in ("lecam", "bcr", "zcr", "zcr_g", "r2"):
        with pytest.raises(ValueError, match="weight must be a finite float >= 0"):
            get_regularizer(name, weight=-1.0)
    with pytest.raises(ValueError, match="decay"):
        get_regularizer("lecam", decay=1.0)
