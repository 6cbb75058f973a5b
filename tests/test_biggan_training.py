"""Orthogonal regularization, the "ortho" G-side term, truncation and standing statistics."""

import pytest
import torch

from specnorm_gan import build_gan
from specnorm_gan.losses import orthogonal_regularization
from specnorm_gan.regularizers import LossContext, get_regularizer
from specnorm_gan.standing_stats import accumulate_standing_stats
from specnorm_gan.truncation import truncated_normal


def test_ortho_closed_form_and_gradient():
    torch.manual_seed(0)
    w = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    m = w.flatten(1)
    gram = m @ m.T
    expected = sum(gram[i, j] ** 2 for i in range(4) for j in range(4) if i != j)
    r = orthogonal_regularization([w, torch.randn(5)])  # the vector is skipped
    torch.testing.assert_close(r, expected)
    (g,) = torch.autograd.grad(r, w)
    mask = 1 - torch.eye(4, dtype=torch.float64)
    torch.testing.assert_close(g, (4 * (gram * mask) @ m).detach().view_as(w))  # closed form
    e, i = 1e-6, (1, 2, 0, 1)  # central finite difference of one entry
    wp, wm = w.detach().clone(), w.detach().clone()
    wp[i] += e
    wm[i] -= e
    fd = (orthogonal_regularization([wp]) - orthogonal_regularization([wm])) / (2 * e)
    torch.testing.assert_close(g[i], fd, rtol=1e-6, atol=1e-6)


def test_ortho_zero_for_orthogonal_rows():
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    assert float(orthogonal_regularization([q[:4] * 3])) < 1e-20


def test_ortho_regularizer_skips_shared_embedding():
    G = build_gan("cifar10-biggan", width=0.125).G
    term = get_regularizer("ortho", weight=1e-4)
    assert term.side == "g"
    ctx = LossContext(D=torch.nn.Identity(), G=G, fake=torch.zeros(1), d_out_fake=torch.zeros(1))
    others = [p for n, p in G.named_parameters() if not n.startswith("shared.")]
    torch.testing.assert_close(term(ctx), orthogonal_regularization(others))


@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_truncated_normal_never_exceeds(t):
    z = truncated_normal((4000, 16), t, generator=torch.Generator().manual_seed(1))
    assert z.shape == (4000, 16) and bool(z.abs().max() <= t)
    assert float(z.abs().max()) > 0.9 * t  # fills the interval, not clamped to a smaller one


def test_truncation_bad_input_and_sampling():
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="truncation must be a finite float > 0"):
            truncated_normal(3, bad)
    G = build_gan("cifar10-biggan", width=0.125).G
    assert bool(G.sample_z(64, truncation=0.3).abs().max() <= 0.3)
    with pytest.raises(ValueError, match="truncation must be"):
        G.sample(2, truncation=0.0)


def test_standing_stats_are_the_average_over_batches():
    torch.manual_seed(0)
    G = build_gan("cifar10-biggan", width=0.125).G
    bn = G.bn
    accumulate_standing_stats(G, num_batches=3, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert not G.training and bn.momentum == 0.1 and int(bn.num_batches_tracked) == 3
    # Recompute: the same three batches' mean of the final BN input, averaged.
    gen = torch.Generator().manual_seed(0)
    feats = []
    hook = bn.register_forward_hook(lambda m, inp, out: feats.append(inp[0].mean((0, 2, 3))))
    G.train()
    bn.momentum = None
    with torch.no_grad():
        bn.reset_running_stats()
        for _ in range(3):
            G.sample(4, generator=gen)
    hook.remove()
    torch.testing.assert_close(bn.running_mean, torch.stack(feats).mean(0), rtol=1e-4, atol=1e-5)


def test_bad_input_attention_embedding_truncation():
    """Issue 15's bad input: attention on a map smaller than its pooling, an embedding that does not fit the classes,
    truncation <= 0 (in every entry point that takes one)."""
    import torch.nn as nn

    from specnorm_gan.attention import SNSelfAttention2d
    from specnorm_gan.biggan import BigGANDiscriminatorArch, BigGANGenerator
    from specnorm_gan.truncation import TruncatedGenerator, truncate_latents

    with pytest.raises(ValueError, match="1x1 feature map, smaller than or not a multiple of its 2x2 pooling"):
        BigGANDiscriminatorArch((16,) * 5, (True,) * 5, (4,), 32)  # 32 / 2**5 = 1 px at the attention
    with pytest.raises(ValueError, match="leave no pixels; expected at most 5"):
        BigGANDiscriminatorArch((16,) * 6, (True,) * 6, (), 32)
    with pytest.raises(ValueError, match="feature map 1x1 is smaller than"):
        SNSelfAttention2d(8)(torch.randn(1, 8, 1, 1))
    with pytest.raises(ValueError, match=r"nn.Embedding\(num_classes=10, shared_dim=128\), got \(10, 64\)"):
        BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125, shared_embedding=nn.Embedding(10, 64))
    G = BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125)
    with pytest.raises(ValueError, match=r"soft labels y must have shape \(2, 10\), got \(2, 7\)"):
        G(torch.randn(2, 80), torch.rand(2, 7))
    for bad in (0.0, -0.5, float("inf")):
        with pytest.raises(ValueError, match="truncation must be a finite float > 0"):
            truncate_latents(torch.randn(3), bad)
        with pytest.raises(ValueError, match="truncation must be a finite float > 0"):
            TruncatedGenerator(G, bad)
    uniform = BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125, z_dist="uniform")
    for call in (lambda: uniform.sample(2, truncation=0.5), lambda: TruncatedGenerator(uniform, 0.5)):
        with pytest.raises(ValueError, match="truncation applies to normal latents"):
            call()
