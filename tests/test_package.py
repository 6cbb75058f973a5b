"""Packaging: the core imports only torch, numpy and typing-extensions."""

from __future__ import annotations

import json
import subprocess
import sys

OPTIONAL = ("torchvision", "PIL", "tqdm", "tensorboard", "torch_fidelity", "scipy", "matplotlib", "mkdocs")


def test_import_pulls_no_optional_dependency() -> None:
    # Whatever torch itself imports (it may import tqdm when installed) is the baseline; importing
    # specnorm_gan on top of the core dependencies must add only specnorm_gan's own modules.
    code = (
        "import sys, json; import torch, numpy, typing_extensions; before = set(sys.modules); "
        "import specnorm_gan; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    added = json.loads(out.strip().splitlines()[-1])
    assert added and all(m == "specnorm_gan" or m.startswith("specnorm_gan.") for m in added), added
    assert not {m.split(".")[0] for m in added} & set(OPTIONAL)


def test_declared_core_dependencies() -> None:
    from importlib.metadata import requires

    reqs = [r for r in requires("specnorm-gan") or [] if "extra ==" not in r]
    names = sorted(r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in reqs)
    assert names == ["numpy", "torch", "typing-extensions"]


def test_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("specnorm_gan").joinpath("py.typed").is_file()


def test_readme_python_examples_run() -> None:
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, str(readme), "exec"), namespace)
    assert namespace["logits"].shape == (8, 1)  # the last block's discriminator output


def test_every_exported_name_resolves() -> None:
    # Each listed name must be importable (``from specnorm_gan import *`` fails on a missing one), and
    # the top level re-exports every public name of specnorm_gan.layers (the two lists are kept by hand).
    import importlib

    for name in ("specnorm_gan", "specnorm_gan.layers", "specnorm_gan.data"):
        module = importlib.import_module(name)
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
    import specnorm_gan

    assert set(specnorm_gan.layers.__all__) <= set(specnorm_gan.__all__)


# Every module-level name of the former single-file models.py and blocks.py (their __all__ aside).
_OLD_NAMES = {
    "specnorm_gan.models": (
        "InitArg ResNetGeneratorArch ResNetDiscriminatorArch DCGANGeneratorArch DCGANDiscriminatorArch _UP3 _RG _RD _DG "
        "_DD RESNET_G_ARCHS RESNET_D_ARCHS _PAPER_D _CGL_D DCGAN_G_ARCHS DCGAN_D_ARCHS _scale _check_width "
        "_check_num_classes _override_channels _lookup _model_device _model_dtype _disable_inner_label_checks "
        "_input_check_hook _finish_init _RecordsConfig _GeneratorMixin _DiscriminatorMixin SNResNetGenerator "
        "SNResNetDiscriminator SNDCGANGenerator SNDCGANDiscriminator"
    ),
    "specnorm_gan.blocks": (
        "CHAINER_BN_EPS INIT_SCHEMES _activation _activation_ _check_slope _check_channels _check_choice _check_labels "
        "_upsample _BilinearUpsample2x _conv _is_plain_conv3x3 _layer_weight _pair_sum_kernel _conv3x3_avgpool "
        "_upsample_conv3x3 _conv3x3_few_outputs _tap_slices _ShiftedTapSum fold_resampling ConditionalBatchNorm2d "
        "ProjectionHead GBlock DBlock OptimizedDBlock _WEIGHTED init_weights _apply_init"
    ),
}


def test_names_of_the_former_models_and_blocks_modules_resolve() -> None:
    # models.py and blocks.py became packages: each old name stays readable from the package, and an
    # old pickle's reference ``specnorm_gan.models <name>`` (a model pickled whole refers to its classes
    # and to the input-check hook) loads the object that the package's submodule defines.
    import importlib
    import inspect
    import pickle

    for name, old in _OLD_NAMES.items():
        module = importlib.import_module(name)
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
        for attr in old.split():
            loaded = pickle.loads(f"c{name}\n{attr}\n.".encode())  # protocol 0 GLOBAL: what an old pickle holds
            assert loaded is getattr(module, attr), (name, attr)
            if inspect.isclass(loaded) or inspect.isfunction(loaded):
                assert loaded.__module__.startswith(name + "."), (name, attr, loaded.__module__)
