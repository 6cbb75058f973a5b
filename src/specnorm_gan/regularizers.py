"""Loss terms added to the adversarial loss, as small composable objects (gradient penalties and the like).

A training step builds one :class:`LossContext` per loss (the D loss of a D step, the G loss of a G
step) and adds ``weight * term(ctx)`` of each :class:`Regularizer` of that side to it. A term only
sees what the context carries: the models, the real and fake batches with their labels and D's
outputs on them, and the step's random generator. A term with state across steps (an EMA of D's
outputs for LeCam, say) keeps it in the object and returns it from :meth:`Regularizer.state_dict`,
so checkpoints carry it and ``--resume`` restores it.

:class:`specnorm_gan.training.TrainConfig` builds the terms: ``gp_weight`` and ``r1_weight`` are the
``"gp"`` and ``"r1"`` terms below, and ``regularizers={"name": {argument: value}}`` adds any
registered one. A new term is one class and one registration line; nothing in the loop changes.

Writing a new one (a D-side penalty on the squared real logits, weight 0.01)::

    >>> import torch
    >>> from specnorm_gan.regularizers import LossContext, Regularizer, get_regularizer, register_regularizer
    >>> @register_regularizer("example_logit_l2")
    ... class LogitL2(Regularizer):
    ...     '''mean D(x_real)^2 (keeps D's outputs near 0).'''
    ...     side = "d"
    ...
    ...     def __call__(self, ctx: LossContext) -> torch.Tensor:
    ...         return ctx.d_out_real.pow(2).mean()
    >>> term = get_regularizer("example_logit_l2", weight=0.01)
    >>> ctx = LossContext(D=torch.nn.Identity(), G=torch.nn.Identity(), fake=torch.zeros(2),
    ...                   d_out_fake=torch.zeros(2), real=torch.zeros(2), d_out_real=torch.tensor([1.0, 3.0]))
    >>> round(float(term.weight * term(ctx)), 6)
    0.05

and then ``TrainConfig(..., regularizers={"example_logit_l2": {"weight": 0.01}})``. G-side terms set
``side = "g"``: in the G step the context holds G's fakes and D's outputs on them (``real``,
``d_out_real`` and ``y_real`` are None); a term on G's parameters (orthogonal regularization) reads
``ctx.G``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, List, Optional, Type, TypeVar

import torch
from torch import Tensor, nn

from .losses import gradient_penalty, orthogonal_regularization, r1_penalty

__all__ = [
    "LossContext",
    "Regularizer",
    "GradientPenalty",
    "R1Penalty",
    "R2Penalty",
    "LeCam",
    "BalancedConsistency",
    "LatentConsistencyD",
    "LatentConsistencyG",
    "OrthogonalRegularization",
    "register_regularizer",
    "get_regularizer",
    "list_regularizers",
]


@dataclass
class LossContext:
    """What a loss term may use: the step's models, batches and D outputs.

    Args:
        D: the discriminator (the plain module, not a DistributedDataParallel wrapper; a forward
            through it in training mode advances its power iteration, as any D forward does).
        G: the generator (plain module).
        fake: the step's generated images (D step: made under ``no_grad``).
        d_out_fake: D's logits on ``fake``, float32, shape ``(N,)``.
        real: the D step's real images (None in the G step).
        d_out_real: D's logits on ``real``, float32, shape ``(N,)`` (None in the G step).
        y_real: labels of ``real`` (None for unconditional models and in the G step).
        y_fake: labels of ``fake`` (None for unconditional models).
        generator: the step's random generator (draw any noise from it, so seeded runs repeat).
        z: the latents ``fake`` was generated from (for latent consistency terms such as zCR).

    Example::

        >>> ctx = LossContext(D=nn.Identity(), G=nn.Identity(), fake=torch.zeros(3), d_out_fake=torch.zeros(3))
        >>> ctx.real is None and ctx.d_out_real is None  # a G-step context
        True
    """

    D: nn.Module
    G: nn.Module
    fake: Tensor
    d_out_fake: Tensor
    real: Optional[Tensor] = None
    d_out_real: Optional[Tensor] = None
    y_real: Optional[Tensor] = None
    y_fake: Optional[Tensor] = None
    generator: Optional[torch.Generator] = None
    z: Optional[Tensor] = None


class Regularizer:
    """A loss term: ``weight * self(ctx)`` is added to the D loss (``side = "d"``) or the G loss (``"g"``).

    Subclasses implement :meth:`__call__` (the unweighted term, a scalar tensor, without reading device
    values on the host: the steps must not synchronise) and, when they keep state across steps,
    :meth:`state_dict` / :meth:`load_state_dict` (plain tensors and containers, for
    ``torch.load(weights_only=True)``). The step runs the term under the run's autocast and adds it
    in float32.

    Args:
        weight: the factor of the term (a finite float >= 0).

    Example::

        >>> class FakeMean(Regularizer):  # a D-side term: the mean D output on fakes
        ...     def __call__(self, ctx: LossContext) -> Tensor:
        ...         return ctx.d_out_fake.mean()
        >>> term = FakeMean(weight=0.5)
        >>> ctx = LossContext(D=nn.Identity(), G=nn.Identity(), fake=torch.zeros(2), d_out_fake=torch.tensor([1.0, 2.0]))
        >>> float(term.weight * term(ctx)), term.state_dict()
        (0.75, {})
    """

    #: Which loss the term joins: ``"d"`` or ``"g"``.
    side: ClassVar[str] = "d"
    #: The registered name (set by :func:`register_regularizer`).
    name: ClassVar[str] = ""

    def __init__(self, weight: float = 1.0) -> None:
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"{type(self).__name__} weight must be a finite float >= 0, got {weight!r}")
        self.weight = float(weight)

    def __call__(self, ctx: LossContext) -> Tensor:
        """The unweighted term for this step (scalar)."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(ctx) -> Tensor")

    def state_dict(self) -> Dict[str, Any]:
        """State kept across steps (saved in checkpoints); stateless terms return ``{}``."""
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores :meth:`state_dict`'s output."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state, got {sorted(state)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight!r})"


