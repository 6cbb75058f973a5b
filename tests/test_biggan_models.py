"""BigGAN-family architectures: parameter counts from the published layer lists, forward/backward, bad input.

The expected counts are computed here from the layer lists of the published code (trainable
parameters; SN u/v and BN running statistics excluded, as ``sum(p.numel() for p in m.parameters())``
there): BigGAN-PyTorch (ajbrock/BigGAN-PyTorch) ``BigGAN.py`` ``G_arch`` (lines 19-51, arch[128] at 33-38),
``Generator.__init__`` (shared ``nn.Embedding``, ``self.linear``, ``which_bn = ccbn`` with bias-free
``SNLinear`` gain/bias of input ``shared_dim + z_chunk_size``, lines ~120-150), ``layers.GBlock``
(bn1, conv1 3x3, bn2, conv2 3x3, conv_sc 1x1), ``layers.Attention`` (theta/phi C/8, g C/2, o, bias-free,
scalar gamma), ``layers.bn`` (gain + bias) and the output SNConv3x3; ``D_arch`` (arch[128]),
``Discriminator.__init__`` (``layers.DBlock`` wide: conv1 in->out, conv2 out->out, conv_sc when
in != out or downsampling; ``linear`` C->1 with bias; ``embed`` SNEmbedding(n_classes, C)); ``BigGANdeep.py``
``GBlock`` (lines 23-66: bn1..bn4, conv1 1x1 in->in/4, conv2/conv3 3x3, conv4 1x1; no shortcut conv),
``Generator`` (``linear`` of dim_z + shared_dim, output conv to 128 channels), ``DBlock`` (hidden out/4,
``conv_sc`` 1x1 in -> out - in) and ``D_arch``; StudioGAN ``src/models/big_resnet.py`` (32 px:
g_in/out dims 4*96, d dims 2*96, d_down [T, T, F, F]). The totals agree with the BigGAN paper's
Table 4 / 5 footnotes (128 px BigGAN: G 70.4M, D 88.0M; BigGAN-deep: G 50.4M, D 34.6M).
"""

import pytest
import torch

from specnorm_gan.biggan import BigGANDiscriminator, BigGANGenerator
from specnorm_gan.presets import build_gan


