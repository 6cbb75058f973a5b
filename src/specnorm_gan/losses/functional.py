"""The adversarial losses as plain functions of D's logits (and the logit check they share)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_logits(name: str, logits: Any) -> None:
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of discriminator logits, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of logits, got dtype {logits.dtype}")
    if logits.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(logits.shape)}); expected at least one logit")


# --------------------------------------------------------------------------------------------
# Plain functions
# --------------------------------------------------------------------------------------------
def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge discriminator loss ``mean(relu(1 - real)) + mean(relu(1 + fake))``.

    Args:
        real_logits: discriminator logits of real samples.
        fake_logits: discriminator logits of generated samples.

    Shape:
        - Inputs: any shape (usually :math:`(N,)`); the two batches may differ in size.
        - Output: scalar.

    Example::

        >>> hinge_d_loss(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0]))
        tensor(0.7500)
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss ``-mean(fake)`` (as in the official SNGAN code).

    Args:
        fake_logits: discriminator logits of generated samples.

    Shape:
        - Input: any shape. Output: scalar.

    Example::

        >>> hinge_g_loss(torch.tensor([1.0, 3.0]))
        tensor(-2.)
    """
    _check_logits("fake_logits", fake_logits)
    return -fake_logits.mean()


def _check_target(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a float in [0, 1], got {value!r}")
    return float(value)


def bce_d_loss(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """Cross-entropy discriminator loss on logits (the SNGAN paper's "standard" GAN loss).

    ``real_target * mean(softplus(-real)) + (1 - real_target) * mean(softplus(real)) +
    mean(softplus(fake))``, i.e. binary cross-entropy with target ``real_target`` for real
    samples and 0 for fakes; ``real_target < 1`` is one-sided label smoothing.

    Args:
        real_logits: discriminator logits of real samples.
        fake_logits: discriminator logits of generated samples.
        real_target: target probability for real samples, in ``[0, 1]`` (default 1).

    Shape:
        - Inputs: any shape. Output: scalar.

    Example::

        >>> bce_d_loss(torch.zeros(3), torch.zeros(3))  # 2 log 2
        tensor(1.3863)
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    t = _check_target("real_target", real_target)
    real = F.softplus(-real_logits).mean()
    if t != 1.0:
        real = t * real + (1.0 - t) * F.softplus(real_logits).mean()
    return real + F.softplus(fake_logits).mean()


def bce_g_loss(fake_logits: Tensor, target: float = 1.0) -> Tensor:
    """Non-saturating generator loss ``mean(softplus(-fake))`` (``-mean(log sigmoid(fake))``).

    Args:
        fake_logits: discriminator logits of generated samples.
        target: target probability the generator asks for (default 1; < 1 for label smoothing).

    Shape:
        - Input: any shape. Output: scalar.

    Example::

        >>> bce_g_loss(torch.zeros(4))  # log 2
        tensor(0.6931)
    """
    _check_logits("fake_logits", fake_logits)
    t = _check_target("target", target)
    loss = F.softplus(-fake_logits).mean()
    if t != 1.0:
        loss = t * loss + (1.0 - t) * F.softplus(fake_logits).mean()
    return loss


def wasserstein_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Wasserstein critic loss ``mean(fake) - mean(real)``.

    Args:
        real_logits: critic outputs of real samples.
        fake_logits: critic outputs of generated samples.

    Shape:
        - Inputs: any shape. Output: scalar.

    Example::

        >>> wasserstein_d_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.5]))
        tensor(-1.5000)
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    return fake_logits.mean() - real_logits.mean()


def wasserstein_g_loss(fake_logits: Tensor) -> Tensor:
    """Wasserstein generator loss ``-mean(fake)``: the same function as :func:`hinge_g_loss` (any shape in,
    scalar out), kept under its own name for WGAN code.

    Example::

        >>> wasserstein_g_loss(torch.tensor([1.0, 2.0]))
        tensor(-1.5000)
    """
    return hinge_g_loss(fake_logits)


def least_squares_d_loss(real_logits: Tensor, fake_logits: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Least-squares (LSGAN) discriminator loss ``0.5 mean((real - b)^2) + 0.5 mean((fake - a)^2)``.

    Args:
        real_logits: discriminator outputs of real samples.
        fake_logits: discriminator outputs of generated samples.
        a: target for fakes (default 0).
        b: target for reals (default 1).

    Shape:
        - Inputs: any shape. Output: scalar.

    Example::

        >>> least_squares_d_loss(torch.tensor([1.0]), torch.tensor([1.0]))
        tensor(0.5000)
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    return 0.5 * (real_logits - b).pow(2).mean() + 0.5 * (fake_logits - a).pow(2).mean()


def least_squares_g_loss(fake_logits: Tensor, c: float = 1.0) -> Tensor:
    """Least-squares (LSGAN) generator loss ``0.5 mean((fake - c)^2)``.

    Args:
        fake_logits: discriminator outputs of generated samples.
        c: the value the generator wants the discriminator to output (default 1).

    Shape:
        - Input: any shape. Output: scalar.

    Example::

        >>> least_squares_g_loss(torch.tensor([0.0, 2.0]))
        tensor(0.5000)
    """
    _check_logits("fake_logits", fake_logits)
    return 0.5 * (fake_logits - c).pow(2).mean()
