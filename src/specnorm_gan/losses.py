"""GAN losses and gradient regularizers.

Every loss takes raw discriminator logits (any shape, usually ``(N,)``) and returns a 0-d tensor
averaged over all elements. :func:`get_loss` returns an object with ``d_loss(real_logits,
fake_logits)`` and ``g_loss(fake_logits)`` for a loss name; the plain functions are exported too.

======================  ==============================================================  =====================================
name (aliases)          discriminator loss                                              generator loss
======================  ==============================================================  =====================================
``"hinge"``             ``mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))``              ``-mean(D(G(z)))``
``"bce"`` (``"ns"``,    ``t mean(softplus(-D(x))) + (1 - t) mean(softplus(D(x)))``     ``t mean(softplus(-D(G(z))))``
``"dcgan"``,            ``+ mean(softplus(D(G(z))))`` (``t = real_target``, 1 unless    ``+ (1 - t) mean(softplus(D(G(z))))``
``"standard"``)         one-sided label smoothing is asked for)
``"wasserstein"``       ``mean(D(G(z))) - mean(D(x))``                                  ``-mean(D(G(z)))``
(``"wgan"``)
``"least_squares"``     ``0.5 mean((D(x) - b)^2) + 0.5 mean((D(G(z)) - a)^2)``          ``0.5 mean((D(G(z)) - c)^2)``
(``"lsgan"``, ``"ls"``)  (a = 0, b = 1, c = 1 by default, Mao et al. 2017)
======================  ==============================================================  =====================================

``"hinge"`` and ``"bce"`` are the two losses of the official SNGAN code (``updater.py``, loss types
``hinge`` and ``dcgan``); ``"bce"`` is the non-saturating loss the SNGAN paper calls "standard".

Regularizers: :func:`gradient_penalty` (WGAN-GP, Gulrajani et al. 2017) and :func:`r1_penalty`
(Mescheder et al. 2018). They return the unweighted penalty; multiply by the weight yourself.
"""

from __future__ import annotations

import math

from typing import Any, Callable, Dict, Iterable, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "GANLoss",
    "HingeLoss",
    "BCELoss",
    "WassersteinLoss",
    "LeastSquaresLoss",
    "RpGANLoss",
    "r2_penalty",
    "get_loss",
    "list_losses",
    "hinge_d_loss",
    "hinge_g_loss",
    "bce_d_loss",
    "bce_g_loss",
    "wasserstein_d_loss",
    "wasserstein_g_loss",
    "least_squares_d_loss",
    "least_squares_g_loss",
    "gradient_penalty",
    "r1_penalty",
    "orthogonal_regularization",
]


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
    """Wasserstein generator loss ``-mean(fake)``.

    Args:
        fake_logits: critic outputs of generated samples.

    Shape:
        - Input: any shape. Output: scalar.

    Example::

        >>> wasserstein_g_loss(torch.tensor([1.0, 2.0]))
        tensor(-1.5000)
    """
    _check_logits("fake_logits", fake_logits)
    return -fake_logits.mean()


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


# --------------------------------------------------------------------------------------------
# Regularizers
# --------------------------------------------------------------------------------------------
def _call_d(D: Callable[..., Tensor], x: Tensor, y: Optional[Tensor]) -> Tensor:
    out = D(x) if y is None else D(x, y)
    if not isinstance(out, Tensor):
        raise TypeError(f"D must return a tensor of logits, got {type(out).__name__}")
    return out


def _input_gradients(D: Callable[..., Tensor], x: Tensor, y: Optional[Tensor]) -> Tensor:
    # Input gradients need autograd even when the caller runs under no_grad (e.g. for logging);
    # the graph through them is kept only when the caller records gradients.
    keep_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        out = _call_d(D, x, y)
        (grad,) = torch.autograd.grad(out.sum(), x, create_graph=keep_graph)
    return grad.reshape(grad.shape[0], -1)


