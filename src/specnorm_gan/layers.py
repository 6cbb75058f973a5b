"""Spectral-normalized layers and the power iteration behind them.

Everything spectral-norm lives here: the power iteration (:func:`_power_iteration`), the
layers (:class:`SNLinear`, :class:`SNConv2d`, ...), the functional helpers
(:func:`spectral_norm`, :func:`remove_spectral_norm`, ...), the fused path that runs the power
iteration of every SN layer of a network in a handful of batched operations on zero-padded,
persistent storage (:func:`fuse_spectral_norm`) and the EMA helper that copies, rather than averages, the
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


def _power_iteration(
    mat: Tensor, u: Tensor, v: Tensor, n_iterations: int, eps: float, mat_t: Optional[Tensor] = None
) -> Tuple[Tensor, Tensor, Tensor]:
    """Runs ``n_iterations`` of Algorithm 1 of Miyato et al. on a batch of matrices.

    Shapes: ``mat`` (G, r, c), ``u`` (G, 1, r), ``v`` (G, 1, c); ``mat_t`` is ``mat.transpose(1, 2)``
    if the caller has it. Returns the new ``(u, v, sigma)`` with ``sigma = u^T W v = ||W v||``
    (G, 1, 1), clamped to ``eps``. The caller runs it under ``torch.no_grad()``.
    """
    if n_iterations < 1:
        raise ValueError(f"n_iterations must be >= 1, got {n_iterations}")
    if mat_t is None:
        mat_t = mat.transpose(1, 2)
    sigma: Tensor
    for _ in range(n_iterations):
        v = _normalize(torch.bmm(u, mat), eps)  # v <- W^T u / ||W^T u||
        wv = torch.bmm(v, mat_t)
        sigma = torch.linalg.vector_norm(wv, dim=-1, keepdim=True).clamp_min(eps)
        u = wv / sigma  # u <- W v / ||W v||
    return u, v, sigma


def _is_compiling() -> bool:
    # torch.compiler.is_compiling exists from torch 2.3; older versions cannot be compiling here.
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(check()) if check is not None else False


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
    writes the new ``u``/``v`` into each layer's buffers; autograd differentiates ``sigma``. With a
    single layer this is the per-layer path; the fused path uses it under ``torch.compile``
    (eager fused forwards use :class:`_PackedGroup`, which gives the same results within float
    rounding, tested in float64).
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
                u, v, _ = _power_iteration(mat, u, v, first._sn_n_power_iterations, eps)
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
            u, v, _ = _power_iteration(mat, u, v, iterations, self._sn_eps)
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
def _matrix_as_weight(mat: Tensor, weight: Tensor, dim: int) -> Tensor:
    # The (rows, cols) matrix of ``weight`` (``dim`` first, the rest flattened) viewed back in the weight's shape.
    if not dim:
        return mat.view(weight.shape)
    return mat.view(weight.movedim(dim, 0).shape).movedim(0, dim)


class _SpectralDivide(torch.autograd.Function):
    """``weight / sigma`` for one layer of a packed group, differentiated through ``sigma = u^T W v``.

    ``sigma`` is the layer's entry of the group's persistent sigma (read in the forward only);
    ``u`` (G, 1, R), ``v`` (G, 1, C) and ``s`` (G, 1, 1) are this forward's own (fresh) tensors,
    saved for backward, so a second forward before the backward cannot change them. With u and v
    constants (Miyato et al., Sec. 2.2), d(W/sigma)/dW applied to ``g`` is
    ``(g - <g, W>/sigma * u v^T) / sigma``, which is what autograd computes on the per-layer path.
    """

    @staticmethod
    def forward(ctx: Any, weight: Tensor, sigma: Tensor, u: Tensor, v: Tensor, s: Tensor, meta: Tuple[int, int, int, int, float]) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(weight, u, v, s)
        ctx.meta = meta
        return weight / sigma

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:  # type: ignore[override]
        weight, u, v, s = ctx.saved_tensors
        index, rows, cols, dim, eps = ctx.meta
        sigma = s[index].reshape(())
        g = grad.to(s.dtype)
        outer = _matrix_as_weight(torch.outer(u[index, 0, :rows], v[index, 0, :cols]), weight, dim)
        # Below eps the division uses the constant eps: no gradient through sigma there.
        coef = (g * weight.to(s.dtype)).sum() / sigma * (sigma > eps)
        grad_weight = ((g - coef * outer) / sigma).to(weight.dtype)
        return grad_weight, None, None, None, None, None


#: A packed group pads its weight matrices to a common (rows, cols); a layer joins a group while
#: the padded size stays within this factor of the real size, plus a fixed allowance for small layers.
_PACK_SLACK = 1.5
_PACK_ALLOWANCE = 1 << 20


class _PackedGroup:
    """Persistent zero-padded storage for the power iteration of several SN layers.

    ``P`` (G, R, C) holds each layer's weight matrix in its top-left corner, ``U`` (G, 1, R) and
    ``V`` (G, 1, C) the vectors, ``S`` (G, 1, 1) sigma; zero padding leaves every layer's
    iteration unchanged (padded rows/columns of ``W v`` and ``W^T u`` are zero). Views of this
    storage shaped like each layer's weight and buffers are made once, so a training forward
    costs one gather of the weights, two batched matrix products and a few vector operations per
    iteration, one scatter of ``u``/``v`` into the layers' buffers and one division per layer,
    whatever the shapes.
    """

    def __init__(self, layers: Sequence["_SpectralNorm"]) -> None:
        first = layers[0]
        self.layers = list(layers)
        self.training = first.training
        self.eps = first._sn_eps
        self.n_iterations = first._sn_n_power_iterations
        self.device = first.weight.device
        cdtype = _compute_dtype(first.weight.dtype)
        self.shapes = [(m.weight.shape[m._sn_dim], m.weight.numel() // m.weight.shape[m._sn_dim]) for m in layers]
        g = len(layers)
        rows = max(r for r, _ in self.shapes)
        cols = max(c for _, c in self.shapes)
        kw = dict(dtype=cdtype, device=self.device)
        self.P = torch.zeros(g, rows, cols, **kw)  # type: ignore[arg-type]
        self.PT = self.P.transpose(1, 2)
        self.U = torch.zeros(g, 1, rows, **kw)  # type: ignore[arg-type]
        self.V = torch.zeros(g, 1, cols, **kw)  # type: ignore[arg-type]
        self.S = torch.ones(g, 1, 1, **kw)  # type: ignore[arg-type]
        self.weight_views: List[Tensor] = []
        self.meta: List[Tuple[int, int, int, int, float]] = []
        for i, (m, (r, c)) in enumerate(zip(layers, self.shapes)):
            self.weight_views.append(_matrix_as_weight(self.P[i, :r, :c], m.weight, m._sn_dim))
            self.meta.append((i, r, c, m._sn_dim, self.eps))
        self.u_views = [self.U[i, 0, :r] for i, (r, _) in enumerate(self.shapes)]
        self.v_views = [self.V[i, 0, :c] for i, (_, c) in enumerate(self.shapes)]
        self.s_views = [self.S[i, 0, 0] for i in range(g)]
        # (buffer, version, data pointer) for which U / V hold the buffers' values; None = gather first.
        self._u_seen: Optional[List[Tuple[Tensor, int, int]]] = None
        self._v_seen: Optional[List[Tuple[Tensor, int, int]]] = None

    @staticmethod
    def _current(seen: Optional[List[Tuple[Tensor, int, int]]], buffers: List[Tensor]) -> bool:
        # Buffers replaced (``.to()``, functional_call) or written (load_state_dict, DDP broadcast,
        # reset, EMA copies) since the last sync show up as a new object or a new version.
        return seen is not None and all(
            b is t and b._version == ver and b.data_ptr() == ptr for b, (t, ver, ptr) in zip(buffers, seen)
        )

    def normalize(self) -> List[Tensor]:
        layers = self.layers
        us = [m.weight_u for m in layers]
        vs = [m.weight_v for m in layers]
        grad_enabled = torch.is_grad_enabled()
        with torch.no_grad(), torch.autocast(device_type=self.device.type, enabled=False):
            _copy_all_(self.weight_views, [m.weight for m in layers])
            if not self._current(self._u_seen, us):
                _copy_all_(self.u_views, us)
            if self.training:
                u, v, s = _power_iteration(self.P, self.U, self.V, self.n_iterations, self.eps, self.PT)
                self.U.copy_(u)
                self.V.copy_(v)
                self.S.copy_(s)
                _copy_all_(us + vs, self.u_views + self.v_views)
                self._v_seen = [(b, b._version, b.data_ptr()) for b in vs]
            else:
                if not self._current(self._v_seen, vs):
                    _copy_all_(self.v_views, vs)
                    self._v_seen = [(b, b._version, b.data_ptr()) for b in vs]
                s = (torch.bmm(self.V, self.PT) * self.U).sum(-1, keepdim=True).clamp_min(self.eps)
                self.S.copy_(s)
                u, v = self.U, self.V
                if grad_enabled:
                    # Saved for backward: must not alias storage that a later training forward writes.
                    u, v = u.clone(), v.clone()
            self._u_seen = [(b, b._version, b.data_ptr()) for b in us]
        return [
            _SpectralDivide.apply(m.weight, sv, u, v, s, meta)
            for m, sv, meta in zip(layers, self.s_views, self.meta)
        ]


def _pack_layers(layers: Sequence["_SpectralNorm"]) -> List[_PackedGroup]:
    """Splits SN layers into packed groups: same dtype/device/options/mode, bounded padding."""
    keyed: Dict[Tuple[Any, ...], List[_SpectralNorm]] = {}
    for m in layers:
        w = m.weight
        keyed.setdefault((w.dtype, w.device, m._sn_eps, m._sn_n_power_iterations, m.training), []).append(m)
    groups: List[_PackedGroup] = []
    for members in keyed.values():
        members = sorted(members, key=lambda m: -m.weight.numel())
        current: List[_SpectralNorm] = []
        rows = cols = real = 0
        for m in members:
            r = m.weight.shape[m._sn_dim]
            c = m.weight.numel() // r
            new_rows, new_cols, new_real = max(rows, r), max(cols, c), real + r * c
            if current and (len(current) + 1) * new_rows * new_cols > _PACK_SLACK * new_real + _PACK_ALLOWANCE:
                groups.append(_PackedGroup(current))
                current, new_rows, new_cols, new_real = [], r, c, r * c
            current.append(m)
            rows, cols, real = new_rows, new_cols, new_real
        if current:
            groups.append(_PackedGroup(current))
    return groups


def _layer_signature(m: "_SpectralNorm") -> Tuple[Any, ...]:
    w = m.weight
    return (id(m), w.shape, w.dtype, w.device, m._sn_dim, m._sn_eps, m._sn_n_power_iterations, m.training)


class _FusedSpectralNorm:
    """Forward pre-hook that normalizes the weights of every SN layer of a model in one go.

    Eager mode: the layers are packed into a few :class:`_PackedGroup` (zero-padded storage kept
    between forwards, rebuilt when a layer, shape, dtype, device or mode changes), so the number
    of operations barely depends on the number of layers or their shapes. Under
    ``torch.compile`` the layers are grouped by weight shape and each group runs the batched
    iteration of :func:`_normalize_group` (the graph fuses it anyway). The normalized weights are
    handed to the layers for the duration of the model's forward only.
    """

    def __init__(self) -> None:
        self.handles: List[Any] = []
        self._signature: Optional[Tuple[Any, ...]] = None
        self._groups: List[_PackedGroup] = []
        self._active: List[_SpectralNorm] = []  # layers holding a fused weight during a forward

    def __getstate__(self) -> Dict[str, Any]:
        # Packed storage is a cache of the layers' own parameters and buffers: never copy it.
        state = dict(self.__dict__)
        state["_signature"], state["_groups"], state["_active"] = None, [], []
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]  # caches start empty (also for fusers pickled before they existed)
        self.handles = state.get("handles", [])

    def __deepcopy__(self, memo: Dict[int, Any]) -> "_FusedSpectralNorm":
        result = _FusedSpectralNorm.__new__(_FusedSpectralNorm)
        memo[id(self)] = result
        result.__dict__.update(copy.deepcopy(self.__getstate__(), memo))
        return result

    def __call__(self, model: nn.Module, args: Any) -> None:
        layers = [m for m in model.modules() if isinstance(m, _SpectralNorm)]
        self._active = layers
        if _is_compiling():
            groups: Dict[Tuple[Any, ...], List[_SpectralNorm]] = {}
            for m in layers:
                groups.setdefault(m._sn_group_key(), []).append(m)
            for members in groups.values():
                for layer, weight in zip(members, _normalize_group(members)):
                    layer._sn_fused_weight = weight
            return
        signature = tuple(_layer_signature(m) for m in layers)
        if signature != self._signature:
            self._groups = _pack_layers(layers)
            self._signature = signature
        for group in self._groups:
            for layer, weight in zip(group.layers, group.normalize()):
                layer._sn_fused_weight = weight

    def clear(self, model: nn.Module, args: Any, output: Any) -> None:
        for m in self._active:
            m._sn_fused_weight = None
        self._active = []

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []
        self._signature, self._groups = None, []


def fuse_spectral_norm(model: M, enable: bool = True) -> M:
    """Runs the power iterations of all SN layers of ``model`` together, once per ``model`` forward.

    The weight matrices of all layers (any shapes) are kept zero-padded in one persistent
    buffer, so a training forward's spectral norm is one gather of the weights, two batched
    matrix products and a few vector operations per power iteration, one scatter of ``u``/``v``
    and one division per layer: about 60 ATen operators for an 11-layer SNGAN discriminator where
    torch's parametrization dispatches about 430. Results equal the per-layer path within float
    rounding; the persistent buffer costs one extra copy of the SN weights (plus padding bounded
    to 1.5x). Under ``torch.compile`` layers of equal shape share a batched iteration instead. Layers called on their own (outside a
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
