"""A discriminator-shaped stack of SN layers with the widths of the SNGAN ResNet CIFAR-10 D.

Shared by the spectral-norm benchmarks: the residual topology of the 32 px D (optimized block
3->128, three blocks 128->128, ReLU, sum pooling, linear 128->1: 11 SN layers) built either from
this library's layers (fused or per-layer), from plain layers wrapped by torch's
``torch.nn.utils.parametrizations.spectral_norm``, or from plain layers without SN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import specnorm_gan as sg

WIDTH = 128


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool, first: bool) -> None:
        super().__init__()
        self.first, self.down = first, down
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.sc = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)
        h = self.c2(F.relu(self.c1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        if self.sc is None:
            return h + x
        s = x
        if self.first:
            s = self.sc(F.avg_pool2d(s, 2))
        else:
            s = self.sc(s)
            s = F.avg_pool2d(s, 2) if self.down else s
        return h + s


class DStack(nn.Module):
    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            _Block(3, width, True, True), _Block(width, width, True, False),
            _Block(width, width, False, False), _Block(width, width, False, False),
        )
        self.linear = nn.Linear(width, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        return self.linear(h).view(-1)


def build(kind: str, width: int = WIDTH) -> nn.Module:
    """kind: 'fused', 'per-layer', 'torch' (parametrizations.spectral_norm) or 'none'."""
    torch.manual_seed(0)
    model = DStack(width)
    if kind in ("fused", "per-layer"):
        sg.spectral_norm_all(model, fuse=(kind == "fused"))
    elif kind == "torch":
        for m in list(model.modules()):
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                torch.nn.utils.parametrizations.spectral_norm(m)
    elif kind != "none":
        raise ValueError(f"unknown kind {kind!r}")
    return model
