"""BigGAN building blocks (Brock et al., 2019): linear conditional BN, residual G/D blocks, BigGAN-deep blocks.

Semantics follow BigGAN-PyTorch (``layers.py``: ``ccbn``, ``GBlock``, ``DBlock``; ``BigGANdeep.py``:
``GBlock``, ``DBlock``) and StudioGAN's ``big_resnet``:

* :class:`BigGANConditionalBatchNorm2d`: BN without affine, then ``gain = 1 + W_g c`` and
  ``bias = W_b c`` with bias-free SN linears of the condition ``c = [shared embedding(y), z chunk]``.
* :class:`BigGANGBlock`: ``cBN -> ReLU -> up -> conv3x3 -> cBN -> ReLU -> conv3x3`` plus
  ``up -> conv1x1`` shortcut.
* :class:`BigGANDBlock`: ``[ReLU] -> conv3x3 -> ReLU -> conv3x3 -> [down]``, hidden width = out
  ("wide" D), shortcut ``conv1x1 -> down`` (pre-activation blocks) or ``down -> conv1x1`` (first block).
* :class:`BigGANDeepGBlock` / :class:`BigGANDeepDBlock`: bottleneck blocks (1x1 down to C/4, two
  3x3, 1x1 up) whose shortcut drops channels (G) or concatenates learned ones (D).
* :func:`split_latent`: the hierarchical latent (skip-z) split of ``z`` into equal chunks.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import _check_channels
from .layers import SNConv2d, SNLinear

__all__ = [
    "BigGANConditionalBatchNorm2d",
    "BigGANGBlock",
    "BigGANDBlock",
    "BigGANDeepGBlock",
    "BigGANDeepDBlock",
    "split_latent",
]


def split_latent(z: Tensor, num_chunks: int) -> Tuple[Tensor, ...]:
    r"""Splits ``z`` into ``num_chunks`` equal chunks (BigGAN's hierarchical latent / skip-z).

    The first chunk feeds G's dense layer, chunk ``i`` the conditional BNs of block ``i - 1``.

    Args:
        z: latent batch :math:`(N, D)`, ``D`` a multiple of ``num_chunks``.
        num_chunks: number of chunks (blocks + 1 in BigGAN).

    Example::

        >>> [c.shape[1] for c in split_latent(torch.randn(2, 120), 6)]
        [20, 20, 20, 20, 20, 20]
    """
    if z.dim() != 2 or z.shape[1] % num_chunks:
        raise ValueError(f"split_latent: z must be (N, D) with D a multiple of {num_chunks}, got {tuple(z.shape)}")
    return torch.split(z, z.shape[1] // num_chunks, dim=1)


def _conv(sn: bool, cin: int, cout: int, k: int) -> nn.Module:
    return (SNConv2d if sn else nn.Conv2d)(cin, cout, k, padding=k // 2)


class BigGANConditionalBatchNorm2d(nn.Module):
    r"""BN without affine, then a gain ``1 + W_g c`` and a bias ``W_b c`` linear in the condition ``c``.

    Args:
        num_features: channels ``C``.
        cond_dim: size of the condition ``c`` (shared embedding size + z chunk size in BigGAN).
        eps: BN epsilon (1e-5 BigGAN-PyTorch, 1e-4 StudioGAN).
        momentum: BN running-statistics momentum.
        sn: spectral normalization on the two (bias-free) linears (BigGAN: on).

    Shape:
        - x: :math:`(N, C, H, W)`; cond: :math:`(N, cond\_dim)`.
        - Output: :math:`(N, C, H, W)`.

    Example::

        >>> bn = BigGANConditionalBatchNorm2d(16, cond_dim=148)
        >>> bn(torch.randn(4, 16, 8, 8), torch.randn(4, 148)).shape
        torch.Size([4, 16, 8, 8])
    """

    def __init__(self, num_features: int, cond_dim: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, sn: bool = True) -> None:
        super().__init__()
        self.num_features = _check_channels("num_features", num_features)
        self.cond_dim = _check_channels("cond_dim", cond_dim)
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        lin = SNLinear if sn else nn.Linear
        self.gain = lin(cond_dim, num_features, bias=False)
        self.bias = lin(cond_dim, num_features, bias=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        if cond.dim() != 2 or cond.shape[1] != self.cond_dim:
            raise ValueError(f"BigGANConditionalBatchNorm2d: cond must be (N, {self.cond_dim}), got {tuple(cond.shape)}")
        gain = (1 + self.gain(cond))[:, :, None, None]
        return torch.addcmul(self.bias(cond)[:, :, None, None], self.bn(x), gain)

    def extra_repr(self) -> str:
        return f"{self.num_features}, cond_dim={self.cond_dim}"


class BigGANGBlock(nn.Module):
    r"""BigGAN generator residual block with linear conditional BN (BigGAN-PyTorch ``layers.GBlock``).

    Args:
        in_channels, out_channels: channels.
        cond_dim: size of the BN condition.
        upsample: nearest x2 upsampling of both paths.
        bn_eps, bn_momentum: BN settings.
        sn: spectral normalization on the convolutions and the BN linears.

    Shape:
        - x: :math:`(N, C_{in}, H, W)`; cond: :math:`(N, cond\_dim)`.
        - Output: :math:`(N, C_{out}, 2H, 2W)` (or :math:`(N, C_{out}, H, W)` without upsampling).

    Example::

        >>> blk = BigGANGBlock(32, 16, cond_dim=20)
        >>> blk(torch.randn(2, 32, 4, 4), torch.randn(2, 20)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, upsample: bool = True,
                 bn_eps: float = 1e-5, bn_momentum: float = 0.1, sn: bool = True) -> None:
        super().__init__()
        self.upsample = bool(upsample)
        self.bn1 = BigGANConditionalBatchNorm2d(in_channels, cond_dim, bn_eps, bn_momentum, sn)
        self.conv1 = _conv(sn, in_channels, out_channels, 3)
        self.bn2 = BigGANConditionalBatchNorm2d(out_channels, cond_dim, bn_eps, bn_momentum, sn)
        self.conv2 = _conv(sn, out_channels, out_channels, 3)
        self.conv_sc: Optional[nn.Module] = None
        if in_channels != out_channels or upsample:
            self.conv_sc = _conv(sn, in_channels, out_channels, 1)

    def _up(self, h: Tensor) -> Tensor:
        return F.interpolate(h, scale_factor=2, mode="nearest") if self.upsample else h

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = self._up(F.relu(self.bn1(x, cond)))
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        sc = self._up(x)
        return h + (sc if self.conv_sc is None else self.conv_sc(sc))


class BigGANDBlock(nn.Module):
    r"""BigGAN discriminator residual block (BigGAN-PyTorch ``layers.DBlock``, ``wide=True``).

    Args:
        in_channels, out_channels: channels (hidden width = ``out_channels``).
        downsample: 2x2 average pooling at the end of both paths.
        preactivation: ReLU on the input (every block but the first); the shortcut is then
            ``conv1x1 -> pool``, otherwise ``pool -> conv1x1``.
        sn: spectral normalization on the convolutions.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`; output :math:`(N, C_{out}, H/2, W/2)` (or ``H, W``).

    Example::

        >>> BigGANDBlock(3, 16, preactivation=False)(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 16, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = True, preactivation: bool = True, sn: bool = True) -> None:
        super().__init__()
        self.downsample, self.preactivation = bool(downsample), bool(preactivation)
        self.conv1 = _conv(sn, in_channels, out_channels, 3)
        self.conv2 = _conv(sn, out_channels, out_channels, 3)
        self.conv_sc: Optional[nn.Module] = None
        if in_channels != out_channels or downsample:
            self.conv_sc = _conv(sn, in_channels, out_channels, 1)

    def _down(self, h: Tensor) -> Tensor:
        return F.avg_pool2d(h, 2) if self.downsample else h

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self._down(self.conv2(F.relu(self.conv1(h))))
        sc = x
        if self.conv_sc is not None:
            sc = self._down(self.conv_sc(sc)) if self.preactivation else self.conv_sc(self._down(sc))
        return h + sc


class BigGANDeepGBlock(nn.Module):
    r"""BigGAN-deep generator block (``BigGANdeep.py`` ``GBlock``): bottleneck with channel-drop skip.

    ``cBN -> ReLU -> conv1x1 (C_in -> C_in/4) -> cBN -> ReLU -> [up] -> conv3x3 -> cBN -> ReLU -> conv3x3
    -> cBN -> ReLU -> conv1x1 (-> C_out)``; the shortcut keeps the first ``C_out`` channels of ``x``
    (``C_out <= C_in``) and upsamples them. No learnable shortcut.

    Args:
        in_channels, out_channels: channels (``out_channels <= in_channels``).
        cond_dim: size of the BN condition.
        upsample: nearest x2 upsampling.
        bn_eps, bn_momentum, sn: as :class:`BigGANGBlock`.
        channel_ratio: bottleneck reduction (4).

    Shape:
        - x: :math:`(N, C_{in}, H, W)`; cond: :math:`(N, cond\_dim)`; output :math:`(N, C_{out}, 2H, 2W)`.

    Example::

        >>> BigGANDeepGBlock(32, 16, cond_dim=8)(torch.randn(2, 32, 4, 4), torch.randn(2, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, upsample: bool = True,
                 bn_eps: float = 1e-5, bn_momentum: float = 0.1, sn: bool = True, channel_ratio: int = 4) -> None:
        super().__init__()
        if out_channels > in_channels:
            raise ValueError(f"BigGANDeepGBlock drops channels in its shortcut: expected out_channels <= in_channels, got {out_channels} > {in_channels}")
        hidden = _check_channels("in_channels // channel_ratio", in_channels // channel_ratio)
        self.out_channels, self.upsample = out_channels, bool(upsample)
        self.bns = nn.ModuleList(
            BigGANConditionalBatchNorm2d(c, cond_dim, bn_eps, bn_momentum, sn) for c in (in_channels, hidden, hidden, hidden)
        )
        self.conv1 = _conv(sn, in_channels, hidden, 1)
        self.conv2 = _conv(sn, hidden, hidden, 3)
        self.conv3 = _conv(sn, hidden, hidden, 3)
        self.conv4 = _conv(sn, hidden, out_channels, 1)

    def _up(self, h: Tensor) -> Tensor:
        return F.interpolate(h, scale_factor=2, mode="nearest") if self.upsample else h

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        bn1, bn2, bn3, bn4 = self.bns
        h = self.conv1(F.relu(bn1(x, cond)))
        h = self.conv2(self._up(F.relu(bn2(h, cond))))
        h = self.conv3(F.relu(bn3(h, cond)))
        h = self.conv4(F.relu(bn4(h, cond)))
        return h + self._up(x[:, : self.out_channels])


class BigGANDeepDBlock(nn.Module):
    r"""BigGAN-deep discriminator block (``BigGANdeep.py`` ``DBlock``): bottleneck, concatenating shortcut.

    ``ReLU -> conv1x1 (-> C_out/4) -> ReLU -> conv3x3 -> ReLU -> conv3x3 -> ReLU -> [pool] -> conv1x1 (-> C_out)``;
    shortcut ``[pool] -> cat([x, conv1x1(x)])`` with ``C_out - C_in`` learned channels (identity when equal).

    Args:
        in_channels, out_channels: channels (``out_channels >= in_channels``).
        downsample: 2x2 average pooling.
        sn: spectral normalization on the convolutions.
        channel_ratio: bottleneck reduction (4).

    Example::

        >>> BigGANDeepDBlock(16, 32)(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 32, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = True, sn: bool = True, channel_ratio: int = 4) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"BigGANDeepDBlock concatenates channels in its shortcut: expected out_channels >= in_channels, got {out_channels} < {in_channels}")
        hidden = _check_channels("out_channels // channel_ratio", out_channels // channel_ratio)
        self.downsample = bool(downsample)
        self.conv1 = _conv(sn, in_channels, hidden, 1)
        self.conv2 = _conv(sn, hidden, hidden, 3)
        self.conv3 = _conv(sn, hidden, hidden, 3)
        self.conv4 = _conv(sn, hidden, out_channels, 1)
        self.conv_sc: Optional[nn.Module] = _conv(sn, in_channels, out_channels - in_channels, 1) if out_channels > in_channels else None

    def _down(self, h: Tensor) -> Tensor:
        return F.avg_pool2d(h, 2) if self.downsample else h

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        h = self.conv1(F.relu(x))
        h = self.conv3(F.relu(self.conv2(F.relu(h))))
        h = self.conv4(self._down(F.relu(h)))
        sc = self._down(x)
        if self.conv_sc is not None:
            sc = torch.cat([sc, self.conv_sc(sc)], dim=1)
        return h + sc

