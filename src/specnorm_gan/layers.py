"""Spectral-normalized layers and the power iteration behind them.

Everything spectral-norm lives here: the power iteration (:func:`_power_iteration`), the
layers (:class:`SNLinear`, :class:`SNConv2d`, ...), the functional helpers
(:func:`spectral_norm`, :func:`remove_spectral_norm`, ...), the fused path that runs the power
iteration of every SN layer of a network in a handful of batched operations
(:func:`fuse_spectral_norm`) and the EMA helper that copies, rather than averages, the
power-iteration vectors (:func:`ema_update_`).

Semantics follow Miyato et al., "Spectral Normalization for Generative Adversarial Networks"
(ICLR 2018), Algorithm 1, and :func:`torch.nn.utils.parametrizations.spectral_norm`: the weight
is viewed as a matrix with ``dim`` as rows; in training mode each forward first runs
``n_power_iterations`` updates of ``u`` and ``v`` without autograd and then computes
``sigma = u^T W v`` with autograd, so the gradient flows through ``sigma``; the forward uses
``W / sigma``. In eval mode no buffer is written.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Type, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "SNLinear",
    "SNConv1d",
    "SNConv2d",
    "SNConv3d",
    "SNConvTranspose1d",
    "SNConvTranspose2d",
    "SNConvTranspose3d",
    "SNEmbedding",
    "spectral_norm",
    "remove_spectral_norm",
    "spectral_norm_all",
    "spectral_norms",
    "reset_spectral_norm",
    "fuse_spectral_norm",
    "is_spectral_norm",
    "ema_update_",
    "load_torch_spectral_norm_state_dict",
]

M = TypeVar("M", bound=nn.Module)

#: Power iterations run at construction (and by :func:`reset_spectral_norm`), as torch's
#: parametrization does, so that a layer used in eval mode before any training forward already
#: divides by a converged sigma (pytorch issue 51800).
_WARMUP_ITERATIONS = 15


# --------------------------------------------------------------------------------------------
# The power iteration: the one place where u, v and sigma are computed.
# --------------------------------------------------------------------------------------------
def _normalize(x: Tensor, eps: float) -> Tensor:
    # Same as F.normalize(x, dim=-1, eps=eps): x / max(||x||, eps).
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(eps)


def _power_iteration(mat: Tensor, u: Tensor, v: Tensor, n_iterations: int, eps: float) -> Tuple[Tensor, Tensor]:
    """Runs ``n_iterations`` of Algorithm 1 of Miyato et al. on a batch of matrices.

    Shapes: ``mat`` (G, r, c), ``u`` (G, 1, r), ``v`` (G, 1, c). Returns the new ``(u, v)``.
    The caller runs it under ``torch.no_grad()``.
    """
    mat_t = mat.transpose(1, 2)
    for _ in range(n_iterations):
        v = _normalize(torch.bmm(u, mat), eps)  # v <- W^T u / ||W^T u||
        u = _normalize(torch.bmm(v, mat_t), eps)  # u <- W v / ||W v||
    return u, v


def _copy_all_(dst: Sequence[Tensor], src: Sequence[Tensor]) -> None:
    if hasattr(torch, "_foreach_copy_"):  # one dispatch for all tensors (torch >= 2.1)
        torch._foreach_copy_(list(dst), list(src))
    else:  # pragma: no cover - older torch
        for d, s in zip(dst, src):
            d.copy_(s)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # The iteration and sigma always run in at least float32 (half-precision weights or autocast).
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _normalize_group(layers: Sequence["_SpectralNorm"]) -> List[Tensor]:
    """Returns ``W / sigma`` for each layer; all layers share weight shape, dim, dtype and device.

    In training mode the power iteration of the whole group runs as one batched computation and
    writes the new ``u``/``v`` into each layer's buffers. With a single layer this is the
    per-layer path, so the fused and per-layer paths share every line of arithmetic.
    """
    first = layers[0]
    n = len(layers)
    weight = first.weight
    shape = weight.shape
    dim = first._sn_dim
    eps = first._sn_eps
    # (G, *shape) without per-layer operations: a view for one layer, one cat for many.
    w = weight.unsqueeze(0) if n == 1 else torch.cat([m.weight for m in layers]).view(n, *shape)
    rows = shape[dim]
    mat = w if dim == 0 else w.movedim(dim + 1, 1)
    mat = mat.reshape(n, rows, -1)
    cdtype = _compute_dtype(weight.dtype)
    if mat.dtype != cdtype:
        mat = mat.to(cdtype)
    if n == 1:
        u = first.weight_u.view(1, 1, rows)
        v = first.weight_v.view(1, 1, -1)
        if not first.training and torch.is_grad_enabled():
            # Tensors saved for backward must not alias buffers that a later training forward writes.
            u, v = u.clone(), v.clone()
    else:
        u = torch.cat([m.weight_u for m in layers]).view(n, 1, rows)
        v = torch.cat([m.weight_v for m in layers]).view(n, 1, -1)
    if u.dtype != cdtype:
        u, v = u.to(cdtype), v.to(cdtype)
    with torch.autocast(device_type=weight.device.type, enabled=False):
        if first.training:
            with torch.no_grad():
                u, v = _power_iteration(mat, u, v, first._sn_n_power_iterations, eps)
                if n == 1:
                    first.weight_u.copy_(u.view(rows))
                    first.weight_v.copy_(v.view(-1))
                else:
                    _copy_all_([m.weight_u for m in layers], u.view(n, rows).unbind(0))
                    _copy_all_([m.weight_v for m in layers], v.view(n, -1).unbind(0))
        # sigma = u^T W v with autograd through W only (u, v are constants, as in the paper).
        sigma = torch.bmm(torch.bmm(u, mat), v.transpose(1, 2))
        # eps guards the division, so an all-zero weight gives zeros instead of NaN.
        sigma = sigma.clamp_min(eps)
        if sigma.dtype != weight.dtype:
            sigma = sigma.to(weight.dtype)
        # Divide each layer's own weight: the division saves its input for backward, and saving
        # the stacked copy instead would keep a second copy of every weight alive until backward.
        if n == 1:
            return [weight / sigma.reshape(())]
        return [m.weight / s for m, s in zip(layers, sigma.view(n).unbind(0))]


# --------------------------------------------------------------------------------------------
# The layers
# --------------------------------------------------------------------------------------------
def _check_options(n_power_iterations: int, eps: float) -> None:
    if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int):
        raise TypeError(f"n_power_iterations must be an int >= 1, got {n_power_iterations!r}")
    if n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}")
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"eps must be a float > 0, got {eps!r}")


class _SpectralNorm:
    """Mixin that adds spectral normalization of ``weight`` to a torch layer class.

    Subclasses combine it with a ``torch.nn`` layer (``class SNLinear(_SpectralNorm,
    nn.Linear)``) and call :meth:`_sn_weight` in their forward.
    """

    weight: Tensor
    weight_u: Tensor
    weight_v: Tensor
    training: bool
    _sn_dim: int
    _sn_eps: float
    _sn_n_power_iterations: int
    _sn_fused_weight: Optional[Tensor]
    _SN_DEFAULT_DIM = 0

    def _setup_spectral_norm(self, n_power_iterations: int, eps: float, dim: Optional[int] = None) -> None:
        _check_options(n_power_iterations, eps)
        weight = self.weight
        if not isinstance(weight, nn.Parameter):
            raise TypeError(f"{type(self).__name__}.weight must be an nn.Parameter, got {type(weight).__name__}")
        if weight.dim() < 2:
            raise ValueError(f"spectral normalization needs a weight with at least 2 dims, got shape {tuple(weight.shape)}")
        if dim is None:
            dim = self._SN_DEFAULT_DIM
        if not -weight.dim() <= dim < weight.dim():
            raise ValueError(f"dim must be in [-{weight.dim()}, {weight.dim() - 1}] for a weight of shape {tuple(weight.shape)}, got {dim}")
        self._sn_dim = dim % weight.dim()
        self._sn_eps = float(eps)
        self._sn_n_power_iterations = n_power_iterations
        self._sn_fused_weight = None
        rows = weight.shape[self._sn_dim]
        cols = weight.numel() // rows
        nn.Module.register_buffer(self, "weight_u", weight.new_empty(rows), persistent=True)  # type: ignore[arg-type]
        nn.Module.register_buffer(self, "weight_v", weight.new_empty(cols), persistent=True)  # type: ignore[arg-type]
        self._reset_power_iteration()

    @torch.no_grad()
    def _reset_power_iteration(self, iterations: int = _WARMUP_ITERATIONS) -> None:
        """Draws new normalized N(0, 1) ``u``, ``v`` and runs ``iterations`` power iterations."""
        mat = self._weight_matrix().unsqueeze(0)
        cdtype = _compute_dtype(mat.dtype)
        mat = mat.to(cdtype)
        u = _normalize(torch.randn(1, 1, mat.shape[1], device=mat.device, dtype=cdtype), self._sn_eps)
        v = _normalize(torch.randn(1, 1, mat.shape[2], device=mat.device, dtype=cdtype), self._sn_eps)
        if mat.device.type != "meta":
            u, v = _power_iteration(mat, u, v, iterations, self._sn_eps)
        self.weight_u.copy_(u.view(-1))
        self.weight_v.copy_(v.view(-1))

    def _weight_matrix(self) -> Tensor:
        w = self.weight
        if self._sn_dim != 0:
            w = w.movedim(self._sn_dim, 0)
        return w.reshape(w.shape[0], -1)

    def _sn_group_key(self) -> Tuple[Any, ...]:
        w = self.weight
        return (tuple(w.shape), w.dtype, w.device, self._sn_dim, self._sn_eps, self._sn_n_power_iterations, self.training)

    def _sn_weight(self) -> Tensor:
        fused = self._sn_fused_weight
        if fused is not None:
            return fused
        return _normalize_group([self])[0]

    @property
    def n_power_iterations(self) -> int:
        """Power iterations run per training forward."""
        return self._sn_n_power_iterations

    @property
    def sigma(self) -> Tensor:
        """Current estimate ``u^T W v`` of the largest singular value of ``weight`` (detached, 0-d).

        Computed on the weight's device without a host synchronization, from the current
        parameters and buffers; reading it changes nothing.
        """
        with torch.no_grad():
            mat = self._weight_matrix()
            cdtype = _compute_dtype(mat.dtype)
            return torch.dot(self.weight_u.to(cdtype), torch.mv(mat.to(cdtype), self.weight_v.to(cdtype)))

    def extra_repr(self) -> str:
        base = super().extra_repr()  # type: ignore[misc]
        return f"{base}, n_power_iterations={self._sn_n_power_iterations}"

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        self.__dict__.setdefault("_sn_fused_weight", None)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Any:
        # The fused weight only lives during one forward of the fused root; never copy it.
        cls = type(self)
        result = cls.__new__(cls)
        memo[id(self)] = result
        for key, value in self.__dict__.items():
            setattr_value = None if key == "_sn_fused_weight" else copy.deepcopy(value, memo)
            object.__setattr__(result, key, setattr_value)
        return result

    def _load_from_state_dict(
        self,
        state_dict: Dict[str, Any],
        prefix: str,
        local_metadata: Dict[str, Any],
        strict: bool,
        missing_keys: List[str],
        unexpected_keys: List[str],
        error_msgs: List[str],
    ) -> None:
        _translate_torch_keys(state_dict, prefix, self)
        for name in ("weight", "weight_u", "weight_v"):
            key = prefix + name
            if key in state_dict:
                expected = getattr(self, name).shape
                got = state_dict[key].shape
                if got != expected:
                    raise ValueError(
                        f"state dict entry {key!r} has shape {tuple(got)}, expected {tuple(expected)} for "
                        f"{type(self).__name__} (check the layer sizes of the model you load into)"
                    )
        super()._load_from_state_dict(  # type: ignore[misc]
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


def _translate_torch_keys(state_dict: Dict[str, Any], prefix: str, layer: _SpectralNorm) -> None:
    """Renames the keys of torch's two spectral-norm formats to this library's, in place.

    ``torch.nn.utils.spectral_norm`` (hooks) stores ``weight_orig``, ``weight_u``, ``weight_v``;
    ``torch.nn.utils.parametrizations.spectral_norm`` stores ``parametrizations.weight.original``
    and ``parametrizations.weight.0._u`` / ``._v``. Both use the same ``dim`` conventions and the
    same u, v shapes as this library.
    """
    renames = {
        prefix + "weight_orig": prefix + "weight",
        prefix + "parametrizations.weight.original": prefix + "weight",
        prefix + "parametrizations.weight.0._u": prefix + "weight_u",
        prefix + "parametrizations.weight.0._v": prefix + "weight_v",
    }
    for old, new in renames.items():
        if old in state_dict:
            value = state_dict.pop(old)
            if new not in state_dict:
                state_dict[new] = value
    # Very old torch checkpoints have no v: derive it from u as one half-step of the iteration.
    if prefix + "weight_u" in state_dict and prefix + "weight_v" not in state_dict and prefix + "weight" in state_dict:
        with torch.no_grad():
            w = state_dict[prefix + "weight"]
            if layer._sn_dim != 0:
                w = w.movedim(layer._sn_dim, 0)
            mat = w.reshape(w.shape[0], -1)
            state_dict[prefix + "weight_v"] = _normalize(torch.mv(mat.mT, state_dict[prefix + "weight_u"]), layer._sn_eps)


def _check_input(layer: nn.Module, x: Tensor, channels: int, spatial_dims: int, what: str) -> None:
    if x.dim() not in (spatial_dims + 1, spatial_dims + 2) or x.shape[-spatial_dims - 1] != channels:
        batched = ", ".join(["N", str(channels)] + ["*"] * spatial_dims)
        raise ValueError(
            f"{type(layer).__name__} expects input of shape ({batched}) (or without N) with {channels} "
            f"{what}, got {tuple(x.shape)}"
        )


_SN_KWARGS_DOC = """
    n_power_iterations: power iterations per training forward (keyword-only, >= 1).
    eps: guards every division of the iteration and the division by sigma (keyword-only, > 0)."""


class SNLinear(_SpectralNorm, nn.Linear):
    r"""A :class:`torch.nn.Linear` whose forward uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.Linear`, plus keyword-only ``n_power_iterations`` and
    ``eps``. ``weight`` stays the trainable raw weight; ``weight_u`` (out_features,) and
    ``weight_v`` (in_features,) are persistent buffers; :attr:`sigma` is the current estimate.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if ``False``, the layer has no additive bias.
        n_power_iterations: power iterations per training forward (keyword-only, >= 1).
        eps: guards every division of the iteration and the division by sigma (keyword-only, > 0).

    Shape:
        - Input: :math:`(*, H_{in})` with :math:`H_{in} = \text{in\_features}`.
        - Output: :math:`(*, H_{out})` with :math:`H_{out} = \text{out\_features}`.

    Example::

        >>> layer = SNLinear(20, 30)
        >>> layer(torch.randn(128, 20)).shape
        torch.Size([128, 30])
        >>> true_sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
        >>> bool(layer.sigma <= true_sigma * (1 + 1e-6))  # u^T W v never overestimates sigma
        True
        >>> _ = reset_spectral_norm(layer, iterations=200)  # more iterations: closer to sigma
        >>> bool(abs(layer.sigma - true_sigma) < 1e-3 * true_sigma)
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        *,
        n_power_iterations: int = 1,
        eps: float = 1e-12,
    ) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        self._setup_spectral_norm(n_power_iterations, eps)

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() == 0 or input.shape[-1] != self.in_features:
            raise ValueError(
                f"SNLinear expects input of shape (*, {self.in_features}), got {tuple(input.shape)}"
            )
        return F.linear(input, self._sn_weight(), self.bias)


class _SNConvNd(_SpectralNorm):
    _spatial_dims: int

    def forward(self, input: Tensor) -> Tensor:
        _check_input(self, input, self.in_channels, self._spatial_dims, "input channels")  # type: ignore[attr-defined]
        return self._conv_forward(input, self._sn_weight(), self.bias)  # type: ignore[attr-defined]


class SNConv1d(_SNConvNd, nn.Conv1d):
    """A :class:`torch.nn.Conv1d` with spectral normalization (see :class:`SNConv2d`).

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Output: as for :class:`torch.nn.Conv1d`.

    Example::

        >>> conv = SNConv1d(4, 8, 3, padding=1)
        >>> conv(torch.randn(2, 4, 16)).shape
        torch.Size([2, 8, 16])
    """

    _spatial_dims = 1

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConv2d(_SNConvNd, nn.Conv2d):
    r"""A :class:`torch.nn.Conv2d` whose forward uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.Conv2d` (groups, dilation, padding modes included),
    plus keyword-only ``n_power_iterations`` and ``eps``. The weight
    ``(out_channels, in_channels / groups, kH, kW)`` is viewed as an
    ``out_channels x (in_channels / groups * kH * kW)`` matrix, as in the paper.

    Args:
        in_channels, out_channels, kernel_size: as in :class:`torch.nn.Conv2d`, and so are
            ``stride``, ``padding``, ``dilation``, ``groups``, ``bias``, ``padding_mode``,
            ``device`` and ``dtype``.
        n_power_iterations: power iterations per training forward (keyword-only, >= 1).
        eps: guards every division of the iteration and the division by sigma (keyword-only, > 0).

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          as for :class:`torch.nn.Conv2d`.

    Example::

        >>> conv = SNConv2d(3, 64, 3, padding=1)
        >>> conv(torch.randn(8, 3, 32, 32)).shape
        torch.Size([8, 64, 32, 32])
    """

    _spatial_dims = 2

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConv3d(_SNConvNd, nn.Conv3d):
    """A :class:`torch.nn.Conv3d` with spectral normalization (see :class:`SNConv2d`).

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})` or :math:`(C_{in}, D_{in}, H_{in}, W_{in})`.
        - Output: as for :class:`torch.nn.Conv3d`.

    Example::

        >>> conv = SNConv3d(2, 4, 3, padding=1)
        >>> conv(torch.randn(1, 2, 4, 4, 4)).shape
        torch.Size([1, 4, 4, 4, 4])
    """

    _spatial_dims = 3

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class _SNConvTransposeNd(_SpectralNorm):
    # The weight of a transposed convolution is (in, out / groups, *k): rows are dim 1, as in torch.
    _SN_DEFAULT_DIM = 1
    _spatial_dims: int
    _functional: Any

    def forward(self, input: Tensor, output_size: Optional[List[int]] = None) -> Tensor:
        _check_input(self, input, self.in_channels, self._spatial_dims, "input channels")  # type: ignore[attr-defined]
        if self.padding_mode != "zeros":  # type: ignore[attr-defined]
            raise ValueError(f"Only 'zeros' padding mode is supported for {type(self).__name__}")
        output_padding = self._output_padding(  # type: ignore[attr-defined]
            input, output_size, self.stride, self.padding, self.kernel_size, self._spatial_dims, self.dilation  # type: ignore[attr-defined]
        )
        return type(self)._functional(
            input, self._sn_weight(), self.bias, self.stride, self.padding,  # type: ignore[attr-defined]
            output_padding, self.groups, self.dilation,  # type: ignore[attr-defined]
        )


class SNConvTranspose1d(_SNConvTransposeNd, nn.ConvTranspose1d):
    """A :class:`torch.nn.ConvTranspose1d` with spectral normalization (see :class:`SNConvTranspose2d`).

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Output: as for :class:`torch.nn.ConvTranspose1d`.

    Example::

        >>> deconv = SNConvTranspose1d(8, 4, 4, stride=2, padding=1)
        >>> deconv(torch.randn(2, 8, 16)).shape
        torch.Size([2, 4, 32])
    """

    _spatial_dims = 1
    _functional = staticmethod(F.conv_transpose1d)

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConvTranspose2d(_SNConvTransposeNd, nn.ConvTranspose2d):
    r"""A :class:`torch.nn.ConvTranspose2d` whose forward uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.ConvTranspose2d`, plus keyword-only
    ``n_power_iterations`` and ``eps``. The weight ``(in_channels, out_channels / groups, kH, kW)``
    is viewed with dim 1 as rows, as torch's spectral norm does for transposed convolutions.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Output: as for :class:`torch.nn.ConvTranspose2d`.

    Example::

        >>> deconv = SNConvTranspose2d(64, 32, 4, stride=2, padding=1)
        >>> deconv(torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 32, 16, 16])
    """

    _spatial_dims = 2
    _functional = staticmethod(F.conv_transpose2d)

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNConvTranspose3d(_SNConvTransposeNd, nn.ConvTranspose3d):
    """A :class:`torch.nn.ConvTranspose3d` with spectral normalization (see :class:`SNConvTranspose2d`).

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})` or :math:`(C_{in}, D_{in}, H_{in}, W_{in})`.
        - Output: as for :class:`torch.nn.ConvTranspose3d`.

    Example::

        >>> deconv = SNConvTranspose3d(4, 2, 4, stride=2, padding=1)
        >>> deconv(torch.randn(1, 4, 2, 2, 2)).shape
        torch.Size([1, 2, 4, 4, 4])
    """

    _spatial_dims = 3
    _functional = staticmethod(F.conv_transpose3d)

    def __init__(self, *args: Any, n_power_iterations: int = 1, eps: float = 1e-12, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_spectral_norm(n_power_iterations, eps)


class SNEmbedding(_SpectralNorm, nn.Embedding):
    r"""A :class:`torch.nn.Embedding` whose lookup uses ``weight / sigma(weight)``.

    Same constructor as :class:`torch.nn.Embedding` (``max_norm`` excepted: renormalizing rows in
    place contradicts spectral normalization), plus keyword-only ``n_power_iterations`` and
    ``eps``. The ``(num_embeddings, embedding_dim)`` weight is the matrix, as in the projection
    discriminator's ``SNEmbedID``.

    Shape:
        - Input: :math:`(*)`, integer class indices in ``[0, num_embeddings)``.
        - Output: :math:`(*, H)` with :math:`H = \text{embedding\_dim}`.

    Example::

        >>> embed = SNEmbedding(10, 128)
        >>> embed(torch.tensor([0, 3, 9])).shape
        torch.Size([3, 128])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: Optional[int] = None,
        max_norm: Optional[float] = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Optional[Tensor] = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        *,
        n_power_iterations: int = 1,
        eps: float = 1e-12,
    ) -> None:
        if max_norm is not None:
            raise ValueError("SNEmbedding does not support max_norm (it rescales rows in place); expected max_norm=None")
        super().__init__(
            num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
            _weight, _freeze, device, dtype,
        )
        self._setup_spectral_norm(n_power_iterations, eps)

    def forward(self, input: Tensor) -> Tensor:
        if input.is_floating_point() or input.is_complex():
            raise TypeError(f"SNEmbedding expects integer indices, got a tensor of dtype {input.dtype}")
        return F.embedding(
            input, self._sn_weight(), self.padding_idx, None, self.norm_type, self.scale_grad_by_freq, self.sparse
        )


_SN_CLASSES: Dict[Type[nn.Module], Type[nn.Module]] = {
    nn.Linear: SNLinear,
    nn.Conv1d: SNConv1d,
    nn.Conv2d: SNConv2d,
    nn.Conv3d: SNConv3d,
    nn.ConvTranspose1d: SNConvTranspose1d,
    nn.ConvTranspose2d: SNConvTranspose2d,
    nn.ConvTranspose3d: SNConvTranspose3d,
    nn.Embedding: SNEmbedding,
}
_PLAIN_CLASSES = {sn: plain for plain, sn in _SN_CLASSES.items()}


def is_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module`` is a spectral-normalized layer of this library.

    Example::

        >>> is_spectral_norm(SNLinear(2, 2)), is_spectral_norm(nn.Linear(2, 2))
        (True, False)
    """
    return isinstance(module, _SpectralNorm)


# --------------------------------------------------------------------------------------------
# Functional helpers
# --------------------------------------------------------------------------------------------
def spectral_norm(
    module: M,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: Optional[int] = None,
) -> M:
    r"""Adds spectral normalization to an existing layer, in place, and returns it.

    The layer becomes the matching SN class (``nn.Conv2d`` becomes :class:`SNConv2d`, which is
    still an ``nn.Conv2d``); its parameters, hooks and device are kept, ``weight_u`` and
    ``weight_v`` buffers are added and warmed up with 15 power iterations.

    Args:
        module: an ``nn.Linear``, ``nn.Conv1d/2d/3d``, ``nn.ConvTranspose1d/2d/3d`` or
            ``nn.Embedding`` (exactly those classes, not subclasses).
        name: the parameter to normalize; these layers have one weight, so only ``"weight"``.
        n_power_iterations: power iterations per training forward, >= 1.
        eps: guards every division, > 0.
        dim: the weight dimension used as matrix rows; default 1 for transposed
            convolutions and 0 otherwise (torch's convention).

    Returns:
        The same module object.

    Example::

        >>> conv = spectral_norm(nn.Conv2d(3, 16, 3))
        >>> isinstance(conv, nn.Conv2d), sorted(b for b, _ in conv.named_buffers())
        (True, ['weight_u', 'weight_v'])
    """
    if isinstance(module, _SpectralNorm):
        raise ValueError(f"{type(module).__name__} already has spectral normalization")
    sn_cls = _SN_CLASSES.get(type(module))
    if sn_cls is None:
        supported = ", ".join(f"nn.{c.__name__}" for c in _SN_CLASSES)
        raise TypeError(f"spectral_norm supports {supported}; got {type(module).__name__}")
    if name != "weight":
        raise ValueError(f"{type(module).__name__} has a single weight: expected name='weight', got {name!r}")
    if isinstance(module, nn.Embedding) and module.max_norm is not None:
        raise ValueError("spectral_norm does not support nn.Embedding with max_norm; expected max_norm=None")
    _check_options(n_power_iterations, eps)
    module.__class__ = sn_cls
    module._setup_spectral_norm(n_power_iterations, eps, dim)  # type: ignore[attr-defined]
    return module


def remove_spectral_norm(module: M) -> M:
    """Bakes ``weight / sigma`` into a plain weight and turns the layer back into its torch class.

    Uses the current buffers without running a power iteration (the eval-mode weight).

    Example::

        >>> layer = SNLinear(4, 3).eval()
        >>> x = torch.randn(2, 4)
        >>> before = layer(x)
        >>> plain = remove_spectral_norm(layer)
        >>> type(plain).__name__, torch.allclose(plain(x), before, atol=1e-6)
        ('Linear', True)
    """
    if not isinstance(module, _SpectralNorm):
        raise TypeError(f"{type(module).__name__} has no spectral normalization to remove")
    with torch.no_grad():
        sigma = module.sigma.clamp_min(module._sn_eps)
        module.weight.div_(sigma.to(module.weight.dtype))
    for buffer in ("weight_u", "weight_v"):
        del module._buffers[buffer]  # type: ignore[attr-defined]
    for attr in ("_sn_dim", "_sn_eps", "_sn_n_power_iterations", "_sn_fused_weight"):
        module.__dict__.pop(attr, None)
    module.__class__ = _PLAIN_CLASSES[type(module)]
    return module


def spectral_norm_all(
    model: M,
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    *,
    exclude: Iterable[str] = (),
    fuse: bool = True,
) -> M:
    """Adds spectral normalization to every supported layer of ``model`` (in place) and returns it.

    Args:
        model: any module; its ``nn.Linear``, ``nn.Conv*``, ``nn.ConvTranspose*`` and
            ``nn.Embedding`` layers are converted (layers that already have SN are kept).
        n_power_iterations, eps: as in :func:`spectral_norm`.
        exclude: qualified names of layers to leave alone (as in ``model.named_modules()``).
        fuse: also call :func:`fuse_spectral_norm` on ``model`` (the power iterations of all layers
            then run together once per forward of ``model``).

    Example::

        >>> d = spectral_norm_all(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.LazyLinear(1)), exclude={"2"})
        >>> [type(m).__name__ for m in d]
        ['SNConv2d', 'Flatten', 'LazyLinear']
    """
    excluded = set(exclude)
    for qualname, module in list(model.named_modules()):
        if qualname in excluded or isinstance(module, _SpectralNorm):
            continue
        if type(module) in _SN_CLASSES:
            spectral_norm(module, n_power_iterations=n_power_iterations, eps=eps)
    if fuse:
        fuse_spectral_norm(model)
    return model


def spectral_norms(model: nn.Module) -> Dict[str, Tensor]:
    """Returns ``{layer name: sigma}`` for every SN layer of ``model`` (detached 0-d tensors).

    No host synchronization happens here; call ``.item()`` (or stack them) when logging.

    Example::

        >>> d = nn.Sequential(SNLinear(4, 8), nn.ReLU(), SNLinear(8, 1))
        >>> sorted(spectral_norms(d))
        ['0', '2']
    """
    return {name: m.sigma for name, m in model.named_modules() if isinstance(m, _SpectralNorm)}


def reset_spectral_norm(module: nn.Module, iterations: int = _WARMUP_ITERATIONS) -> nn.Module:
    """Re-draws ``u``, ``v`` and re-runs the warm-up for every SN layer in ``module``.

    Call it after re-initializing weights (e.g. with ``nn.init.xavier_uniform_``), so that eval
    mode divides by a converged sigma of the new weights.

    Args:
        module: any module; every SN layer inside it (itself included) is reset.
        iterations: power iterations of the warm-up, >= 1.

    Returns:
        ``module``.

    Example::

        >>> layer = SNLinear(16, 16)
        >>> _ = nn.init.orthogonal_(layer.weight, gain=3.0)  # every singular value is 3
        >>> _ = reset_spectral_norm(layer)
        >>> round(float(layer.sigma), 4)
        3.0
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    for m in module.modules():
        if isinstance(m, _SpectralNorm):
            m._reset_power_iteration(iterations)
    return module


def load_torch_spectral_norm_state_dict(module: nn.Module, state_dict: Dict[str, Tensor], strict: bool = True) -> Any:
    """Loads a state dict written by either of torch's spectral norms into a model of SN layers.

    ``load_state_dict`` already accepts both formats (``weight_orig``/``weight_u``/``weight_v`` of
    ``torch.nn.utils.spectral_norm`` and ``parametrizations.weight.original``/``...0._u``/``...0._v``
    of ``torch.nn.utils.parametrizations.spectral_norm``); this helper only copies the dict first
    so that the caller's dict is left untouched.

    Args:
        module: a model with this library's SN layers where the source model had torch's.
        state_dict: the source model's ``state_dict()``.
        strict: as in :meth:`torch.nn.Module.load_state_dict`.

    Returns:
        What :meth:`torch.nn.Module.load_state_dict` returns (missing and unexpected keys).

    Example::

        >>> src = nn.utils.parametrizations.spectral_norm(nn.Linear(4, 3))
        >>> dst = SNLinear(4, 3)
        >>> load_torch_spectral_norm_state_dict(dst, src.state_dict())
        <All keys matched successfully>
        >>> x = torch.randn(2, 4)
        >>> torch.allclose(dst.eval()(x), src.eval()(x), atol=1e-6)
        True
    """
    return module.load_state_dict(dict(state_dict), strict=strict)


# --------------------------------------------------------------------------------------------
# Fused power iteration
# --------------------------------------------------------------------------------------------
class _FusedSpectralNorm:
    """Forward pre-hook that normalizes the weights of every SN layer of a model in one go.

    Layers are grouped by weight shape (and dtype, device, dim, options, mode); each group runs
    one batched power iteration (``bmm`` over the stacked weights), so the number of operations
    depends on the number of distinct shapes, not the number of layers. The normalized weights
    are handed to the layers for the duration of the model's forward only.
    """

    def __init__(self) -> None:
        self.handles: List[Any] = []

    def __call__(self, model: nn.Module, args: Any) -> None:
        groups: Dict[Tuple[Any, ...], List[_SpectralNorm]] = {}
        for m in model.modules():
            if isinstance(m, _SpectralNorm):
                groups.setdefault(m._sn_group_key(), []).append(m)
        for layers in groups.values():
            for layer, weight in zip(layers, _normalize_group(layers)):
                layer._sn_fused_weight = weight

    def clear(self, model: nn.Module, args: Any, output: Any) -> None:
        for m in model.modules():
            if isinstance(m, _SpectralNorm):
                m._sn_fused_weight = None

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def fuse_spectral_norm(model: M, enable: bool = True) -> M:
    """Runs the power iterations of all SN layers of ``model`` together, once per ``model`` forward.

    Layers with equal weight shapes share one batched power iteration, so a discriminator's SN
    costs a handful of tensor operations per forward instead of about forty per layer. Results
    equal the per-layer path within float32 rounding. Layers called on their own (outside a
    forward of ``model``) keep using the per-layer path. The library's architectures turn this
    on in their constructors; calling it again, or on a parent module, replaces earlier fusion of
    the same layers.

    Args:
        model: the module whose forward triggers the fused computation.
        enable: ``False`` removes the fusion from ``model`` (and its submodules).

    Returns:
        ``model``.

    Example::

        >>> d = fuse_spectral_norm(nn.Sequential(SNLinear(2, 64), nn.ReLU(), SNLinear(64, 64), nn.ReLU(), SNLinear(64, 1)))
        >>> d(torch.randn(5, 2)).shape
        torch.Size([5, 1])
    """
    for m in model.modules():
        fuser = m.__dict__.pop("_sn_fuser", None)
        if fuser is not None:
            fuser.remove()
    if enable:
        fuser = _FusedSpectralNorm()
        fuser.handles = [
            model.register_forward_pre_hook(fuser),
            model.register_forward_hook(fuser.clear, always_call=True),
        ]
        model.__dict__["_sn_fuser"] = fuser
    return model


# --------------------------------------------------------------------------------------------
# Exponential moving average
# --------------------------------------------------------------------------------------------
@torch.no_grad()
def ema_update_(ema_model: nn.Module, model: nn.Module, decay: float) -> None:
    """Updates ``ema_model`` in place: ``p_ema = decay * p_ema + (1 - decay) * p`` for parameters.

    Buffers (BatchNorm running statistics, ``num_batches_tracked``, spectral-norm ``u``/``v``) are
    copied, never averaged: averaged unit vectors shrink, so an averaged ``u``/``v`` underestimates
    sigma and the EMA model's outputs blow up (see the SNGAN reference notes, trap 2).

    Args:
        ema_model: a copy of ``model`` (``copy.deepcopy(model)``) with the same structure.
        model: the live model.
        decay: in ``[0, 1]``; 0 copies the model, 1 leaves the EMA unchanged.

    Example::

        >>> g = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        >>> g_ema = copy.deepcopy(g)
        >>> ema_update_(g_ema, g, decay=0.999)
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    ema_params = list(ema_model.parameters())
    params = list(model.parameters())
    ema_buffers = list(ema_model.buffers())
    buffers = list(model.buffers())
    if len(ema_params) != len(params) or len(ema_buffers) != len(buffers):
        raise ValueError(
            f"ema_model and model differ in structure: {len(ema_params)} vs {len(params)} parameters, "
            f"{len(ema_buffers)} vs {len(buffers)} buffers"
        )
    if params:
        torch._foreach_lerp_(ema_params, [p.detach() for p in params], 1.0 - decay)
    if buffers:
        _copy_all_(ema_buffers, buffers)