_REGISTRY: Dict[str, Type[Regularizer]] = {}
_R = TypeVar("_R", bound=Type[Regularizer])


def register_regularizer(name: str) -> Callable[[_R], _R]:
    """Class decorator: makes a :class:`Regularizer` subclass available under ``name``.

    Raises:
        ValueError: the name is taken, or the class is not a ``Regularizer`` with side ``"d"`` or ``"g"``.

    Example::

        >>> "gp" in list_regularizers()
        True
    """

    def add(cls: _R) -> _R:
        if not (isinstance(cls, type) and issubclass(cls, Regularizer)):
            raise ValueError(f"register_regularizer({name!r}) needs a Regularizer subclass, got {cls!r}")
        if cls.side not in ("d", "g"):
            raise ValueError(f"{cls.__name__}.side must be 'd' or 'g', got {cls.side!r}")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a regularizer named {name!r} is already registered ({_REGISTRY[name].__name__})")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return add


def list_regularizers() -> List[str]:
    """Names of the registered regularizers.

    Example::

        >>> [n for n in list_regularizers() if n in ("gp", "r1")]
        ['gp', 'r1']
    """
    return sorted(_REGISTRY)


def get_regularizer(name: str, **kwargs: Any) -> Regularizer:
    """Builds the regularizer registered as ``name`` with ``kwargs`` (e.g. ``weight``).

    Raises:
        ValueError: unknown name. TypeError: arguments the class does not take.

    Example::

        >>> get_regularizer("r1", weight=5.0)
        R1Penalty(weight=5.0)
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown regularizer {name!r}; registered: {list_regularizers()}")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as e:
        raise TypeError(f"regularizer {name!r}: {e}") from e


@register_regularizer("gp")
class GradientPenalty(Regularizer):
    """WGAN-GP gradient penalty (:func:`specnorm_gan.losses.gradient_penalty`) on real/fake interpolates.

    Args:
        weight: the penalty weight (10 in Gulrajani et al. 2017).
        center: target gradient norm (1; 0 for a zero-centred penalty).

    Example::

        >>> lin = nn.Linear(2, 1, bias=False)
        >>> D = lambda x, y=None: lin(x).view(-1)
        >>> x = torch.randn(4, 2)
        >>> ctx = LossContext(D=D, G=nn.Identity(), fake=x.flip(0), d_out_fake=D(x.flip(0)), real=x, d_out_real=D(x))
        >>> gp = GradientPenalty(weight=10.0)(ctx)  # a linear D: (||w|| - 1)^2 whatever the interpolates
        >>> bool(torch.isclose(gp, (lin.weight.norm() - 1).pow(2)))
        True
    """

    side = "d"

    def __init__(self, weight: float = 1.0, center: float = 1.0) -> None:
        super().__init__(weight)
        self.center = float(center)

    def __call__(self, ctx: LossContext) -> Tensor:
        if ctx.real is None:
            raise ValueError("the gradient penalty needs the real batch (a D-side term)")
        return gradient_penalty(ctx.D, ctx.real, ctx.fake, ctx.y_real, center=self.center, generator=ctx.generator)

    def __repr__(self) -> str:
        return f"GradientPenalty(weight={self.weight!r}, center={self.center!r})"


@register_regularizer("r1")
class R1Penalty(Regularizer):
    """R1 penalty (:func:`specnorm_gan.losses.r1_penalty`) on the real batch; ``weight`` is ``gamma / 2``.

    Example::

        >>> lin = nn.Linear(2, 1, bias=False)
        >>> D = lambda x, y=None: lin(x).view(-1)
        >>> x = torch.randn(4, 2)
        >>> ctx = LossContext(D=D, G=nn.Identity(), fake=x, d_out_fake=D(x), real=x, d_out_real=D(x))
        >>> bool(torch.isclose(R1Penalty(weight=5.0)(ctx), lin.weight.pow(2).sum()))
        True
    """

    side = "d"

    def __call__(self, ctx: LossContext) -> Tensor:
        if ctx.real is None:
            raise ValueError("the R1 penalty needs the real batch (a D-side term)")
        return r1_penalty(ctx.D, ctx.real, ctx.y_real)


@register_regularizer("ortho")
class OrthogonalRegularization(Regularizer):
    """BigGAN's orthogonal regularization of G (:func:`specnorm_gan.losses.orthogonal_regularization`), a G-side term.

    Applies to every G weight with two or more dimensions except the shared class embedding
    (``G.shared``, skipped as in BigGAN-PyTorch). Weight 1e-4 in the BigGAN paper.

    Example::

        >>> G = nn.Linear(3, 2, bias=False)
        >>> ctx = LossContext(D=nn.Identity(), G=G, fake=torch.zeros(1), d_out_fake=torch.zeros(1))
        >>> w = G.weight
        >>> bool(torch.isclose(OrthogonalRegularization(1e-4)(ctx), 2 * (w[0] @ w[1]) ** 2))
        True
    """

    side = "g"

    def __call__(self, ctx: LossContext) -> Tensor:
        shared = getattr(ctx.G, "shared", None)
        skip = {id(p) for p in shared.parameters()} if isinstance(shared, nn.Module) else set()
        return orthogonal_regularization(p for p in ctx.G.parameters() if id(p) not in skip)


# Data-efficient terms (LeCam, bCR, zCR, R2): defined in data_efficient.py, registered on import
# as "lecam", "bcr", "zcr", "zcr_g" and "r2".
from .data_efficient import BalancedConsistency, LatentConsistencyD, LatentConsistencyG, LeCam, R2Penalty  # noqa: E402
