"""SNGAN and projection-discriminator architectures, driven by architecture tables.

Every published design is one row of a table below (:data:`RESNET_G_ARCHS`,
:data:`RESNET_D_ARCHS`, :data:`DCGAN_G_ARCHS`, :data:`DCGAN_D_ARCHS`); a new resolution or
variant is a new row, not a new class. Sources (see ``architectures.md`` of the project
reference): the official Chainer code ``pfnet-research/sngan_projection`` (``gen_models/resnet*.py``,
``dis_models/snresnet*.py``), the SNGAN paper's "standard CNN" (Table 3), PFN's
``chainer-gan-lib`` SN-DCGAN, torch-mimicry's 48 px SNGAN, and the seed repositories whose
experiment grids the presets re-create (``koshian2/SNGAN``, ``ChenKaiXuSan/SNGAN_projection-PyTorch``,
``xyfJASON/GANs-Implementations``, ``ctjoy/deep-learning-project``).

Conventions shared by all architectures:

* ``G(z, y=None)`` returns images ``(N, C, R, R)`` in ``[-1, 1]`` (tanh); ``G.z_dim``,
  ``G.num_classes`` (0 = unconditional), ``G.resolution``, ``G.out_channels``;
  ``G.sample(n, y=None, generator=None)``.
* ``D(x, y=None)`` returns logits ``(N,)``; ``D.num_classes``, ``D.resolution``, ``D.in_channels``.
* Conditioning: class-conditional BN in G, projection (or concatenation) in D.
* Bad input (wrong image size or channels, missing or superfluous ``y``, class index out of
  range, wrong ``z`` width) raises ``ValueError`` naming the expected value. The checks run in a
  forward pre-hook registered before the fused spectral-norm hook, so on CPU nothing is computed
  (no power iteration, no BN statistics update) before the error; on accelerators the class-range
  check is an asynchronous device assert and never synchronizes the host.
* ``width`` multiplies every channel count (e.g. 0.25 for CPU-scale experiments).
* Constructors initialize the weights (``init``), re-warm the spectral norms and fuse their power
  iterations (:func:`specnorm_gan.fuse_spectral_norm`).

One job a module: :mod:`~specnorm_gan.models.archs` (the design tables and their record types),
:mod:`~specnorm_gan.models.resnet` (:class:`SNResNetGenerator`, :class:`SNResNetDiscriminator`),
:mod:`~specnorm_gan.models.dcgan` (:class:`SNDCGANGenerator`, :class:`SNDCGANDiscriminator`),
:mod:`~specnorm_gan.models.base` (the generator and discriminator base classes: recorded constructor
arguments, input checks, sampling) and :mod:`~specnorm_gan.models.common` (argument checks, the
input-check hook, the end of every ``__init__``). Import everything from ``specnorm_gan.models``
(or ``specnorm_gan``).
"""

from __future__ import annotations

from .._moved import moved_names_getattr
from .archs import DCGAN_D_ARCHS, DCGAN_G_ARCHS, RESNET_D_ARCHS, RESNET_G_ARCHS
from .archs import DCGANDiscriminatorArch, DCGANGeneratorArch, ResNetDiscriminatorArch, ResNetGeneratorArch
from .dcgan import SNDCGANDiscriminator, SNDCGANGenerator
from .resnet import SNResNetDiscriminator, SNResNetGenerator

__all__ = [
    "ResNetGeneratorArch",
    "ResNetDiscriminatorArch",
    "DCGANGeneratorArch",
    "DCGANDiscriminatorArch",
    "RESNET_G_ARCHS",
    "RESNET_D_ARCHS",
    "DCGAN_G_ARCHS",
    "DCGAN_D_ARCHS",
    "SNResNetGenerator",
    "SNResNetDiscriminator",
    "SNDCGANGenerator",
    "SNDCGANDiscriminator",
]

#: Where the other names of the former single-file ``models.py`` live now. They stay readable as
#: ``specnorm_gan.models.<name>`` (the BigGAN models import some; pickled models refer to
#: ``_input_check_hook``); code that patches one must patch it in its submodule.
__getattr__ = moved_names_getattr(
    __name__,
    {
        "archs": ("_UP3", "_RG", "_RD", "_DG", "_DD", "_PAPER_D", "_CGL_D"),
        "common": (
            "InitArg", "_scale", "_check_width", "_check_num_classes", "_override_channels", "_lookup", "_model_device",
            "_model_dtype", "_disable_inner_label_checks", "_input_check_hook", "_finish_init",
        ),
        "base": ("_RecordsConfig", "_GeneratorMixin", "_DiscriminatorMixin"),
    },
)
