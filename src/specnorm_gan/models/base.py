"""Base classes of the architectures: the recorded constructor arguments, the generators' input checks and
sampling, the discriminators' input checks."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Dict, Optional

import torch
from torch import Tensor, nn

from ..blocks.common import _check_labels
from .common import _model_device, _model_dtype


def _check_model_labels(
    y: Optional[Tensor], num_classes: int, batch_size: int, owner: str, role: str, allow_soft: bool = False
) -> None:
    """The labels of a G or D input: none for an unconditional model (``num_classes=0``), else valid labels
    (:func:`~specnorm_gan.blocks.common._check_labels`); ``role`` (``"generator"``, ``"discriminator"``) names the model
    in the errors."""
    if num_classes == 0:
        if y is not None:
            raise ValueError(f"{owner}: unconditional {role} (num_classes=0) got labels y; expected y=None")
        return
    if y is None:
        raise ValueError(
            f"{owner}: conditional {role} (num_classes={num_classes}) needs labels y of shape "
            f"({batch_size},) with values in [0, {num_classes})"
        )
    _check_labels(y, num_classes, batch_size, owner, allow_soft=allow_soft)


class _RecordsConfig(nn.Module):
    """Records the constructor arguments a model was built with in ``self.init_config``.

    Every architecture subclass's ``__init__`` is wrapped so that the arguments passed explicitly
    (defaults left out) are kept; :func:`specnorm_gan.save_pretrained` writes them to
    ``config.json`` to rebuild the exact architecture.
    """

    init_config: Dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        original = cls.__dict__["__init__"]
        signature = inspect.signature(original)

        @functools.wraps(original)
        def __init__(self: nn.Module, *args: Any, **kw: Any) -> None:
            original(self, *args, **kw)
            if type(self) is cls:  # the outermost constructor records
                bound = signature.bind(self, *args, **kw).arguments
                bound.pop("self", None)
                self.__dict__["init_config"] = dict(bound)

        cls.__init__ = __init__  # type: ignore[method-assign]


class _GeneratorMixin(_RecordsConfig):
    """Input checks and sampling shared by the generators."""

    z_dim: int
    num_classes: int
    resolution: int
    out_channels: int
    z_dist: str

    def _check_inputs(self, z: Tensor, y: Optional[Tensor]) -> None:
        name = type(self).__name__
        if not isinstance(z, Tensor):
            raise TypeError(f"{name}: z must be a tensor of shape (N, {self.z_dim}), got {type(z).__name__}")
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"{name}: z must have shape (N, {self.z_dim}) (z_dim={self.z_dim}), got {tuple(z.shape)}")
        _check_model_labels(y, self.num_classes, z.shape[0], name, "generator", allow_soft=True)

    def sample_z(self, n: int, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None) -> Tensor:
        """Draws ``n`` latent vectors (``N(0, I)``, or ``U(-1, 1)`` when ``z_dist="uniform"``) on G's device.

        Args:
            n: number of vectors.
            generator: optional random generator (on G's device).
            truncation: draw from the normal truncated at ``|z| <= truncation`` (BigGAN's truncation
                trick, :func:`specnorm_gan.truncation.truncated_normal`; normal latents only).

        Returns:
            Tensor of shape ``(n, z_dim)``.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        device, dtype = _model_device(self), _model_dtype(self)
        if truncation is not None:
            if self.z_dist != "normal":
                raise ValueError(f"truncation applies to normal latents; this generator draws z_dist={self.z_dist!r}")
            from ..truncation import truncated_normal

            return truncated_normal((n, self.z_dim), truncation, generator, device, dtype)
        if self.z_dist == "uniform":
            return torch.rand(n, self.z_dim, device=device, dtype=dtype, generator=generator).mul_(2).sub_(1)
        return torch.randn(n, self.z_dim, device=device, dtype=dtype, generator=generator)

    def sample(
        self, n: int, y: Optional[Tensor] = None, generator: Optional[torch.Generator] = None, truncation: Optional[float] = None
    ) -> Tensor:
        """Generates ``n`` images with fresh latent vectors, in the current mode (train/eval).

        Runs under the caller's grad mode (wrap in ``torch.no_grad()`` for evaluation). A
        conditional generator without ``y`` uses class-balanced labels ``arange(n) % num_classes``.

        Args:
            n: number of images.
            y: class labels ``(n,)`` (conditional generators only).
            generator: optional random generator for ``z`` (on G's device).
            truncation: truncation threshold of ``z`` (see :meth:`sample_z`).

        Returns:
            Images of shape ``(n, out_channels, resolution, resolution)`` in ``[-1, 1]``.
        """
        z = self.sample_z(n, generator, truncation)
        if self.num_classes > 0 and y is None:
            y = torch.arange(n, device=z.device) % self.num_classes
        return self(z, y)


class _DiscriminatorMixin(_RecordsConfig):
    """Input checks shared by the discriminators."""

    num_classes: int
    resolution: int
    in_channels: int

    def _check_inputs(self, x: Tensor, y: Optional[Tensor]) -> None:
        name = type(self).__name__
        r, c = self.resolution, self.in_channels
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: x must be a tensor of shape (N, {c}, {r}, {r}), got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != c or x.shape[2] != r or x.shape[3] != r:
            raise ValueError(
                f"{name}: expected images of shape (N, {c}, {r}, {r}) (resolution={r}, in_channels={c}), "
                f"got {tuple(x.shape)}"
            )
        _check_model_labels(y, self.num_classes, x.shape[0], name, "discriminator")
