"""Saving and loading models as ``safetensors`` weights plus a JSON config (no pickle).

A pretrained folder holds ``config.json`` (the class, every constructor argument that was passed,
the preset name and hyperparameters of a :func:`build_gan` result, and source quirks) and
``model.safetensors`` (the state dict; a GAN's keys are prefixed ``G.`` and ``D.``).
:func:`from_pretrained` rebuilds the architecture from the config and loads the weights after
checking every key and shape, so a bad file leaves nothing half-loaded. Hub repository ids go
through ``huggingface_hub`` (extra ``hub``), with a fallback to the local cache when offline.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from .models import (
    DCGANDiscriminatorArch,
    DCGANGeneratorArch,
    ResNetDiscriminatorArch,
    ResNetGeneratorArch,
    SNDCGANDiscriminator,
    SNDCGANGenerator,
    SNResNetDiscriminator,
    SNResNetGenerator,
)
from .presets import GANSpec, TrainHParams, get_preset

__all__ = ["save_pretrained", "from_pretrained", "load_state_dict_checked", "power_iteration_in_eval", "is_pretrained_folder",
           "generator_from_path"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "specnorm-gan-pretrained"
_CLASSES = {c.__name__: c for c in (SNResNetGenerator, SNResNetDiscriminator, SNDCGANGenerator, SNDCGANDiscriminator)}
_ARCHS = {c.__name__: c for c in (ResNetGeneratorArch, ResNetDiscriminatorArch, DCGANGeneratorArch, DCGANDiscriminatorArch)}
Model = Union[nn.Module, GANSpec]


def _safetensors() -> Any:
    try:
        import safetensors.torch as st
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "saving and loading pretrained folders needs safetensors: pip install 'specnorm-gan[pretrained]'"
        ) from err
    return st


# --------------------------------------------------------------------------------------------
# Config (de)serialization
# --------------------------------------------------------------------------------------------
def _to_json(value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(value) and type(value).__name__ in _ARCHS:
        return {"__arch__": type(value).__name__, **{k: _to_json(v, where) for k, v in dataclasses.asdict(value).items()}}
    if isinstance(value, (list, tuple)):
        return [_to_json(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v, where) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save_pretrained: option {where} = {value!r} is not JSON-serializable; expected str/number/list")


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "__arch__" in value:
        fields = {k: _tuples(v) for k, v in value.items() if k != "__arch__"}
        return _ARCHS[value["__arch__"]](**fields)
    return value


def model_config(model: nn.Module) -> Dict[str, Any]:
    """The JSON record that rebuilds ``model``'s architecture (class, arguments, quirks).

    Example::

        >>> model_config(SNResNetGenerator(32, width=0.125))["kwargs"]
        {'resolution': 32, 'width': 0.125}
    """
    name = type(model).__name__
    if name not in _CLASSES or not hasattr(model, "init_config"):
        raise TypeError(f"save_pretrained: expected one of {sorted(_CLASSES)} or a GANSpec, got {name}")
    kwargs = {}
    for key, value in model.init_config.items():
        if key == "init" and callable(value):
            continue  # the weights are loaded over any initialization
        kwargs[key] = _to_json(value, f"{name}.{key}")
    config: Dict[str, Any] = {"class": name, "kwargs": kwargs}
    quirks = getattr(model, "pretrained_quirks", None)
    if quirks:
        config["quirks"] = dict(quirks)
    return config


def build_from_config(config: Mapping[str, Any]) -> nn.Module:
    """Builds the (randomly initialized) model that :func:`model_config` describes."""
    name = config.get("class")
    if name not in _CLASSES:
        raise ValueError(f"config names class {name!r}; expected one of {sorted(_CLASSES)}")
    kwargs = {k: _from_json(v) for k, v in dict(config.get("kwargs", {})).items()}
    model = _CLASSES[name](**kwargs)
    quirks = dict(config.get("quirks", {}))
    sn_eval = quirks.pop("sn_eval_power_iterations", None)
    if quirks:
        raise ValueError(f"config has unknown quirks {sorted(quirks)}; expected only 'sn_eval_power_iterations'")
    if sn_eval:
        power_iteration_in_eval(model, int(sn_eval["iterations"]), list(sn_eval["layers"]))
    return model


# --------------------------------------------------------------------------------------------
# Checked loading
# --------------------------------------------------------------------------------------------
def load_state_dict_checked(model: nn.Module, state: Mapping[str, Tensor], what: str = "state dict") -> None:
    """Loads ``state`` into ``model`` only if every key and shape matches; else nothing changes.

    Raises:
        KeyError: a missing or an extra key (the message names them).
        ValueError: a shape mismatch (the message names the key, the expected and the found shape).

    Example::

        >>> G = SNResNetGenerator(32, width=0.125)
        >>> load_state_dict_checked(G, SNResNetGenerator(32, width=0.125).state_dict())
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        raise KeyError(
            f"{what} does not match {type(model).__name__}: missing keys {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}, unexpected keys {extra[:8]}{' ...' if len(extra) > 8 else ''}"
        )
    for key, ref in expected.items():
        got = state[key]
        if tuple(got.shape) != tuple(ref.shape):
            raise ValueError(
                f"{what}: entry {key!r} has shape {tuple(got.shape)}, expected {tuple(ref.shape)} for {type(model).__name__}"
            )
    model.load_state_dict(dict(state), strict=True)


