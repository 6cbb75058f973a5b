"""The update: the D loss and G loss of one step, and the optimizer steps that apply them.

This is the one place that says what a step computes (official SNGAN updater):

- **D step** (:func:`_d_loss`): fakes from G under ``no_grad``; one D forward on the concatenated
  ``real + fake`` batch (one sigma for both halves); the adversarial D loss on the float32 logits;
  then each D-side :class:`~specnorm_gan.regularizers.Regularizer` adds ``weight * term``
  (penalties run an extra forward of the plain D; gradients still reach DDP's hooks once).
  :func:`_d_update` backpropagates, steps the optimizer and clips D's weights (WGAN) if asked.
- **G step** (:func:`_g_loss`): fresh fakes through G, D in training mode (its power iteration
  advances) with its parameters frozen by :func:`_g_update`, the adversarial G loss, then the
  G-side terms.

Nothing here reads a device value on the host: losses and statistics stay tensors.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from ..data import to_float_images
from ..losses import GANLoss
from ..regularizers import LossContext, Regularizer, get_regularizer
from .config import _WEIGHT_TERMS, TrainConfig
from .precision import Precision, _skipped_step


def _loss_terms(config: TrainConfig) -> List[Regularizer]:
    """The regularizers of a (resolved) config: the ``*_weight`` fields (gp, r1, r2, lecam, bcr, zcr, zcr_g, ortho),
    then ``config.regularizers``."""
    terms: List[Regularizer] = []
    for name, weight_field in _WEIGHT_TERMS:
        if getattr(config, weight_field):
            terms.append(get_regularizer(name, weight=getattr(config, weight_field)))
    for name, kwargs in config.regularizers.items():
        terms.append(get_regularizer(name, **kwargs))
    return terms


def _add_terms(loss: Tensor, terms: Sequence[Regularizer], ctx: LossContext, precision: Precision) -> Tensor:
    for term in terms:
        with precision.autocast():
            value = term(ctx)
        loss = loss + term.weight * value.float()
    return loss


def _d_loss(
    G: nn.Module,
    D: nn.Module,
    D_train: nn.Module,
    x_real: Tensor,
    y_real: Optional[Tensor],
    z: Tensor,
    y_fake: Optional[Tensor],
    loss_fn: GANLoss,
    terms: Sequence[Regularizer],
    precision: Precision,
    generator: torch.Generator,
    augment: Optional[nn.Module] = None,
) -> Tuple[Tensor, Tensor]:
    """D loss of one step and ``[adversarial loss, mean D(real), mean D(fake)]`` (detached).

    ``D_train`` is the module that takes the main forward (the DDP wrapper in distributed runs),
    ``D`` the plain module that the loss terms see. ``augment`` (DiffAugment / ADA) transforms the
    concatenated real + fake batch before D (the terms see the augmented batches); an adaptive one
    is then told D's outputs on the reals (its controller stays on the device).
    """
    with precision.autocast():
        with torch.no_grad():
            fake = G(z, y_fake)
        if precision.channels_last:
            fake = fake.contiguous(memory_format=torch.channels_last)
        fake = fake.to(x_real.dtype)
        x = torch.cat([x_real, fake])
        y = torch.cat([y_real, y_fake]) if y_fake is not None and y_real is not None else None
        if augment is not None:
            x = augment(x, generator)
        logits = D_train(x, y)
    logits = logits.float().view(-1)
    n = x_real.shape[0]
    real_logits, fake_logits = logits[:n], logits[n:]
    if augment is not None:
        augment.update(real_logits)
    loss = loss_fn.d_loss(real_logits, fake_logits)
    stats = torch.stack([loss.detach(), real_logits.detach().mean(), fake_logits.detach().mean()])
    if terms:
        ctx = LossContext(D=D, G=G, fake=x[n:], d_out_fake=fake_logits, real=x[:n], d_out_real=real_logits,
                          y_real=y_real, y_fake=y_fake, generator=generator, z=z)
        loss = _add_terms(loss, terms, ctx, precision)
    return loss, stats


def _g_loss(
    G: nn.Module,
    G_train: nn.Module,
    D: nn.Module,
    z: Tensor,
    y: Optional[Tensor],
    loss_fn: GANLoss,
    terms: Sequence[Regularizer],
    precision: Precision,
    generator: torch.Generator,
    augment: Optional[nn.Module] = None,
    real: Optional[Tuple[Tensor, Optional[Tensor]]] = None,
) -> Tensor:
    """G loss of one step: ``G_train`` (DDP wrapper or G) makes the fakes, the plain ``D`` scores them.

    ``augment`` transforms the fakes before D (as in the D step). A loss with ``needs_real_logits``
    (RpGAN) gets D's outputs on ``real`` (the last D step's real batch), scored in the same D forward.
    """
    with precision.autocast():
        fake = G_train(z, y)
        x, yy = fake, y
        n = fake.shape[0]
        if loss_fn.needs_real_logits:
            if real is None:
                raise ValueError(f"the {loss_fn.name!r} G loss needs a real batch")
            x = torch.cat([fake, real[0].to(fake.dtype)])
            yy = torch.cat([y, real[1]]) if y is not None and real[1] is not None else None
        if augment is not None:
            x = augment(x, generator)
        logits = D(x, yy).float().view(-1)  # D in training mode (its power iteration advances), parameters frozen
    fake_logits = logits[:n]
    loss = loss_fn.g_loss(fake_logits, logits[n:]) if loss_fn.needs_real_logits else loss_fn.g_loss(fake_logits)
    if terms:
        ctx = LossContext(D=D, G=G, fake=fake, d_out_fake=fake_logits, y_fake=y, generator=generator, z=z)
        loss = _add_terms(loss, terms, ctx, precision)
    return loss


def _g_update(
    loss_fn: Callable[..., Any],
    D: nn.Module,
    optimizer: torch.optim.Optimizer,
    z: Tensor,
    y: Optional[Tensor],
    precision: Precision,
    scaler: Optional[torch.amp.GradScaler] = None,
    skipped: Optional[Tensor] = None,
) -> Tensor:
    """Computes the G loss with D frozen, backpropagates, steps; returns the detached loss.

    With a ``scaler`` (fp16) the loss is scaled for backward and a step with non-finite gradients
    is skipped (the optimizer sees the flag on the device) and counted in ``skipped``.
    """
    D.requires_grad_(False)
    try:
        precision.step_begin()
        loss = loss_fn(z, y)
        optimizer.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler is not None else loss).backward()
    finally:
        D.requires_grad_(True)
    _optimizer_step(optimizer, scaler, skipped)
    return precision.own(loss.detach())


def _optimizer_step(optimizer: torch.optim.Optimizer, scaler: Optional[torch.amp.GradScaler], skipped: Optional[Tensor]) -> None:
    if scaler is None:
        optimizer.step()
        return
    scaler.step(optimizer)
    assert skipped is not None
    _skipped_step(scaler, skipped)


def _d_update(
    loss_fn: Callable[..., Any],
    D: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Tuple[Tensor, Optional[Tensor], Tensor, Optional[Tensor]],
    weight_clip: float,
    precision: Precision,
    scaler: Optional[torch.amp.GradScaler] = None,
    skipped: Optional[Tensor] = None,
) -> Tensor:
    """Computes the D loss on ``(x_real, y_real, z, y_fake)``, backpropagates, steps, clips; returns the stats.

    ``scaler`` and ``skipped``: as in :func:`_g_update`.
    """
    precision.step_begin()
    loss, stats = loss_fn(*batch)
    optimizer.zero_grad(set_to_none=True)
    (scaler.scale(loss) if scaler is not None else loss).backward()
    _optimizer_step(optimizer, scaler, skipped)
    if weight_clip:
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-weight_clip, weight_clip)
    return precision.own(stats)


def _noise(n: int, z_dim: int, uniform: bool, generator: torch.Generator, device: torch.device) -> Tensor:
    """``z``: standard normal, or uniform on ``[-1, 1]`` for generators with ``z_dist="uniform"``."""
    if uniform:
        return torch.rand(n, z_dim, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, z_dim, generator=generator, device=device)


def _labels(n: int, num_classes: int, generator: torch.Generator, device: torch.device) -> Optional[Tensor]:
    """Uniformly drawn class labels (None for unconditional models)."""
    if not num_classes:
        return None
    return torch.randint(num_classes, (n,), generator=generator, device=device)



# ---------------------------------------------------------------------- the Trainer's steps
def _next_real(trainer: Any) -> Tuple[Tensor, Optional[Tensor]]:
    """The next real batch as float images (dequantized, in the trainer's memory format) and its labels."""
    x_u8, y_real = trainer.loader.next_batch()
    x_real = to_float_images(x_u8, trainer.config.dequantize, trainer.noise_gen, trainer.config.channels_last)
    return x_real, (y_real if trainer.num_classes else None)


def _trainer_g_step(trainer: Any) -> Tensor:
    """:meth:`Trainer.g_step`: fresh z and labels, then :func:`_g_update`."""
    z = _noise(trainer.g_batch_size, trainer.z_dim, trainer._uniform_z, trainer.noise_gen, trainer.device)
    y = _labels(trainer.g_batch_size, trainer.num_classes, trainer.noise_gen, trainer.device)
    skipped = trainer.skipped_steps[0] if trainer.skipped_steps is not None else None
    if trainer.loss_fn.needs_real_logits and trainer.last_real is None:  # first G step of a g_first run
        trainer.last_real = _next_real(trainer)
    return _g_update(trainer._g_step_fn, trainer.D, trainer.opt_g, z, y, trainer.precision, trainer.scaler_g, skipped)


def _trainer_d_step(trainer: Any, x_real: Optional[Tensor], y_real: Optional[Tensor]) -> Tensor:
    """:meth:`Trainer.d_step`: a real batch (the loader's next by default), fresh z and labels, then :func:`_d_update`."""
    if x_real is None:
        x_real, y_real = _next_real(trainer)
    if not trainer.num_classes:
        y_real = None
    if trainer.loss_fn.needs_real_logits:
        trainer.last_real = (x_real, y_real)
    z = _noise(trainer.batch_size, trainer.z_dim, trainer._uniform_z, trainer.noise_gen, trainer.device)
    y_fake = _labels(trainer.batch_size, trainer.num_classes, trainer.noise_gen, trainer.device)
    skipped = trainer.skipped_steps[1] if trainer.skipped_steps is not None else None
    return _d_update(trainer._d_step_fn, trainer.D, trainer.opt_d, (x_real, y_real, z, y_fake), trainer.config.weight_clip,
                     trainer.precision, trainer.scaler_d, skipped)