def gradient_penalty(
    D: Callable[..., Tensor],
    real: Tensor,
    fake: Tensor,
    y: Optional[Tensor] = None,
    *,
    center: float = 1.0,
    alpha: Optional[Tensor] = None,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""WGAN-GP gradient penalty ``mean_i (||grad_x D(x_i_hat)||_2 - center)^2``.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one ``alpha ~ U[0, 1]`` per sample
    (Gulrajani et al. 2017). The graph is kept (``create_graph=True``), so the penalty can be
    added to the discriminator loss and backpropagated; ``real`` and ``fake`` are detached. Multiply
    by the penalty weight (10 in the paper) yourself. The extra forward of ``D`` counts as a
    forward: in training mode, spectral-norm layers advance their power iteration. Under
    ``torch.no_grad()`` the value is computed all the same (input gradients need autograd).

    Args:
        D: the discriminator (``D(x)`` or ``D(x, y)`` returns logits).
        real: real samples.
        fake: generated samples, same shape as ``real``.
        y: class labels passed to ``D`` (conditional discriminators).
        center: the target gradient norm (1 for WGAN-GP, 0 for a zero-centered penalty).
        alpha: interpolation weights of shape ``(N,)`` (drawn uniformly when ``None``).
        generator: random generator for ``alpha``.

    Shape:
        - real, fake: :math:`(N, *)`. Output: scalar.

    Example::

        >>> D = torch.nn.Linear(2, 1)
        >>> gp = gradient_penalty(lambda x: D(x).squeeze(1), torch.randn(4, 2), torch.randn(4, 2))
        >>> gp.shape
        torch.Size([])
    """
    if not isinstance(real, Tensor) or not isinstance(fake, Tensor):
        raise TypeError("real and fake must be tensors")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if real.dim() < 1 or real.shape[0] == 0:
        raise ValueError(f"expected a non-empty batch of shape (N, ...), got {tuple(real.shape)}")
    n = real.shape[0]
    if alpha is None:
        alpha = torch.rand(n, device=real.device, dtype=real.dtype, generator=generator)
    elif alpha.shape != (n,):
        raise ValueError(f"alpha must have shape ({n},), got {tuple(alpha.shape)}")
    a = alpha.to(real.dtype).view((n,) + (1,) * (real.dim() - 1))
    x_hat = a * real.detach() + (1.0 - a) * fake.detach()
    grad = _input_gradients(D, x_hat, y)
    return (grad.norm(2, dim=1) - center).pow(2).mean()


def r1_penalty(D: Callable[..., Tensor], real: Tensor, y: Optional[Tensor] = None) -> Tensor:
    r"""R1 penalty ``mean_i ||grad_x D(x_i)||_2^2`` on real samples (Mescheder et al. 2018).

    Returns the unweighted squared gradient norm; the usual regularizer is ``gamma / 2`` times
    this value. ``real`` is detached; the graph is kept so the result can be backpropagated.

    Args:
        D: the discriminator (``D(x)`` or ``D(x, y)`` returns logits).
        real: real samples.
        y: class labels passed to ``D`` (conditional discriminators).

    Shape:
        - real: :math:`(N, *)`. Output: scalar.

    Example::

        >>> D = torch.nn.Linear(2, 1, bias=False)
        >>> r1 = r1_penalty(lambda x: D(x).squeeze(1), torch.randn(4, 2))
        >>> bool(torch.isclose(r1, D.weight.pow(2).sum()))
        True
    """
    if not isinstance(real, Tensor):
        raise TypeError(f"real must be a tensor, got {type(real).__name__}")
    if real.dim() < 1 or real.shape[0] == 0:
        raise ValueError(f"expected a non-empty batch of shape (N, ...), got {tuple(real.shape)}")
    grad = _input_gradients(D, real, y)
    return grad.pow(2).sum(dim=1).mean()


def r2_penalty(D: Callable[..., Tensor], fake: Tensor, y: Optional[Tensor] = None) -> Tensor:
    r"""R2 penalty ``mean_i ||grad_x D(x_i)||_2^2`` on generated samples (R3GAN's partner of R1).

    The same computation as :func:`r1_penalty` on the fake batch (detached); the usual term is
    ``gamma / 2`` times this value.

    Shape:
        - fake: :math:`(N, *)`. Output: scalar.

    Example::

        >>> D = torch.nn.Linear(3, 1, bias=False)
        >>> bool(torch.isclose(r2_penalty(lambda x: D(x).squeeze(1), torch.randn(5, 3)), D.weight.pow(2).sum()))
        True
    """
    return r1_penalty(D, fake, y)


def orthogonal_regularization(params: Iterable[Tensor]) -> Tensor:
    r"""BigGAN's orthogonal regularization, :math:`\sum_W \lVert W W^\top \odot (1 - I) \rVert_F^2` (Brock et al., 2019, eq. 3).

    Each weight with two or more dimensions is read as a matrix ``(out, -1)``; only the off-diagonal
    Gram entries are penalised (filter norms stay free). The gradient per weight is
    ``4 (W W^T \odot (1 - I)) W``; BigGAN-PyTorch's ``utils.ortho`` adds ``2 beta (W W^T \odot (1 - I)) W``
    to the gradient, i.e. half of this with the same ``beta``. Vectors (biases, gains) are skipped.

    Args:
        params: the weights (e.g. ``G.parameters()``, without the shared embedding as in BigGAN).

    Returns:
        Scalar tensor (float32 or the weights' dtype).

    Example::

        >>> w = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # W W^T off-diagonal entries: 1, 1
        >>> float(orthogonal_regularization([w]))
        2.0
    """
    total: Optional[Tensor] = None
    for p in params:
        if p.dim() < 2:
            continue
        w = p.flatten(1)
        gram = w @ w.t()
        off = gram - torch.diag_embed(torch.diagonal(gram))
        term = off.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_regularization: no weight with 2 or more dimensions among the parameters")
    return total
