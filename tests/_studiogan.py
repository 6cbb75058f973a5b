"""A small re-implementation of PyTorch-StudioGAN's ResNet SNGAN (v0.4), written from its published definition.

Source read (POSTECH-CVLab/PyTorch-StudioGAN): ``src/models/resnet.py`` at 03b02d5 (``GenBlock``, ``Generator``,
``DiscOptBlock``, ``DiscBlock``, ``Discriminator``: layer names, the width tables ``g_in_dims_collection["32"] =
[4c, 4c, 4c]``, ``d_out_dims_collection["32"] = [2c] * 4``, ``d_down["32"] = [True, True, False, False]``, the
forward order) and ``src/utils/ops.py`` at 11d5b2a (``ConditionalBatchNorm2d``: ``bn`` affine-free eps 1e-4 +
``embed0`` / ``embed1``, gain ``1 + embed0(y)``; ``snconv2d`` / ``snlinear`` / ``sn_embedding`` =
``torch.nn.utils.spectral_norm(..., eps=1e-6)``; ``batchnorm_2d`` eps 1e-4). ``src/config.py`` sets
``nn.ReLU(inplace=True)`` as both activations. The names below produce exactly its state-dict keys.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


def _sn(layer):
    return spectral_norm(layer, eps=1e-6)


class _CondBN(nn.Module):
    def __init__(self, classes, c):
        super().__init__()
        self.c = c
        self.bn = nn.BatchNorm2d(c, eps=1e-4, momentum=0.1, affine=False)
        self.embed0 = nn.Embedding(classes, c)
        self.embed1 = nn.Embedding(classes, c)

    def forward(self, x, y):
        return self.bn(x) * (1 + self.embed0(y)).view(-1, self.c, 1, 1) + self.embed1(y).view(-1, self.c, 1, 1)


class _GenBlock(nn.Module):
    def __init__(self, cin, cout, classes):
        super().__init__()
        self.cond = classes > 0
        self.bn1 = _CondBN(classes, cin) if self.cond else nn.BatchNorm2d(cin, eps=1e-4)
        self.bn2 = _CondBN(classes, cout) if self.cond else nn.BatchNorm2d(cout, eps=1e-4)
        self.act = nn.ReLU(inplace=True)
        self.conv2d0 = nn.Conv2d(cin, cout, 1)
        self.conv2d1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2d2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x, y):
        skip = x
        h = self.bn1(x, y) if self.cond else self.bn1(x)
        h = self.conv2d1(F.interpolate(self.act(h), scale_factor=2, mode="nearest"))
        h = self.conv2d2(self.act(self.bn2(h, y) if self.cond else self.bn2(h)))
        return h + self.conv2d0(F.interpolate(skip, scale_factor=2, mode="nearest"))


class StudioGenerator(nn.Module):
    def __init__(self, g_conv_dim=64, classes=0, z_dim=128):
        super().__init__()
        c = 4 * g_conv_dim
        self.c = c
        self.linear0 = nn.Linear(z_dim, c * 16)
        self.blocks = nn.ModuleList([nn.ModuleList([_GenBlock(c, c, classes)]) for _ in range(3)])
        self.bn4 = nn.BatchNorm2d(c, eps=1e-4)
        self.activation = nn.ReLU(inplace=True)
        self.conv2d5 = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, z, y=None):
        h = self.linear0(z).view(-1, self.c, 4, 4)
        for blocklist in self.blocks:
            h = blocklist[0](h, y)
        return torch.tanh(self.conv2d5(self.activation(self.bn4(h))))


class _DiscOptBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv2d0 = _sn(nn.Conv2d(cin, cout, 1))
        self.conv2d1 = _sn(nn.Conv2d(cin, cout, 3, padding=1))
        self.conv2d2 = _sn(nn.Conv2d(cout, cout, 3, padding=1))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        h = F.avg_pool2d(self.conv2d2(self.act(self.conv2d1(x))), 2)
        return h + self.conv2d0(F.avg_pool2d(x, 2))


class _DiscBlock(nn.Module):
    def __init__(self, cin, cout, downsample):
        super().__init__()
        self.downsample = downsample
        self.learnable = cin != cout or downsample
        if self.learnable:
            self.conv2d0 = _sn(nn.Conv2d(cin, cout, 1))
        self.conv2d1 = _sn(nn.Conv2d(cin, cout, 3, padding=1))
        self.conv2d2 = _sn(nn.Conv2d(cout, cout, 3, padding=1))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        skip = x
        h = self.conv2d2(self.act(self.conv2d1(self.act(x))))  # the first in-place ReLU also rewrites `skip`
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.learnable:
            skip = self.conv2d0(skip)
            if self.downsample:
                skip = F.avg_pool2d(skip, 2)
        return h + skip


class StudioDiscriminator(nn.Module):
    def __init__(self, d_conv_dim=64, classes=0):
        super().__init__()
        c = 2 * d_conv_dim
        blocks = [_DiscOptBlock(3, c)] + [_DiscBlock(c, c, down) for down in (True, False, False)]
        self.blocks = nn.ModuleList([nn.ModuleList([b]) for b in blocks])
        self.activation = nn.ReLU(inplace=True)
        self.linear1 = _sn(nn.Linear(c, 1, bias=True))
        self.classes = classes
        if classes:
            self.embedding = _sn(nn.Embedding(classes, c))

    def forward(self, x, y=None):
        h = x
        for blocklist in self.blocks:
            h = blocklist[0](h)
        h = torch.sum(self.activation(h), dim=[2, 3])
        out = torch.squeeze(self.linear1(h))
        if self.classes:
            out = out + torch.sum(self.embedding(y) * h, 1)
        return out