def conv(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


def attention(c):
    return conv(c, c // 8, 1, False) * 2 + conv(c, c // 2, 1, False) + conv(c // 2, c, 1, False) + 1


def ccbn(c, cond):
    return 2 * cond * c  # gain and bias SNLinear(cond, c, bias=False)


def biggan_g(ch_in, ch_out, attn_after, n_classes, shared, z_chunk, dense_in, bottom=4, bn_cond=None):
    cond = bn_cond if bn_cond is not None else shared + z_chunk
    n = n_classes * shared + dense_in * ch_in[0] * bottom**2 + ch_in[0] * bottom**2
    for i, (a, b) in enumerate(zip(ch_in, ch_out)):
        n += ccbn(a, cond) + conv(a, b, 3) + ccbn(b, cond) + conv(b, b, 3) + conv(a, b, 1)
        n += attention(b) if i == attn_after else 0
    return n + 2 * ch_out[-1] + conv(ch_out[-1], 3, 3)


def biggan_d(ch_in, ch_out, down, attn_after, n_classes):
    n = 0
    for i, (a, b, d) in enumerate(zip(ch_in, ch_out, down)):
        n += conv(a, b, 3) + conv(b, b, 3) + (conv(a, b, 1) if (a != b or d) else 0)
        n += attention(b) if i == attn_after else 0
    return n + ch_out[-1] + 1 + n_classes * ch_out[-1]


def deep_g_block(a, b, cond):
    h = a // 4
    return ccbn(a, cond) + 3 * ccbn(h, cond) + conv(a, h, 1) + 2 * conv(h, h, 3) + conv(h, b, 1)


def deep_d_block(a, b):
    h = b // 4
    return conv(a, h, 1) + 2 * conv(h, h, 3) + conv(h, b, 1) + (conv(a, b - a, 1) if b > a else 0)


NOINIT = dict(init=lambda m: None)  # counts only: skip the (slow) orthogonal init of full-size models


def count(m):
    return sum(p.numel() for p in m.parameters())


def expected_biggan_128():
    ch = 96
    gin, gout = [ch * m for m in (16, 16, 8, 4, 2)], [ch * m for m in (16, 8, 4, 2, 1)]
    din, dout = [3] + [ch * m for m in (1, 2, 4, 8, 16)], [ch * m for m in (1, 2, 4, 8, 16, 16)]
    return biggan_g(gin, gout, 3, 1000, 128, 20, 20), biggan_d(din, dout, [True] * 5 + [False], 0, 1000)


def test_biggan_128_counts():
    g, d = expected_biggan_128()
    assert count(BigGANGenerator(arch="biggan-128", num_classes=1000, z_dim=120, **NOINIT)) == g
    assert count(BigGANDiscriminator(arch="biggan-128", num_classes=1000, **NOINIT)) == d
    assert round(g / 1e6, 1) == 70.4 and round(d / 1e6, 1) == 88.0  # BigGAN paper


def expected_sagan_128():
    ch = 64
    gin, gout = [ch * m for m in (16, 16, 8, 4, 2)], [ch * m for m in (16, 8, 4, 2, 1)]
    g = biggan_g(gin, gout, 3, 1000, 128, 0, 128)  # shared, not hierarchical: dense takes all of z
    din, dout = [3] + [ch * m for m in (1, 2, 4, 8, 16)], [ch * m for m in (1, 2, 4, 8, 16, 16)]
    return g, biggan_d(din, dout, [True] * 5 + [False], 0, 1000)


def test_sagan_128_counts():
    g, d = expected_sagan_128()
    assert count(BigGANGenerator(arch="sagan-128", num_classes=1000, z_dim=128, **NOINIT)) == g
    assert count(BigGANDiscriminator(arch="sagan-128", num_classes=1000, **NOINIT)) == d


def expected_biggan_32():
    return (biggan_g([384] * 3, [384] * 3, 1, 10, 128, 20, 20),
            biggan_d([3, 192, 192, 192], [192] * 4, [True, True, False, False], 0, 10))


def test_biggan_32_studiogan_counts():
    g, d = expected_biggan_32()
    assert count(BigGANGenerator(arch="biggan-32", num_classes=10, z_dim=80, **NOINIT)) == g
    assert count(BigGANDiscriminator(arch="biggan-32", num_classes=10, **NOINIT)) == d


def expected_biggan_deep_128():
    ch, cond = 128, 256
    gin, gout = [ch * m for m in (16, 16, 8, 4, 2)], [ch * m for m in (16, 8, 4, 2, 1)]
    g = 1000 * 128 + 256 * gin[0] * 16 + gin[0] * 16
    for i, (a, b) in enumerate(zip(gin, gout)):
        g += deep_g_block(a, a, cond) + deep_g_block(a, b, cond) + (attention(b) if i == 3 else 0)
    g += 2 * gout[-1] + conv(gout[-1], 128, 3)
    din, dout = [ch * m for m in (1, 2, 4, 8, 16)], [ch * m for m in (2, 4, 8, 16, 16)]
    d = conv(3, ch, 3)
    for i, (a, b) in enumerate(zip(din, dout)):
        d += deep_d_block(a, b) + deep_d_block(b, b) + (attention(b) if i == 0 else 0)
    d += dout[-1] + 1 + 1000 * dout[-1]
    return g, d


def test_biggan_deep_128_counts():
    g, d = expected_biggan_deep_128()
    assert count(BigGANGenerator(arch="biggan-deep-128", num_classes=1000, z_dim=128, **NOINIT)) == g
    assert count(BigGANDiscriminator(arch="biggan-deep-128", num_classes=1000, **NOINIT)) == d
    assert round(g / 1e6, 1) == 50.4 and round(d / 1e6, 1) == 34.6  # BigGAN paper


@pytest.mark.parametrize("preset,width", [
    ("cifar10-biggan", 0.0625), ("imagenet128-biggan", 0.125), ("imagenet128-biggan-deep", 0.0625), ("imagenet128-sagan", 0.125),
])
def test_preset_forward_backward(preset, width):
    torch.manual_seed(0)
    spec = build_gan(preset, width=width, num_classes=5)
    G, D = spec.G, spec.D
    z = G.sample_z(2)
    y = torch.tensor([0, 4])
    x = G(z, y)
    assert x.shape == (2, 3, G.resolution, G.resolution) and x.abs().max() <= 1
    out = D(x, y)
    assert out.shape == (2,)
    out.sum().backward()
    assert all(p.grad is not None for p in G.parameters() if p.requires_grad)
    assert all(p.grad is not None for p in D.parameters())


def test_soft_labels_mix_embedding_rows():
    G = BigGANGenerator(arch="biggan-32", num_classes=3, width=0.125).eval()
    z = torch.randn(2, 80)
    onehot = torch.eye(3)[[0, 2]]
    torch.testing.assert_close(G(z, onehot), G(z, torch.tensor([0, 2])))


def test_unconditional_hierarchical():
    G = BigGANGenerator(arch="biggan-32", width=0.125)
    D = BigGANDiscriminator(arch="biggan-32", width=0.125)
    assert G.shared is None and D(G(torch.randn(2, 80))).shape == (2,)


def test_bad_input():
    with pytest.raises(ValueError, match=r"nn.Embedding\(num_classes=10, shared_dim=128\), got \(7, 128\)"):
        BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125, shared_embedding=torch.nn.Embedding(7, 128))
    with pytest.raises(ValueError, match="multiple of 4"):
        BigGANGenerator(arch="biggan-32", num_classes=10, z_dim=81, width=0.125)
    with pytest.raises(ValueError, match="for 32 px"):
        BigGANGenerator(128, arch="biggan-32", width=0.125)
    with pytest.raises(ValueError, match="needs a hierarchical or deep"):
        BigGANGenerator(arch="sagan-128", width=0.125)
    G = BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 80\)"):
        G(torch.randn(2, 64), torch.tensor([0, 1]))
    D = BigGANDiscriminator(arch="biggan-32", num_classes=10, width=0.125)
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        D(torch.randn(2, 3, 16, 16), torch.tensor([0, 1]))


def test_given_shared_embedding_is_used_and_kept():
    emb = torch.nn.Embedding(10, 128)
    w = emb.weight.detach().clone()
    G = BigGANGenerator(arch="biggan-32", num_classes=10, width=0.125, shared_embedding=emb)
    assert G.shared is emb and torch.equal(emb.weight, w)