def power_iteration_in_eval(model: nn.Module, n_iterations: int = 1, layers: Optional[Sequence[str]] = None) -> nn.Module:
    """Makes SN layers of ``model`` run ``n_iterations`` power iterations in eval mode too.

    torch-mimicry's own SN layers (its ``SNLinear`` / ``SNEmbedding`` heads) iterate from the stored
    ``u`` on every forward and store the result only in training mode; a converted model
    reproduces that with this quirk (the vectors are restored after each eval forward, so eval
    never changes a buffer). Recorded in ``config.json`` as ``quirks.sn_eval_power_iterations``.

    Args:
        model: the model (hooks go on it).
        n_iterations: iterations per eval forward.
        layers: names of the SN layers concerned (default: all).

    Returns:
        ``model`` (hooks added).

    Example::

        >>> D = power_iteration_in_eval(SNResNetDiscriminator(32, width=0.125), 1, ["head.linear"])
        >>> u = D.head.linear.weight_u.clone()
        >>> _ = D.eval()(torch.randn(2, 3, 32, 32))
        >>> torch.equal(D.head.linear.weight_u, u)
        True
    """
    from .layers import _normalize, _SpectralNorm

    named = {n: m for n, m in model.named_modules() if isinstance(m, _SpectralNorm)}
    names = list(named) if layers is None else list(layers)
    unknown = [n for n in names if n not in named]
    if unknown:
        raise ValueError(f"power_iteration_in_eval: {unknown} are not SN layers of {type(model).__name__}")
    chosen = [named[n] for n in names]
    saved: list = []

    def before(module: nn.Module, args: Any) -> None:
        if module.training:
            return
        with torch.no_grad():
            for layer in chosen:
                mat = layer._weight_matrix()
                mat = mat if mat.dtype == torch.float64 else mat.float()
                u = layer.weight_u.to(mat.dtype)
                saved.append((layer.weight_u.clone(), layer.weight_v.clone()))
                for _ in range(n_iterations):
                    v = _normalize(mat.mT @ u, layer._sn_eps)
                    u = _normalize(mat @ v, layer._sn_eps)
                layer.weight_u.copy_(u)
                layer.weight_v.copy_(v)

    def after(module: nn.Module, args: Any, output: Any) -> None:
        if saved:
            with torch.no_grad():
                for layer, (u, v) in zip(chosen, saved):
                    layer.weight_u.copy_(u)
                    layer.weight_v.copy_(v)
            saved.clear()

    model.register_forward_pre_hook(before, prepend=True)
    model.register_forward_hook(after)
    model.__dict__["pretrained_quirks"] = {"sn_eval_power_iterations": {"iterations": int(n_iterations), "layers": names}}
    return model


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def save_pretrained(model: Model, directory: Union[str, os.PathLike], source: Optional[Mapping[str, Any]] = None) -> Path:
    """Writes ``model`` (a G, a D, or a :func:`build_gan` result) as ``config.json`` + ``model.safetensors``.

    Args:
        model: an architecture of this library, or a :class:`GANSpec`.
        directory: output folder (created).
        source: optional provenance recorded in the config (e.g. the converted file).

    Returns:
        The folder.

    Example::

        >>> import tempfile
        >>> G = SNResNetGenerator(32, width=0.125)
        >>> folder = save_pretrained(G, tempfile.mkdtemp())
        >>> torch.equal(from_pretrained(folder).dense.weight, G.dense.weight)
        True
    """
    st = _safetensors()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    config: Dict[str, Any] = {"format": FORMAT, "version": 1}
    if isinstance(model, GANSpec):
        config.update(kind="gan", preset=model.preset.name, G=model_config(model.G), D=model_config(model.D),
                      hparams=_to_json(dataclasses.asdict(model.hparams), "hparams"))
        tensors = {f"G.{k}": v for k, v in model.G.state_dict().items()}
        tensors.update({f"D.{k}": v for k, v in model.D.state_dict().items()})
    else:
        config.update(kind="model", model=model_config(model))
        tensors = dict(model.state_dict())
    if source:
        config["source"] = _to_json(dict(source), "source")
    st.save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(out / WEIGHTS_NAME))
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out


