"""SNSelfAttention2d against a plain softmax(QK^T)V written here with the same (normalized) weights."""

import pytest
import torch
import torch.nn.functional as F

from specnorm_gan.attention import SNSelfAttention2d
from specnorm_gan.layers import is_spectral_norm


def _weight(conv):
    # The effective weight W / sigma(W) in eval mode (no power-iteration step), as a matrix.
    return conv._sn_weight().detach().flatten(1).double() if is_spectral_norm(conv) else conv.weight.detach().flatten(1).double()


def _reference(att, x):
    n, c, h, w = x.shape
    xd = x.double()
    pos = xd.flatten(2)  # (N, C, HW)
    q = torch.einsum("kc,ncp->npk", _weight(att.theta), pos)  # (N, HW, C/8)
    k_full = torch.einsum("kc,ncp->nkp", _weight(att.phi), pos).view(n, -1, h, w)
    v_full = torch.einsum("kc,ncp->nkp", _weight(att.g), pos).view(n, -1, h, w)
    k = F.max_pool2d(k_full, 2).flatten(2).transpose(1, 2)  # (N, HW/4, C/8)
    v = F.max_pool2d(v_full, 2).flatten(2).transpose(1, 2)  # (N, HW/4, C/2)
    scores = q @ k.transpose(1, 2)
    a = torch.exp(scores - scores.max(-1, keepdim=True).values)
    a = a / a.sum(-1, keepdim=True)
    attended = (a @ v).transpose(1, 2)  # (N, C/2, HW)
    out = torch.einsum("ck,nkp->ncp", _weight(att.o), attended).view(n, c, h, w)
    return xd + float(att.gamma) * out


@pytest.mark.parametrize("sn", [True, False])
def test_matches_plain_softmax_attention(sn):
    torch.manual_seed(0)
    att = SNSelfAttention2d(16, sn=sn).eval()
    with torch.no_grad():
        att.gamma.fill_(0.7)
    x = torch.randn(3, 16, 6, 4)
    torch.testing.assert_close(att(x).double(), _reference(att, x), rtol=1e-5, atol=1e-5)


def test_gamma_zero_is_identity_and_gets_gradient():
    att = SNSelfAttention2d(8)
    x = torch.randn(2, 8, 4, 4)
    out = att(x)
    assert torch.equal(out, x)
    (out * torch.randn_like(out)).sum().backward()
    assert att.gamma.grad is not None and att.gamma.grad.abs() > 0


def test_attention_rows_are_distributions():
    att = SNSelfAttention2d(8).eval()
    beta = att.attention(torch.randn(2, 8, 4, 8))
    assert beta.shape == (2, 32, 8)
    torch.testing.assert_close(beta.sum(-1), torch.ones(2, 32))


def test_channel_counts():
    att = SNSelfAttention2d(64)
    shapes = [tuple(m.weight.shape) for m in (att.theta, att.phi, att.g, att.o)]
    assert shapes == [(8, 64, 1, 1), (8, 64, 1, 1), (32, 64, 1, 1), (64, 32, 1, 1)]
    assert all(m.bias is None for m in (att.theta, att.phi, att.g, att.o))


def test_bad_input():
    att = SNSelfAttention2d(8)
    with pytest.raises(ValueError, match="smaller than"):
        att(torch.randn(1, 8, 1, 1))
    with pytest.raises(ValueError, match="multiples of 2"):
        att(torch.randn(1, 8, 3, 4))
    with pytest.raises(ValueError, match=r"\(N, 8, H, W\)"):
        att(torch.randn(1, 4, 4, 4))
    small = SNSelfAttention2d(4)  # below 8 channels: one query/key channel, two value channels
    assert (small.theta.out_channels, small.g.out_channels, small.o.in_channels) == (1, 2, 2)
    with pytest.raises(ValueError, match="channels"):
        SNSelfAttention2d(0)
