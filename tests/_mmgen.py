"""A small re-implementation of mmgeneration's SNGAN / SNGAN-Proj, written from its published definition.

Source read (open-mmlab/mmgeneration): ``mmgen/models/architectures/sngan_proj/generator_discriminator.py`` at
34a8569 (``SNGANGenerator``: ``noise2feat``, ``conv_blocks``, ``to_rgb`` = mmcv ``ConvModule`` in the order
norm ("bn") -> act -> conv, ``final_act`` tanh; ``ProjDiscriminator``: ``from_rgb``, ``conv_blocks``,
``decision`` / ``proj_y`` under ``torch.nn.utils.spectral_norm``, sum pooling, output ``(N, 1)``; the channel and
downsample tables) and ``modules.py`` at 4cea229 (``SNGANGenResBlock``, ``SNGANDiscResBlock``,
``SNGANDiscHeadResBlock``: layer names ``conv_1.conv``, ``conv_2.conv``, ``shortcut.conv``, hidden = out, the
forward order; ``SNConditionNorm``: ``norm`` (affine-free under cBN, eps 1e-4) and ``weight_embedding`` /
``bias_embedding`` with ``+1`` on the gain for the BigGAN / studio inits). ``act_cfg=dict(type='ReLU',
inplace=True)`` is the ``wReLUinplace`` configs. Attribute names below produce exactly its state-dict keys.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class _Conv(nn.Module):  # mmcv ConvModule without norm / act: the layer lives at ``.conv``
    def __init__(self, cin, cout, k, sn):
        super().__init__()
        conv = nn.Conv2d(cin, cout, k, padding=k // 2)
        self.conv = spectral_norm(conv, eps=1e-12) if sn else conv

    def forward(self, x):
        return self.conv(x)


class _CondNorm(nn.Module):
    def __init__(self, c, classes, reweight):
        super().__init__()
        self.cond, self.reweight = classes > 0, reweight
        self.norm = nn.BatchNorm2d(c, eps=1e-4, affine=not self.cond)
        if self.cond:
            self.weight_embedding = nn.Embedding(classes, c)
            self.bias_embedding = nn.Embedding(classes, c)

    def forward(self, x, y):
        out = self.norm(x)
        if self.cond:
            w = self.weight_embedding(y)[:, :, None, None]
            out = out * (w + 1.0 if self.reweight else w) + self.bias_embedding(y)[:, :, None, None]
        return out


class _GenBlock(nn.Module):
    def __init__(self, cin, cout, classes, reweight, inplace):
        super().__init__()
        self.activate = nn.ReLU(inplace=inplace)
        self.conv_1, self.conv_2 = _Conv(cin, cout, 3, False), _Conv(cout, cout, 3, False)
        self.norm_1, self.norm_2 = _CondNorm(cin, classes, reweight), _CondNorm(cout, classes, reweight)
        self.shortcut = _Conv(cin, cout, 1, False)  # learnable: it always upsamples

    def forward(self, x, y):
        out = F.interpolate(self.activate(self.norm_1(x, y)), scale_factor=2, mode="nearest")
        out = self.conv_2(self.activate(self.norm_2(self.conv_1(out), y)))
        return out + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class _ToRGB(nn.Module):
    def __init__(self, c, inplace):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=1e-4)
        self.activate = nn.ReLU(inplace=inplace)
        self.conv = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.activate(self.bn(x)))


G_FACTORS = {32: [1, 1, 1], 128: [16, 16, 8, 4, 2]}
D_FACTORS = {32: ([1, 1, 1], [True, False, False]), 128: ([2, 4, 8, 16, 16], [True, True, True, True, False])}


class MMGenerator(nn.Module):
    def __init__(self, output_scale, base_channels, classes=0, reweight=True, inplace=False, noise_size=128):
        super().__init__()
        f = G_FACTORS[output_scale]
        self.noise2feat = nn.Linear(noise_size, 16 * base_channels * f[0])
        outs = f[1:] + [1]
        self.conv_blocks = nn.ModuleList(
            _GenBlock(a * base_channels, b * base_channels, classes, reweight, inplace) for a, b in zip(f, outs)
        )
        self.to_rgb = _ToRGB(base_channels, inplace)

    def forward(self, z, y=None):
        x = self.noise2feat(z)
        x = x.reshape(x.size(0), -1, 4, 4)
        for block in self.conv_blocks:
            x = block(x, y)
        return torch.tanh(self.to_rgb(x))


class _DiscHead(nn.Module):
    def __init__(self, cin, cout, inplace):
        super().__init__()
        self.activate = nn.ReLU(inplace=inplace)
        self.conv_1, self.conv_2, self.shortcut = _Conv(cin, cout, 3, True), _Conv(cout, cout, 3, True), _Conv(cin, cout, 1, True)

    def forward(self, x):
        out = F.avg_pool2d(self.conv_2(self.activate(self.conv_1(x))), 2)
        return out + self.shortcut(F.avg_pool2d(x, 2))


class _DiscBlock(nn.Module):
    def __init__(self, cin, cout, downsample, inplace):
        super().__init__()
        self.activate = nn.ReLU(inplace=inplace)
        self.down = downsample
        self.conv_1, self.conv_2 = _Conv(cin, cout, 3, True), _Conv(cout, cout, 3, True)
        self.learnable = cin != cout or downsample
        if self.learnable:
            self.shortcut = _Conv(cin, cout, 1, True)

    def forward(self, x):
        out = self.conv_2(self.activate(self.conv_1(self.activate(x))))  # in place: rewrites x as well
        if self.down:
            out = F.avg_pool2d(out, 2)
        sc = x
        if self.learnable:
            sc = self.shortcut(sc)
            if self.down:
                sc = F.avg_pool2d(sc, 2)
        return out + sc


class MMDiscriminator(nn.Module):
    def __init__(self, input_scale, base_channels, classes=0, inplace=False):
        super().__init__()
        factors, downs = D_FACTORS[input_scale]
        self.from_rgb = _DiscHead(3, base_channels, inplace)
        ins = [1] + factors[:-1]
        self.conv_blocks = nn.ModuleList(
            _DiscBlock(a * base_channels, b * base_channels, d, inplace) for a, b, d in zip(ins, factors, downs)
        )
        c = factors[-1] * base_channels
        self.decision = spectral_norm(nn.Linear(c, 1))
        self.classes = classes
        if classes:
            self.proj_y = spectral_norm(nn.Embedding(classes, c))
        self.activate = nn.ReLU(inplace=inplace)

    def forward(self, x, label=None):
        h = self.from_rgb(x)
        for block in self.conv_blocks:
            h = block(h)
        h = torch.sum(self.activate(h), dim=[2, 3])
        out = self.decision(h)
        if self.classes:
            out = out + torch.sum(self.proj_y(label) * h, dim=1, keepdim=True)
        return out.view(out.size(0), -1)
