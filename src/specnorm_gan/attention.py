"""SAGAN self-attention with spectrally normalized 1x1 convolutions (Zhang et al., 2019).

The block of SAGAN and BigGAN (BigGAN-PyTorch ``layers.Attention``, StudioGAN ``ops.SelfAttention``):
queries ``theta`` (C/8 channels), keys ``phi`` (C/8) and values ``g`` (C/2) are bias-free SN 1x1
convolutions; keys and values are 2x2 max-pooled (4x fewer positions), the attended values go
through an SN 1x1 output convolution ``o`` (C/2 -> C), and a learnable scalar ``gamma`` (initialised
to 0, so a fresh block is the identity) scales the result added to the input.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import _check_channels
from .layers import SNConv2d

__all__ = ["SNSelfAttention2d"]


class SNSelfAttention2d(nn.Module):
    r"""Self-attention over the positions of a feature map, ``x + gamma * o(attend(x))``.

    With ``theta = W_theta x`` (N, C/8, HW), ``phi = maxpool2(W_phi x)`` (N, C/8, HW/4) and
    ``g = maxpool2(W_g x)`` (N, C/2, HW/4), the attention is ``beta = softmax(theta^T phi)`` over the
    pooled positions and the output ``x + gamma * W_o (g beta^T)`` (no 1/sqrt(d) scaling, as SAGAN).

    Args:
        channels: input (and output) channels ``C``; queries and keys get ``max(1, C // 8)`` channels,
            values ``max(1, C // 2)``.
        sn: spectral normalization on the four 1x1 convolutions (SAGAN/BigGAN: on).
        pool: max-pooling factor of keys and values (2 as SAGAN/BigGAN; 1 = no pooling).

    Shape:
        - Input: :math:`(N, C, H, W)` with ``H`` and ``W`` multiples of ``pool``.
        - Output: :math:`(N, C, H, W)`.

    Example::

        >>> att = SNSelfAttention2d(64)
        >>> x = torch.randn(2, 64, 8, 8)
        >>> att(x).shape, bool(torch.equal(att(x), x))  # gamma starts at 0
        (torch.Size([2, 64, 8, 8]), True)
    """

    def __init__(self, channels: int, sn: bool = True, pool: int = 2) -> None:
        super().__init__()
        _check_channels("channels", channels)
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise ValueError(f"pool must be an int >= 1, got {pool!r}")
        self.channels, self.pool = channels, pool
        conv = SNConv2d if sn else nn.Conv2d
        # At least one query/key and value channel, so that small test widths (C < 8) still build.
        qk, v = max(1, channels // 8), max(1, channels // 2)
        self.theta = conv(channels, qk, 1, bias=False)
        self.phi = conv(channels, qk, 1, bias=False)
        self.g = conv(channels, v, 1, bias=False)
        self.o = conv(v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def attention(self, x: Tensor) -> Tensor:
        """The attention weights ``beta`` of shape ``(N, H*W, H*W / pool**2)`` (rows sum to 1)."""
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)
        phi = self._pool(self.phi(x)).flatten(2)
        return torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)

    def _pool(self, h: Tensor) -> Tensor:
        return F.max_pool2d(h, self.pool) if self.pool > 1 else h

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:  # y: ignored (block-list interface)
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SNSelfAttention2d expects input of shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        n, c, h, w = x.shape
        if h < self.pool or w < self.pool or h % self.pool or w % self.pool:
            raise ValueError(
                f"SNSelfAttention2d: feature map {h}x{w} is smaller than or not a multiple of the {self.pool}x{self.pool} "
                f"pooling of keys and values; expected H and W multiples of {self.pool} (at least {self.pool})"
            )
        beta = self.attention(x)
        g = self._pool(self.g(x)).flatten(2)
        out = self.o(torch.bmm(g, beta.transpose(1, 2)).view(n, c // 2, h, w))
        return x + self.gamma * out

    def extra_repr(self) -> str:
        return f"{self.channels}, pool={self.pool}"