def _resolve(path_or_repo: Union[str, os.PathLike], hub_kwargs: Dict[str, Any]) -> Path:
    path = Path(path_or_repo)
    if path.is_dir():
        return path
    text = str(path_or_repo)
    if path.exists() or text.count("/") != 1 or text.startswith((".", "/")):
        raise FileNotFoundError(f"{text!r} is not a pretrained folder (expected a directory with {CONFIG_NAME}) "
                                f"nor a Hub repo id 'owner/name'")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:
        raise ImportError(
            f"loading the Hub repo {text!r} needs huggingface_hub: pip install 'specnorm-gan[hub]'"
        ) from err
    kwargs = dict(allow_patterns=[CONFIG_NAME, WEIGHTS_NAME], **hub_kwargs)
    try:
        return Path(snapshot_download(text, **kwargs))
    except Exception as online_error:  # network down or repo unknown: try the local cache
        kwargs["local_files_only"] = True
        kwargs.pop("endpoint", None)
        try:
            return Path(snapshot_download(text, **kwargs))
        except Exception:
            raise FileNotFoundError(
                f"Hub repo {text!r} could not be downloaded ({type(online_error).__name__}: {online_error}) and is "
                f"not in the local cache{' ' + str(hub_kwargs['cache_dir']) if 'cache_dir' in hub_kwargs else ''}"
            ) from online_error


def from_pretrained(path_or_repo: Union[str, os.PathLike], map_location: Union[str, torch.device] = "cpu",
                    **hub_kwargs: Any) -> Model:
    """Rebuilds the model saved by :func:`save_pretrained` (or written by ``python -m specnorm_gan.convert``).

    Args:
        path_or_repo: a pretrained folder, or a Hugging Face Hub repo id ``"owner/name"`` (extra ``hub``;
            offline, the local cache is used).
        map_location: device of the returned model.
        **hub_kwargs: passed to ``huggingface_hub.snapshot_download`` (``revision``, ``cache_dir``,
            ``endpoint``, ``local_files_only``, ``token``).

    Returns:
        The generator or discriminator, or a :class:`GANSpec` for a saved :func:`build_gan` result.

    Raises:
        FileNotFoundError: no such folder, or a repo neither downloadable nor cached.
        ValueError / KeyError: a config or weights that do not describe this library's model.

    Example::

        >>> import tempfile
        >>> from specnorm_gan import build_gan
        >>> spec = from_pretrained(save_pretrained(build_gan("cifar10-resnet", width=0.125), tempfile.mkdtemp()))
        >>> spec.preset.name, spec.G.resolution
        ('cifar10-resnet', 32)
    """
    st = _safetensors()
    folder = _resolve(path_or_repo, hub_kwargs)
    config_file, weights_file = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for f in (config_file, weights_file):
        if not f.is_file():
            raise FileNotFoundError(f"pretrained folder {folder} has no {f.name}")
    config = json.loads(config_file.read_text())
    if config.get("format") != FORMAT:
        raise ValueError(f"{config_file} is not a specnorm-gan config (format {config.get('format')!r}, expected {FORMAT!r})")
    tensors = st.load_file(str(weights_file), device=str(map_location))
    if config.get("kind") == "gan":
        G, D = build_from_config(config["G"]), build_from_config(config["D"])
        load_state_dict_checked(G, {k[2:]: v for k, v in tensors.items() if k.startswith("G.")}, f"{weights_file} (G)")
        load_state_dict_checked(D, {k[2:]: v for k, v in tensors.items() if k.startswith("D.")}, f"{weights_file} (D)")
        hp = {k: _tuples(v) for k, v in config.get("hparams", {}).items()}
        return GANSpec(G=G.to(map_location), D=D.to(map_location), hparams=TrainHParams(**hp),
                       preset=get_preset(config["preset"]))
    model = build_from_config(config["model"])
    load_state_dict_checked(model, tensors, str(weights_file))
    return model.to(map_location)


