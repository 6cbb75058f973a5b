"""BigGAN blocks against independent recomputations (eval mode: fixed SN weights, random running stats)."""

import pytest
import torch
import torch.nn.functional as F

from specnorm_gan.biggan_blocks import (
    BigGANConditionalBatchNorm2d,
    BigGANDBlock,
    BigGANDeepDBlock,
    BigGANDeepGBlock,
    BigGANGBlock,
    split_latent,
)
from specnorm_gan.layers import is_spectral_norm


def W(m):
    return (m._sn_weight() if is_spectral_norm(m) else m.weight).detach().double()


def conv(m, x):
    return F.conv2d(x, W(m), None if m.bias is None else m.bias.detach().double(), padding=m.padding)


def randomize_stats(module):
    torch.manual_seed(1)
    for bn in module.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
    return module.eval()


def cbn(m, x, c):
    bn = m.bn
    h = (x - bn.running_mean.double()[None, :, None, None]) / torch.sqrt(bn.running_var.double() + bn.eps)[None, :, None, None]
    gain = 1 + c @ W(m.gain).T
    bias = c @ W(m.bias).T
    return h * gain[:, :, None, None] + bias[:, :, None, None]


def up(x):
    return x.repeat_interleave(2, 2).repeat_interleave(2, 3)


def down(x):
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).mean((3, 5))


def test_conditional_bn():
    m = randomize_stats(BigGANConditionalBatchNorm2d(6, 5))
    x, c = torch.randn(3, 6, 4, 4), torch.randn(3, 5)
    torch.testing.assert_close(m(x, c).double(), cbn(m, x.double(), c.double()), rtol=1e-5, atol=1e-5)


def test_conditional_bn_starts_as_bn_when_condition_zero():
    m = BigGANConditionalBatchNorm2d(4, 3).train()
    x = torch.randn(8, 4, 3, 3)
    torch.testing.assert_close(m(x, torch.zeros(8, 3)), F.batch_norm(x, None, None, training=True, eps=1e-5))


@pytest.mark.parametrize("cin,cout,upsample", [(8, 4, True), (4, 4, False)])
def test_g_block(cin, cout, upsample):
    m = randomize_stats(BigGANGBlock(cin, cout, cond_dim=5, upsample=upsample))
    x, c = torch.randn(2, cin, 4, 4).double(), torch.randn(2, 5).double()
    u = up if upsample else (lambda t: t)
    h = conv(m.conv2, F.relu(cbn(m.bn2, conv(m.conv1, u(F.relu(cbn(m.bn1, x, c)))), c)))
    sc = u(x) if m.conv_sc is None else conv(m.conv_sc, u(x))
    assert (m.conv_sc is None) == (cin == cout and not upsample)
    torch.testing.assert_close(m(x.float(), c.float()).double(), h + sc, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pre", [False, True])
def test_d_block(pre):
    m = BigGANDBlock(3, 8, preactivation=pre).eval()
    x = torch.randn(2, 3, 8, 8).double()
    h = F.relu(x) if pre else x
    h = down(conv(m.conv2, F.relu(conv(m.conv1, h))))
    sc = down(conv(m.conv_sc, x)) if pre else conv(m.conv_sc, down(x))
    torch.testing.assert_close(m(x.float()).double(), h + sc, rtol=1e-4, atol=1e-4)
    assert m.conv1.out_channels == 8  # wide D: hidden = out


def test_deep_g_block():
    m = randomize_stats(BigGANDeepGBlock(16, 8, cond_dim=5))
    x, c = torch.randn(2, 16, 4, 4).double(), torch.randn(2, 5).double()
    b1, b2, b3, b4 = m.bns
    h = conv(m.conv1, F.relu(cbn(b1, x, c)))
    h = conv(m.conv2, up(F.relu(cbn(b2, h, c))))
    h = conv(m.conv3, F.relu(cbn(b3, h, c)))
    h = conv(m.conv4, F.relu(cbn(b4, h, c)))
    torch.testing.assert_close(m(x.float(), c.float()).double(), h + up(x[:, :8]), rtol=1e-4, atol=1e-4)
    assert m.conv1.out_channels == 4


def test_deep_d_block():
    m = BigGANDeepDBlock(8, 16).eval()
    x = torch.randn(2, 8, 8, 8).double()
    h = conv(m.conv3, F.relu(conv(m.conv2, F.relu(conv(m.conv1, F.relu(x))))))
    h = conv(m.conv4, down(F.relu(h)))
    sc = torch.cat([down(x), conv(m.conv_sc, down(x))], 1)
    torch.testing.assert_close(m(x.float()).double(), h + sc, rtol=1e-4, atol=1e-4)
    assert m.conv_sc.out_channels == 8
    assert BigGANDeepDBlock(8, 8, downsample=False).conv_sc is None


def test_split_latent_and_bad_input():
    z = torch.arange(12.0).view(1, 12)
    chunks = split_latent(z, 3)
    assert [c.tolist() for c in chunks] == [[[0, 1, 2, 3]], [[4, 5, 6, 7]], [[8, 9, 10, 11]]]
    with pytest.raises(ValueError, match="multiple of 5"):
        split_latent(z, 5)
    with pytest.raises(ValueError, match="out_channels <= in_channels"):
        BigGANDeepGBlock(4, 8, cond_dim=2)
    with pytest.raises(ValueError, match="out_channels >= in_channels"):
        BigGANDeepDBlock(8, 4)
    with pytest.raises(ValueError, match=r"cond must be \(N, 3\)"):
        BigGANConditionalBatchNorm2d(4, 3)(torch.randn(2, 4, 2, 2), torch.randn(2, 4))
