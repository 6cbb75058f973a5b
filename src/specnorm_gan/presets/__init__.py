"""Named presets: published SNGAN / projection-discriminator models with their training settings.

One preset per published configuration of the project reference (``architectures.md``):

* official configs of ``pfnet-research/sngan_projection`` ("CH"): ``cifar10-resnet``,
  ``cifar10-projection``, ``imagenet64-projection``, ``dogcat64-projection``,
  ``imagenet128-projection``, ``imagenet128-concat``, ``dogcat128-projection``, ``dogcat256-projection``;
* the SNGAN paper's tables: ``cifar10-cnn`` (standard CNN, hinge), ``cifar10-cnn-ns``,
  ``cifar10-cnn-a`` ... ``-f`` (optimizer settings A-F), ``stl10-cnn48``, ``stl10-resnet48``, ...;
* other published definitions: ``cifar10-cnn-cgl`` (chainer-gan-lib SN-DCGAN), torch-mimicry's
  and mmgeneration's CIFAR / ImageNet models, the 96 px designs;
* training on little data (DiffAugment, mit-han-lab/data-efficient-gans): ``cifar10-10pct-diffaugment``,
  ``cifar10-20pct-diffaugment`` (``TrainHParams.max_images``: the published training subset) and the
  100-shot image-folder presets ``100shot-64-resnet``, ``100shot-64-cnn``;
* the experiment grids of the seed repositories: ``k2-c0`` ... (koshian2/SNGAN, IDs as in the
  reference's section 5.1), ``ck-*``, ``xy-*``, ``ct-*`` (section 5.2).

:func:`build_gan` turns a preset (or ``arch``/``resolution``/``num_classes``) into a
:class:`GANSpec` holding ``G``, ``D`` and the :class:`TrainHParams` of the publication.
Presets that follow a port's code (``k2-*``, ``ck-*``, ...) use this library's blocks with that
port's topology options (hidden width, first block, plain final dense, BN epsilon, ...), and this
library's correct spectral norm (koshian2's SN never updates ``u``; that bug is not reproduced).


Layout: :mod:`~specnorm_gan.presets.spec` (the records and the registry),
``table_sngan`` / ``table_ports`` / ``table_family`` (the rows, one module per family of sources) and
:mod:`~specnorm_gan.presets.api` (:func:`build_gan`, :func:`get_preset`, :func:`list_presets`). Import
everything from ``specnorm_gan.presets``.
"""

from __future__ import annotations

from .._moved import moved_names_getattr
from .spec import PRESETS, GANSpec, Preset, TrainHParams
from . import table_sngan  # isort: skip  (the rows register themselves on import, in this order)
from . import table_ports  # isort: skip
from . import table_family  # isort: skip
from .api import build_gan, get_preset, list_presets

_TABLES = (table_sngan, table_ports, table_family)

#: The private names of the former single-file ``presets.py``, still readable as ``specnorm_gan.presets.<name>``.
__getattr__ = moved_names_getattr(
    __name__,
    {
        "spec": ("_DISCRIMINATORS", "_GENERATORS", "_add"),
        "table_sngan": (
            "_CH_128", "_CH_64", "_CH_CIFAR", "_K2_96", "_MI", "_MI_D", "_MI_G", "_MM_D", "_MM_G", "_PAPER_RESNET",
            "_SETTINGS", "_SG", "_SG_D", "_SG_G", "_k2_iterations", "_setting"
        ),
        "table_ports": (
            "_CK", "_CK_DATA", "_CT", "_CT_SRC", "_K2_CNN_G", "_K2_RESNET_D", "_K2_SRC", "_POSTACT_G", "_XY",
            "_XY_G", "_XY_SRC", "_k2_g", "_k2_hp"
        ),
        "table_family": (
            "_BG_TTUR", "_DA", "_DA_CIFAR", "_FEW_SHOT_BATCH", "_FEW_SHOT_IMAGES", "_FEW_SHOT_SRC", "_PAPER_G64",
            "_epoch_steps", "_few_shot"
        ),
        "api": (
            "_ARCH_ALIASES", "_DEFAULT_PRESETS", "_HPARAM_FIELDS", "_RESERVED", "_constructor_options",
            "_default_preset"
        ),
    },
)

__all__ = ["TrainHParams", "Preset", "GANSpec", "build_gan", "list_presets", "get_preset", "PRESETS"]