def is_pretrained_folder(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` is a folder written by :func:`save_pretrained` (or ``python -m specnorm_gan.convert``).

    Example::

        >>> import tempfile
        >>> is_pretrained_folder(save_pretrained(SNResNetGenerator(32, width=0.125), tempfile.mkdtemp()))
        True
    """
    config = Path(path) / CONFIG_NAME  # a training run folder has a config.json too, of another format
    try:
        return config.is_file() and json.loads(config.read_text()).get("format") == FORMAT
    except (ValueError, OSError, AttributeError):
        return False


def generator_from_path(path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu", ema: bool = True,
                        preset: Optional[str] = None) -> Tuple[nn.Module, bool, Dict[str, Any]]:
    """The generator to sample from, from a pretrained / converted folder or a training checkpoint: ``(G, is_ema, info)``.

    A training checkpoint or run folder goes to :func:`specnorm_gan.training.generator_from_checkpoint` (``info`` is
    its checkpoint dict); a pretrained folder to :func:`from_pretrained` (``G`` of a saved GAN, or the saved G), with
    ``info`` holding ``path``, ``checkpoint``, ``iteration`` (the source's step where recorded, else 0), ``preset``,
    ``arch``, ``width``, ``resolution``, ``num_classes`` and ``generator``. G is in eval mode.

    Args:
        path: a pretrained folder, a checkpoint file or a run folder.
        device: where to put G.
        ema: use the EMA generator of a training checkpoint that has one.
        preset: if given, the folder must hold this preset's model.

    Raises:
        specnorm_gan.training.CheckpointError: unreadable, a discriminator only, or another preset than ``preset``.

    Example::

        >>> import tempfile
        >>> G, is_ema, info = generator_from_path(save_pretrained(SNResNetGenerator(32, width=0.125), tempfile.mkdtemp()))
        >>> info["resolution"], is_ema, G.training
        (32, False, False)
    """
    from .training.errors import CheckpointError

    if not is_pretrained_folder(path):
        from .training import generator_from_checkpoint

        return generator_from_checkpoint(path, device=device, ema=ema)
    try:
        model = from_pretrained(path, map_location=device)
        config = json.loads((Path(path) / CONFIG_NAME).read_text())
    except (ValueError, KeyError, TypeError, FileNotFoundError) as err:
        raise CheckpointError(f"pretrained folder {path}: {err}") from err
    G = model.G if isinstance(model, GANSpec) else model
    if not hasattr(G, "z_dim"):
        raise CheckpointError(f"pretrained folder {path} holds a {type(G).__name__}; sampling needs a generator (or a GAN)")
    source = dict(config.get("source", {}))
    name = model.preset.name if isinstance(model, GANSpec) else source.get("preset")
    if preset is not None and name != preset:
        raise CheckpointError(f"pretrained folder {path} holds a model of preset {name!r}, not {preset!r}")
    step = next((source[k] for k in ("global_step", "step", "iter", "iteration") if isinstance(source.get(k), int)), 0)
    kwargs = (config["G"] if isinstance(model, GANSpec) else config["model"]).get("kwargs", {})
    info = {"path": str(path), "checkpoint": str(path), "iteration": int(step), "preset": name, "arch": type(G).__name__,
            "width": kwargs.get("width", 1.0), "resolution": int(G.resolution), "num_classes": int(G.num_classes),
            "generator": "G"}
    return G.eval(), False, info
