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

Layout: :mod:`~specnorm_gan.losses.functional` (the plain functions), :mod:`~specnorm_gan.losses.objects`
(the loss objects and :func:`get_loss`), :mod:`~specnorm_gan.losses.penalties` (the gradient penalties and
the orthogonal regularization). Import everything from ``specnorm_gan.losses``.
"""

from __future__ import annotations

from .._moved import moved_names_getattr
from .functional import (bce_d_loss, bce_g_loss, hinge_d_loss, hinge_g_loss, least_squares_d_loss, least_squares_g_loss,
                         wasserstein_d_loss, wasserstein_g_loss)
from .objects import BCELoss, GANLoss, HingeLoss, LeastSquaresLoss, RpGANLoss, WassersteinLoss, get_loss, list_losses
from .penalties import gradient_penalty, orthogonal_regularization, r1_penalty, r2_penalty

#: The private names of the former single-file ``losses.py``, still readable as ``specnorm_gan.losses.<name>``.
__getattr__ = moved_names_getattr(
    __name__,
    {"functional": ("_check_logits", "_check_target"), "objects": ("_ALIASES", "_LOSSES", "_paired"),
     "penalties": ("_call_d", "_input_gradients")},
)

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
