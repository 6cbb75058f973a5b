"""Loss terms for training on little data: LeCam, consistency regularization (bCR, zCR) and R2.

Each is a :class:`~specnorm_gan.regularizers.Regularizer` registered by name (so ``TrainConfig``'s
``lecam_weight``, ``bcr_weight``, ``zcr_weight``, ``zcr_g_weight``, ``r2_weight`` or
``regularizers={"lecam": {"weight": 0.3}}`` add it):

* ``"lecam"``: LeCam regularization (Tseng et al. 2021), ``E[relu(D(x) - a_F)^2] + E[relu(a_R - D(G(z)))^2]``
  with EMA anchors ``a_R``, ``a_F`` of D's mean outputs (kept on the device, in the checkpoint);
* ``"bcr"``: balanced consistency regularization (Zhao et al. 2021),
  ``E[(D(x) - D(T(x)))^2] + E[(D(G(z)) - D(T(G(z))))^2]`` with ``T`` a random flip + translation;
* ``"zcr"`` (D side) and ``"zcr_g"`` (G side): latent consistency regularization (Zhao et al. 2021):
  D: ``E[(D(G(z)) - D(G(z + sigma * eps)))^2]``; G: ``-E[||G(z) - G(z + sigma * eps)||^2]`` (G is pushed
  to make different latents give different images);
* ``"r2"``: the R2 gradient penalty on fakes (:func:`specnorm_gan.losses.r2_penalty`), R3GAN's partner of R1.

Example::

    >>> from specnorm_gan.regularizers import get_regularizer
    >>> get_regularizer("lecam", weight=0.3)
    LeCam(weight=0.3, decay=0.99)
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .augment import AdaptiveAugment, translation
from .losses.penalties import _call_d, r2_penalty
from .regularizers import LossContext, Regularizer, register_regularizer

__all__ = ["LeCam", "BalancedConsistency", "LatentConsistencyD", "LatentConsistencyG", "R2Penalty"]


def _need_real(ctx: LossContext, what: str) -> Tensor:
    if ctx.real is None or ctx.d_out_real is None:
        raise ValueError(f"{what} needs the real batch (a D-side term)")
    return ctx.real


@register_regularizer("lecam")
class LeCam(Regularizer):
    """LeCam regularization with EMA anchors of D's mean outputs on reals and fakes.

    Each call first moves the anchors: ``a <- decay * a + (1 - decay) * mean(D(.))`` (detached), then
    returns ``mean(relu(D(x_real) - a_F)^2) + mean(relu(a_R - D(x_fake))^2)``. The anchors start at
    0 and live on the device (no host sync); :meth:`state_dict` returns them for checkpoints.

    Args:
        weight: the term's weight (0.3 for DiffAugment + LeCam on CIFAR-10 in Tseng et al.).
        decay: EMA decay of the anchors (0.99).

    Example::

        >>> term = LeCam(weight=1.0, decay=0.0)  # decay 0: the anchors are this batch's means
        >>> ctx = LossContext(D=None, G=None, fake=None, d_out_fake=torch.tensor([0.0, 2.0]),
        ...                   real=torch.zeros(2), d_out_real=torch.tensor([3.0, 1.0]))
        >>> float(term(ctx))  # a_R = 2, a_F = 1: ((3-1)^2 + 0) / 2 + ((2-0)^2 + 0) / 2
        4.0
    """

    side = "d"

    def __init__(self, weight: float = 1.0, decay: float = 0.99) -> None:
        super().__init__(weight)
        if not (isinstance(decay, (int, float)) and 0.0 <= decay < 1.0):
            raise ValueError(f"LeCam decay must be in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.ema_real: Optional[Tensor] = None
        self.ema_fake: Optional[Tensor] = None

    def __call__(self, ctx: LossContext) -> Tensor:
        _need_real(ctx, "LeCam")
        assert ctx.d_out_real is not None
        real, fake = ctx.d_out_real.float(), ctx.d_out_fake.float()
        with torch.no_grad():
            zero = torch.zeros((), device=real.device)
            er = self.ema_real.to(real.device) if self.ema_real is not None else zero
            ef = self.ema_fake.to(real.device) if self.ema_fake is not None else zero
            self.ema_real = er * self.decay + real.mean() * (1 - self.decay)
            self.ema_fake = ef * self.decay + fake.mean() * (1 - self.decay)
        return F.relu(real - self.ema_fake).pow(2).mean() + F.relu(self.ema_real - fake).pow(2).mean()

    def state_dict(self) -> Dict[str, Any]:
        if self.ema_real is None or self.ema_fake is None:
            return {}
        return {"ema_real": self.ema_real.detach().cpu().clone(), "ema_fake": self.ema_fake.detach().cpu().clone()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.ema_real = state["ema_real"].clone() if state else None
        self.ema_fake = state["ema_fake"].clone() if state else None

    def __repr__(self) -> str:
        return f"LeCam(weight={self.weight!r}, decay={self.decay!r})"


@register_regularizer("bcr")
class BalancedConsistency(Regularizer):
    """bCR: D's outputs on real and fake images should not change under a flip + translation ``T``.

    ``mean((D(x_real) - D(T(x_real)))^2) + mean((D(x_fake) - D(T(x_fake)))^2)``; ``T`` flips each image
    with probability 1/2 and translates it by up to ``translation_ratio`` of its side, drawn from the
    step's generator; ``D(x)`` are the step's own outputs (the gradient flows through both sides).

    Args:
        weight: the term's weight (10 in Zhao et al. 2021, for both halves).
        translation_ratio: the largest shift as a fraction of the side (1/8: 4 pixels at 32 px).

    Example::

        >>> D = lambda x, y=None: x[:, 0, 3, 3]  # looks at one centre pixel
        >>> x = torch.ones(4, 1, 8, 8)  # flat images: T(x) has the same centre pixel
        >>> ctx = LossContext(D=D, G=None, fake=x, d_out_fake=D(x), real=x, d_out_real=D(x))
        >>> float(BalancedConsistency(weight=10.0)(ctx))
        0.0
    """

    side = "d"

    def __init__(self, weight: float = 1.0, translation_ratio: float = 0.125) -> None:
        super().__init__(weight)
        self.translation_ratio = float(translation_ratio)
        self._flip = AdaptiveAugment("flip", p=0.5, target=None)

    def transform(self, x: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        """``T``: random flip (p = 1/2) then integer translation."""
        return translation(self._flip(x, generator), generator, self.translation_ratio)

    def __call__(self, ctx: LossContext) -> Tensor:
        real = _need_real(ctx, "bCR")
        assert ctx.d_out_real is not None
        n = real.shape[0]
        both = self.transform(torch.cat([real.detach(), ctx.fake.detach()]), ctx.generator)
        y = torch.cat([ctx.y_real, ctx.y_fake]) if ctx.y_real is not None and ctx.y_fake is not None else None
        out = _call_d(ctx.D, both, y).float().view(-1)
        return (ctx.d_out_real.float() - out[:n]).pow(2).mean() + (ctx.d_out_fake.float() - out[n:]).pow(2).mean()

    def __repr__(self) -> str:
        return f"BalancedConsistency(weight={self.weight!r}, translation_ratio={self.translation_ratio!r})"


def _perturbed_fakes(ctx: LossContext, sigma: float) -> Tensor:
    if ctx.z is None:
        raise ValueError("zCR needs the step's latents (LossContext.z)")
    eps = torch.randn(ctx.z.shape, generator=ctx.generator, device=ctx.z.device, dtype=ctx.z.dtype)
    return ctx.G(ctx.z + sigma * eps, ctx.y_fake)


@register_regularizer("zcr")
class LatentConsistencyD(Regularizer):
    """zCR, D side: ``mean((D(G(z)) - D(G(z + sigma * eps)))^2)`` with ``eps ~ N(0, I)`` from the step's generator.

    Args:
        weight: ``lambda_dis`` (5 in Zhao et al. 2021).
        sigma: the latent perturbation's standard deviation (0.05).

    Example::

        >>> G = lambda z, y=None: z  # identity G, linear D: the term is mean((sigma * eps . w)^2)
        >>> D = lambda x, y=None: x.sum(1)
        >>> z = torch.zeros(3, 2)
        >>> ctx = LossContext(D=D, G=G, fake=G(z), d_out_fake=D(G(z)), real=z, d_out_real=D(z), z=z,
        ...                   generator=torch.Generator().manual_seed(0))
        >>> float(LatentConsistencyD(sigma=0.0)(ctx))
        0.0
    """

    side = "d"

    def __init__(self, weight: float = 1.0, sigma: float = 0.05) -> None:
        super().__init__(weight)
        self.sigma = float(sigma)

    def __call__(self, ctx: LossContext) -> Tensor:
        with torch.no_grad():
            fake2 = _perturbed_fakes(ctx, self.sigma)
        out = _call_d(ctx.D, fake2.to(ctx.fake.dtype), ctx.y_fake).float().view(-1)
        return (ctx.d_out_fake.float() - out).pow(2).mean()

    def __repr__(self) -> str:
        return f"LatentConsistencyD(weight={self.weight!r}, sigma={self.sigma!r})"


@register_regularizer("zcr_g")
class LatentConsistencyG(Regularizer):
    """zCR, G side: ``-mean_i ||G(z_i) - G(z_i + sigma * eps_i)||^2 / dim`` (G is rewarded for diverse outputs).

    Args:
        weight: ``lambda_gen`` (0.5 in Zhao et al. 2021).
        sigma: the latent perturbation's standard deviation (0.05).

    Example::

        >>> G = lambda z, y=None: 2 * z
        >>> z = torch.zeros(3, 2)
        >>> ctx = LossContext(D=None, G=G, fake=G(z), d_out_fake=torch.zeros(3), z=z,
        ...                   generator=torch.Generator().manual_seed(0))
        >>> float(LatentConsistencyG(sigma=0.0)(ctx))
        -0.0
    """

    side = "g"

    def __init__(self, weight: float = 1.0, sigma: float = 0.05) -> None:
        super().__init__(weight)
        self.sigma = float(sigma)

    def __call__(self, ctx: LossContext) -> Tensor:
        fake2 = _perturbed_fakes(ctx, self.sigma)
        return -(ctx.fake.float() - fake2.float()).pow(2).mean()

    def __repr__(self) -> str:
        return f"LatentConsistencyG(weight={self.weight!r}, sigma={self.sigma!r})"


@register_regularizer("r2")
class R2Penalty(Regularizer):
    """R2 penalty (:func:`specnorm_gan.losses.r2_penalty`) on the fake batch; ``weight`` is ``gamma / 2``.

    Example::

        >>> lin = torch.nn.Linear(2, 1, bias=False)
        >>> D = lambda x, y=None: lin(x).view(-1)
        >>> x = torch.randn(4, 2)
        >>> ctx = LossContext(D=D, G=None, fake=x, d_out_fake=D(x), real=x, d_out_real=D(x))
        >>> bool(torch.isclose(R2Penalty(weight=5.0)(ctx), lin.weight.pow(2).sum()))
        True
    """

    side = "d"

    def __call__(self, ctx: LossContext) -> Tensor:
        return r2_penalty(ctx.D, ctx.fake, ctx.y_fake)
