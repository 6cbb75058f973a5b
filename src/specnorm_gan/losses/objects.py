"""The adversarial losses as objects (:class:`GANLoss` and its subclasses) and their registry (:func:`get_loss`)."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .functional import (_check_logits, _check_target, bce_d_loss, bce_g_loss, hinge_d_loss, hinge_g_loss, least_squares_d_loss,
                         least_squares_g_loss, wasserstein_d_loss, wasserstein_g_loss)


# --------------------------------------------------------------------------------------------
# Loss objects
# --------------------------------------------------------------------------------------------
class GANLoss:
    """Base class of the loss objects returned by :func:`get_loss`.

    Subclasses implement :meth:`d_loss` and :meth:`g_loss`; ``name`` is the canonical name.

    Example::

        >>> class Softplus(GANLoss):
        ...     name = "softplus"
        ...     def d_loss(self, real_logits, fake_logits):
        ...         return bce_d_loss(real_logits, fake_logits)
        ...     def g_loss(self, fake_logits):
        ...         return bce_g_loss(fake_logits)
        >>> get_loss(Softplus()).g_loss(torch.zeros(2))
        tensor(0.6931)
    """

    name: str = ""
    #: True when :meth:`g_loss` takes ``real_logits`` too (relativistic losses).
    needs_real_logits: bool = False

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """Discriminator loss from the logits of a real and a fake batch (scalar)."""
        raise NotImplementedError

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        """Generator loss from the discriminator logits of a fake batch (scalar)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HingeLoss(GANLoss):
    """Hinge loss of the SNGAN code: :func:`hinge_d_loss`, :func:`hinge_g_loss`.

    Example::

        >>> loss = HingeLoss()
        >>> loss.d_loss(torch.ones(2), -torch.ones(2)), loss.g_loss(torch.ones(2))
        (tensor(0.), tensor(-1.))
    """

    name = "hinge"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return hinge_d_loss(real_logits, fake_logits)

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return hinge_g_loss(fake_logits)


class BCELoss(GANLoss):
    """Non-saturating cross-entropy loss: :func:`bce_d_loss`, :func:`bce_g_loss`.

    Args:
        real_target: target probability of real samples for D and of fakes for G (default 1;
            0.9 is one-sided label smoothing as in ``ChenKaiXuSan/SNGAN_projection-PyTorch``).

    Example::

        >>> BCELoss().g_loss(torch.zeros(2))
        tensor(0.6931)
    """

    name = "bce"

    def __init__(self, real_target: float = 1.0) -> None:
        self.real_target = _check_target("real_target", real_target)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return bce_d_loss(real_logits, fake_logits, self.real_target)

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return bce_g_loss(fake_logits, self.real_target)

    def __repr__(self) -> str:
        return f"BCELoss(real_target={self.real_target})"


class WassersteinLoss(GANLoss):
    """Wasserstein loss: :func:`wasserstein_d_loss`, :func:`wasserstein_g_loss`.

    Example::

        >>> WassersteinLoss().d_loss(torch.ones(2), torch.zeros(2))
        tensor(-1.)
    """

    name = "wasserstein"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return wasserstein_d_loss(real_logits, fake_logits)

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return wasserstein_g_loss(fake_logits)


class LeastSquaresLoss(GANLoss):
    """Least-squares loss (LSGAN): :func:`least_squares_d_loss`, :func:`least_squares_g_loss`.

    Args:
        a: target of fakes for D (default 0).
        b: target of reals for D (default 1).
        c: target of fakes for G (default 1).

    Example::

        >>> LeastSquaresLoss().g_loss(torch.ones(3))
        tensor(0.)
    """

    name = "least_squares"

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = float(a), float(b), float(c)

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return least_squares_d_loss(real_logits, fake_logits, self.a, self.b)

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return least_squares_g_loss(fake_logits, self.c)

    def __repr__(self) -> str:
        return f"LeastSquaresLoss(a={self.a}, b={self.b}, c={self.c})"


