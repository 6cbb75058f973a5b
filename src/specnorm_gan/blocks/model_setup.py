"""What is applied to every block of a model: weight initialization (:func:`init_weights`) and the folding switch
(:func:`fold_resampling`)."""

from __future__ import annotations

import math
from typing import Callable, Optional, Set, Union

import torch
from torch import Tensor, nn

from ..layers import reset_spectral_norm
from .conditional import ConditionalBatchNorm2d
from .dblock import DBlock, OptimizedDBlock
from .gblock import GBlock

#: Names accepted by :func:`init_weights` (and by the ``init`` argument of the architectures).
INIT_SCHEMES = ("chainer", "xavier", "orthogonal", "normal0.02", "torch-default")


def fold_resampling(model: nn.Module, enable: bool = True) -> nn.Module:
    """Turns the folding of resampling into convolutions on or off in every block of ``model``.

    On (the default of :class:`GBlock`, :class:`DBlock` and :class:`OptimizedDBlock`), a
    block computes ``conv3x3 -> avg pool`` as one stride-2 4x4 convolution, ``nearest upsample
    -> conv3x3`` as one stride-2 4x4 transposed convolution, and its 1x1 shortcut convolution at
    the lower resolution: the same function with 2.25x (4x for shortcuts) fewer multiply-adds,
    equal to the plain order within float rounding but not bit-identical. Off, every block runs
    the operations in the order of the official code. Parameters, buffers and state dicts are
    the same either way.

    Args:
        model: a block, or any module containing blocks.
        enable: ``True`` to fold, ``False`` for the plain order.

    Returns:
        ``model``.

    Example::

        >>> block = DBlock(8, 16).double().eval()  # eval: the power iteration does not advance
        >>> x = torch.randn(2, 8, 8, 8, dtype=torch.float64)
        >>> folded = block(x)
        >>> plain = fold_resampling(block, False)(x)
        >>> torch.allclose(folded, plain, atol=1e-12)
        True
    """
    for m in model.modules():
        if isinstance(m, (GBlock, DBlock, OptimizedDBlock)):
            m.fold_resampling = bool(enable)
    return model


_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Embedding)


@torch.no_grad()
def init_weights(
    module: nn.Module,
    scheme: str = "chainer",
    *,
    residual_gain: Optional[float] = None,
    shortcut_gain: Optional[float] = None,
    gain: Optional[float] = None,
) -> nn.Module:
    r"""Initializes every layer of ``module`` in place and re-warms its spectral norms.

    Schemes (weights of ``nn.Linear``, ``nn.Conv*``, ``nn.ConvTranspose*``, ``nn.Embedding`` and
    their SN versions; biases are set to 0 except for ``"torch-default"``):

    * ``"chainer"`` (official SNGAN / projection code): Glorot (Xavier) uniform with gain
      ``sqrt(2)`` on the 3x3 convolutions of every residual block (:class:`GBlock`,
      :class:`DBlock`, :class:`OptimizedDBlock`) and gain 1 on everything else (1x1 shortcuts,
      the G dense and output layers, the D linear and embedding).
    * ``"xavier"``: Glorot uniform, gain 1 everywhere (BigGAN-PyTorch).
    * ``"orthogonal"``: orthogonal, gain 1 (StudioGAN, mmgeneration ``studio``).
    * ``"normal0.02"``: :math:`N(0, 0.02^2)` (DCGAN; ``chainer-gan-lib``'s SN-DCGAN).
    * ``"torch-default"``: each layer's own ``reset_parameters()`` (torch defaults).

    Batch norms get scale 1 and shift 0 (per class for :class:`ConditionalBatchNorm2d`) and fresh
    running statistics. Afterwards :func:`specnorm_gan.reset_spectral_norm` re-warms the power
    iteration of every spectral-norm layer for the new weights.

    Args:
        module: the module to initialize.
        scheme: one of :data:`INIT_SCHEMES`.
        residual_gain: overrides the gain of residual-block 3x3 convolutions (Glorot and
            orthogonal schemes).
        shortcut_gain: overrides the gain of residual-block 1x1 shortcut convolutions.
        gain: overrides the gain of all other layers.

    Returns:
        ``module``.

    Example::

        >>> block = init_weights(DBlock(8, 16), "orthogonal")
        >>> bool((block.c1.bias == 0).all())
        True
    """
    if not isinstance(scheme, str) or scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; expected one of {list(INIT_SCHEMES)}")
    residual: Set[int] = set()
    shortcut: Set[int] = set()
    for m in module.modules():
        if isinstance(m, (GBlock, DBlock, OptimizedDBlock)):
            residual.update(id(c) for c in m.residual_convs())
            if m.c_sc is not None:
                shortcut.add(id(m.c_sc))
    default_residual = math.sqrt(2.0) if scheme == "chainer" else 1.0
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            m.reset_parameters()
            continue
        if isinstance(m, ConditionalBatchNorm2d):
            m.reset_parameters()
            continue
        if not isinstance(m, _WEIGHTED):
            continue
        if scheme == "torch-default":
            m.reset_parameters()
            continue
        if id(m) in residual:
            g = default_residual if residual_gain is None else residual_gain
        elif id(m) in shortcut:
            g = 1.0 if shortcut_gain is None else shortcut_gain
        else:
            g = 1.0 if gain is None else gain
        w = m.weight
        if scheme in ("chainer", "xavier"):
            nn.init.xavier_uniform_(w, gain=g)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w, gain=g)
        else:  # normal0.02
            nn.init.normal_(w, 0.0, 0.02)
        bias = getattr(m, "bias", None)
        if isinstance(bias, Tensor):
            bias.zero_()
    reset_spectral_norm(module)
    return module


def _apply_init(module: nn.Module, init: Union[str, Callable[[nn.Module], object]]) -> None:
    """Applies an ``init`` argument of an architecture: a scheme name or a callable."""
    if callable(init):
        init(module)
        reset_spectral_norm(module)
    else:
        init_weights(module, init)

