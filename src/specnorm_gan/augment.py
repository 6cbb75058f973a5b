"""Differentiable augmentation for training on little data: DiffAugment and an ADA-style adaptive pipeline.

Both apply random transforms to D's inputs (real and fake batches alike, inside D's step and G's step)
so that D cannot memorise a small training set (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"; Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data"). Every transform is a batched torch op whose parameters are drawn per sample from the
``torch.Generator`` passed in, so

* gradients reach the input (G learns through the augmentation),
* the same generator state gives the same transform, whatever batch it is applied to,
* nothing is read on the host (no synchronisation in a training step),
* with probability ``p = 0`` the adaptive pipeline returns its input bit for bit.

Images are ``(N, C, H, W)`` floats in ``[-1, 1]`` (the library's convention).

Example::

    >>> import torch
    >>> aug = DiffAugment("color,translation,cutout")
    >>> x = torch.rand(4, 3, 8, 8) * 2 - 1
    >>> aug(x, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3, 8, 8])
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

__all__ = ["DiffAugment", "AdaptiveAugment", "DIFFAUGMENT_POLICIES", "ADA_TRANSFORMS", "parse_policy"]


def _rand(n: int, x: Tensor, g: Optional[torch.Generator]) -> Tensor:
    return torch.rand(n, device=x.device, generator=g, dtype=torch.float32)


def _bcast(v: Tensor, x: Tensor) -> Tensor:
    return v.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))


# ----------------------------------------------------------------------------------------------------
# Elementary transforms (each: x, generator -> x'; per-sample random parameters)
# ----------------------------------------------------------------------------------------------------
def brightness(x: Tensor, g: Optional[torch.Generator]) -> Tensor:
    """Adds ``U(-0.5, 0.5)`` per sample (DiffAugment's ``rand_brightness``)."""
    return x + _bcast(_rand(x.shape[0], x, g) - 0.5, x)


def saturation(x: Tensor, g: Optional[torch.Generator]) -> Tensor:
    """Scales the deviation from the channel mean by ``U(0, 2)`` per sample."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * _bcast(_rand(x.shape[0], x, g) * 2, x) + mean


def contrast(x: Tensor, g: Optional[torch.Generator]) -> Tensor:
    """Scales the deviation from the image mean by ``U(0.5, 1.5)`` per sample."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _bcast(_rand(x.shape[0], x, g) + 0.5, x) + mean


def _shift(x: Tensor, dy: Tensor, dx: Tensor) -> Tensor:
    """Moves sample ``i`` by ``(dy[i], dx[i])`` integer pixels, filling with zeros (one gather)."""
    n, _, h, w = x.shape
    iy = torch.arange(h, device=x.device).view(1, h) - dy.view(n, 1)
    ix = torch.arange(w, device=x.device).view(1, w) - dx.view(n, 1)
    valid = ((iy >= 0) & (iy < h)).view(n, 1, h, 1) & ((ix >= 0) & (ix < w)).view(n, 1, 1, w)
    iy, ix = iy.clamp(0, h - 1), ix.clamp(0, w - 1)
    idx = torch.arange(n, device=x.device).view(n, 1, 1)
    out = x.permute(0, 2, 3, 1)[idx, iy.view(n, h, 1), ix.view(n, 1, w)].permute(0, 3, 1, 2)
    return out * valid.to(x.dtype)


def translation(x: Tensor, g: Optional[torch.Generator], ratio: float = 0.125) -> Tensor:
    """Integer translation by up to ``ratio`` of the side per axis, zero fill (DiffAugment's ``rand_translation``)."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.floor(_rand(n, x, g) * (2 * sy + 1)).long() - sy
    dx = torch.floor(_rand(n, x, g) * (2 * sx + 1)).long() - sx
    return _shift(x, dy, dx)


def cutout(x: Tensor, g: Optional[torch.Generator], ratio: float = 0.5) -> Tensor:
    """Zeroes a square of ``ratio`` times the side at a random centre per sample (DiffAugment's ``rand_cutout``)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.floor(_rand(n, x, g) * (h + (1 - ch % 2))).long()
    cx = torch.floor(_rand(n, x, g) * (w + (1 - cw % 2))).long()
    ys = torch.arange(h, device=x.device).view(1, h) - (cy.view(n, 1) - ch // 2)
    xs = torch.arange(w, device=x.device).view(1, w) - (cx.view(n, 1) - cw // 2)
    inside = ((ys >= 0) & (ys < ch)).view(n, 1, h, 1) & ((xs >= 0) & (xs < cw)).view(n, 1, 1, w)
    return x * (~inside).to(x.dtype)


def hflip(x: Tensor, g: Optional[torch.Generator]) -> Tensor:
    """Horizontal flip of every sample (the adaptive pipeline chooses which samples get it)."""
    return x.flip(3)


def rot90(x: Tensor, g: Optional[torch.Generator]) -> Tensor:
    """Rotation by ``k * 90`` degrees, ``k`` uniform in {1, 2, 3} per sample (square images)."""
    if x.shape[2] != x.shape[3]:
        raise ValueError(f"rot90 needs square images, got {tuple(x.shape[2:])}")
    k = torch.floor(_rand(x.shape[0], x, g) * 3).long() + 1
    out = x
    for j in (1, 2, 3):
        out = torch.where(_bcast(k == j, x).bool(), torch.rot90(x, j, dims=(2, 3)), out)
    return out


_Transform = Callable[[Tensor, Optional[torch.Generator]], Tensor]

#: DiffAugment's policies (Zhao et al. 2020): name -> the transforms it applies, in order.
DIFFAUGMENT_POLICIES: Dict[str, Tuple[_Transform, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}

#: The adaptive pipeline's transforms (ADA's pixel blitting + colour + cutout), in the order applied.
ADA_TRANSFORMS: Dict[str, _Transform] = {
    "flip": hflip,
    "rot90": rot90,
    "translation": translation,
    "brightness": brightness,
    "contrast": contrast,
    "saturation": saturation,
    "cutout": cutout,
}


def parse_policy(policy: Union[str, Sequence[str]], known: Sequence[str], what: str = "policy") -> List[str]:
    """Splits ``"a,b"`` (or a list) into names and checks each is in ``known``.

    Raises:
        ValueError: an empty or unknown name (the message lists the known ones).

    Example::

        >>> parse_policy("color, cutout", DIFFAUGMENT_POLICIES)
        ['color', 'cutout']
    """
    names = [p.strip() for p in policy.split(",")] if isinstance(policy, str) else [str(p).strip() for p in policy]
    names = [n for n in names if n]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ValueError(f"unknown {what} {bad or policy!r}; expected a comma-separated list of {sorted(known)}")
    return names


class DiffAugment(nn.Module):
    """DiffAugment (Zhao et al. 2020): the policy's transforms applied to every sample, in order.

    Args:
        policy: comma-separated names from :data:`DIFFAUGMENT_POLICIES` (``"color,translation,cutout"``,
            the paper's choice for CIFAR-10 and 100-shot data).

    Shape:
        - Input: :math:`(N, C, H, W)`. Output: the same.

    Example::

        >>> aug = DiffAugment("translation")
        >>> x = torch.randn(2, 3, 8, 8)
        >>> torch.equal(aug(x, torch.Generator().manual_seed(1)), aug(x, torch.Generator().manual_seed(1)))
        True
    """

    def __init__(self, policy: Union[str, Sequence[str]] = "color,translation,cutout") -> None:
        super().__init__()
        self.policy = parse_policy(policy, DIFFAUGMENT_POLICIES, "DiffAugment policy")

    def forward(self, x: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        for name in self.policy:
            for t in DIFFAUGMENT_POLICIES[name]:
                x = t(x, generator)
        return x

    def extra_repr(self) -> str:
        return ",".join(self.policy)

    # The training loop calls these on any augmentation; DiffAugment has no state or controller.
    def update(self, real_logits: Tensor) -> None:
        """No controller (kept so the loop treats both augmentations alike)."""

    def state_dict_aug(self) -> Dict[str, Any]:
        return {}

    def load_state_dict_aug(self, state: Dict[str, Any]) -> None:
        pass


class AdaptiveAugment(nn.Module):
    """ADA-style adaptive augmentation: each transform applied to each sample with probability ``p``.

    The controller (Karras et al. 2020) tunes ``p`` from the sign of D's outputs on reals: every
    ``interval`` D steps, ``r_t = E[sign(D(x_real))]`` over those steps, and
    ``p += sign(r_t - target) * (images seen in those steps) / speed_images``, clamped to ``[0, 1]``;
    so ``p`` can go from 0 to 1 in ``speed_images`` real images (500k in the paper). ``p`` and the
    running sums stay on the device (no host sync); :meth:`state_dict` holds them for checkpoints.

    Args:
        transforms: comma-separated names from :data:`ADA_TRANSFORMS` (default: all of them).
        p: initial probability in ``[0, 1]``.
        target: the ``r_t`` target in ``[0, 1]`` (0.6 in the paper); None keeps ``p`` fixed.
        speed_images: real images for ``p`` to go from 0 to 1 (> 0).
        interval: D steps between controller updates (>= 1).

    Shape:
        - Input: :math:`(N, C, H, W)` (square for ``rot90``). Output: the same.

    Example::

        >>> aug = AdaptiveAugment(p=0.0, target=0.6, speed_images=64, interval=1)
        >>> x = torch.randn(4, 3, 8, 8)
        >>> torch.equal(aug(x, torch.Generator()), x)  # p = 0: the identity
        True
        >>> aug.update(torch.ones(16))  # D is sure of all reals: r_t = 1 > 0.6, p rises by 16 / 64
        >>> float(aug.p)
        0.25
    """

    def __init__(
        self,
        transforms: Union[str, Sequence[str]] = tuple(ADA_TRANSFORMS),
        p: float = 0.0,
        target: Optional[float] = 0.6,
        speed_images: float = 500_000,
        interval: int = 4,
    ) -> None:
        super().__init__()
        self.transforms = parse_policy(transforms, ADA_TRANSFORMS, "ADA transform")
        _check_unit("p", p)
        if target is not None:
            _check_unit("target", target)
        if not (isinstance(speed_images, (int, float)) and math.isfinite(speed_images) and speed_images > 0):
            raise ValueError(f"speed_images must be a finite number > 0, got {speed_images!r}")
        if not (isinstance(interval, int) and not isinstance(interval, bool) and interval >= 1):
            raise ValueError(f"interval must be an int >= 1, got {interval!r}")
        self.target = None if target is None else float(target)
        self.speed_images = float(speed_images)
        self.interval = interval
        self.register_buffer("p", torch.tensor(float(p)))
        self.register_buffer("sign_sum", torch.zeros(()))
        self.register_buffer("count", torch.zeros(()))
        self._steps = 0  # host counter of D steps since the last update (no device read)

    def forward(self, x: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        p = self.p.to(x.device)
        n = x.shape[0]
        for name in self.transforms:
            apply = _rand(n, x, generator) < p
            x = torch.where(apply.view(n, 1, 1, 1), ADA_TRANSFORMS[name](x, generator), x)
        return x

    @torch.no_grad()
    def update(self, real_logits: Tensor) -> None:
        """Accumulates ``sign(D(x_real))`` of one D step; every ``interval`` steps adjusts ``p`` (on the device)."""
        if self.target is None:
            return
        r = real_logits.detach().float().view(-1)
        self.sign_sum = self.sign_sum.to(r.device) + torch.sign(r).sum()
        self.count = self.count.to(r.device) + r.numel()
        self._steps += 1
        if self._steps < self.interval:
            return
        rt = self.sign_sum / self.count.clamp_min(1)
        step = torch.sign(rt - self.target) * self.count / self.speed_images
        self.p = (self.p.to(r.device) + step).clamp(0.0, 1.0)
        self.sign_sum = torch.zeros_like(self.sign_sum)
        self.count = torch.zeros_like(self.count)
        self._steps = 0

    def state_dict_aug(self) -> Dict[str, Any]:
        """``p``, the running sums and the step counter (plain tensors/ints, for checkpoints)."""
        return {"p": self.p.detach().cpu().clone(), "sign_sum": self.sign_sum.detach().cpu().clone(),
                "count": self.count.detach().cpu().clone(), "steps": int(self._steps)}

    def load_state_dict_aug(self, state: Dict[str, Any]) -> None:
        dev = self.p.device
        self.p = state["p"].to(dev).clone()
        self.sign_sum = state["sign_sum"].to(dev).clone()
        self.count = state["count"].to(dev).clone()
        self._steps = int(state["steps"])

    def extra_repr(self) -> str:
        return f"{','.join(self.transforms)}, target={self.target}, speed_images={self.speed_images:g}, interval={self.interval}"


def _check_unit(name: str, v: Any) -> None:
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= float(v) <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