class RpGANLoss(GANLoss):
    r"""Relativistic pairing loss (RpGAN; Jolicoeur-Martineau 2019, Huang et al. 2024 "The GAN is dead").

    D: ``mean softplus(D(fake_i) - D(real_i))``; G: ``mean softplus(D(real_i) - D(fake_i))``. The G loss
    needs D's outputs on reals (:attr:`needs_real_logits`): the training loop reuses the last D step's
    real batch for it (no extra data fetch). Pair it with the R1 and R2 penalties (``r1_weight``,
    ``r2_weight``) as in R3GAN. When the two batches differ in size, the real logits are tiled to the
    fake batch's size.

    Example::

        >>> loss = RpGANLoss()
        >>> r, f = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0])
        >>> bool(torch.isclose(loss.d_loss(r, f), (torch.log1p(torch.exp(torch.tensor(-2.0))) + math.log(2)) / 2))
        True
    """

    name = "rpgan"
    needs_real_logits = True

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        _check_logits("real_logits", real_logits)
        _check_logits("fake_logits", fake_logits)
        return F.softplus(fake_logits.view(-1) - _paired(real_logits, fake_logits)).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Optional[Tensor] = None) -> Tensor:  # type: ignore[override]
        if real_logits is None:
            raise ValueError("the RpGAN G loss needs D's logits on a real batch (real_logits)")
        _check_logits("fake_logits", fake_logits)
        return F.softplus(_paired(real_logits, fake_logits) - fake_logits.view(-1)).mean()


def _paired(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """The real logits, tiled (or cut) to the fake batch's size, for the pairwise losses."""
    r, n = real_logits.reshape(-1), fake_logits.numel()
    if r.numel() == n:
        return r
    return r.repeat(-(-n // r.numel()))[:n]


_LOSSES: Dict[str, Callable[..., GANLoss]] = {
    "rpgan": RpGANLoss,
    "hinge": HingeLoss,
    "bce": BCELoss,
    "wasserstein": WassersteinLoss,
    "least_squares": LeastSquaresLoss,
}
_ALIASES = {
    "ns": "bce",
    "non_saturating": "bce",
    "nonsaturating": "bce",
    "standard": "bce",
    "dcgan": "bce",
    "vanilla": "bce",
    "wgan": "wasserstein",
    "lsgan": "least_squares",
    "ls": "least_squares",
    "rp": "rpgan",
    "relativistic_pairing": "rpgan",
}


def list_losses() -> List[str]:
    """Canonical loss names accepted by :func:`get_loss`.

    Example::

        >>> list_losses()
        ['bce', 'hinge', 'least_squares', 'rpgan', 'wasserstein']
    """
    return sorted(_LOSSES)


def get_loss(name: Union[str, GANLoss], **kwargs: Any) -> GANLoss:
    """Returns the loss object for ``name``.

    Args:
        name: ``"hinge"``, ``"bce"`` (aliases ``"ns"``, ``"dcgan"``, ``"standard"``,
            ``"non_saturating"``), ``"wasserstein"`` (``"wgan"``) or ``"least_squares"``
            (``"lsgan"``, ``"ls"``); case-insensitive, ``-`` and ``_`` are equivalent. A
            :class:`GANLoss` instance is returned unchanged.
        **kwargs: options of the loss class (``real_target`` for ``"bce"``; ``a``, ``b``, ``c``
            for ``"least_squares"``).

    Returns:
        An object with ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)``.

    Raises:
        ValueError: unknown name (the message lists the known names).

    Example::

        >>> loss = get_loss("hinge")
        >>> loss.d_loss(torch.tensor([1.5]), torch.tensor([-0.5]))
        tensor(0.5000)
    """
    if isinstance(name, GANLoss):
        if kwargs:
            raise ValueError(f"options {sorted(kwargs)} cannot be applied to an existing loss object {name!r}")
        return name
    if not isinstance(name, str):
        raise TypeError(f"loss name must be a str, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {list_losses()} (or aliases {sorted(_ALIASES)})")
    try:
        return _LOSSES[key](**kwargs)
    except TypeError as err:
        raise ValueError(f"invalid options {sorted(kwargs)} for loss {key!r}: {err}") from None
