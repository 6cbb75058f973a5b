"""Gradient penalties (WGAN-GP, R1, R2) and BigGAN's orthogonal regularization, unweighted."""

from __future__ import annotations

from typing import Callable, Iterable, Optional

import torch
from torch import Tensor


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
