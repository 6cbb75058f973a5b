"""Building blocks of SNGAN and projection-discriminator architectures.

Default semantics follow the official Chainer code of both papers (``pfnet-research/sngan_projection``,
``gen_models/resblocks.py``, ``dis_models/resblocks.py``):

* :class:`GBlock`: ``BN/cBN -> ReLU -> 2x nearest upsample -> conv3x3 -> BN/cBN -> ReLU -> conv3x3``;
  shortcut ``upsample -> conv1x1`` whenever the shape changes (``in != out`` or upsampling).
* :class:`DBlock`: ``ReLU -> conv3x3 (in -> in) -> ReLU -> conv3x3 (in -> out) -> 2x2 avg pool``;
  shortcut ``conv1x1 -> avg pool`` whenever the shape changes, identity otherwise.
* :class:`OptimizedDBlock` (the first discriminator block): ``conv3x3 -> ReLU -> conv3x3 -> avg pool``;
  shortcut ``avg pool -> conv1x1``; no activation on the raw image.

No activation on a block's input is in place, so a block never modifies its input (an in-place
ReLU at a discriminator block input silently feeds ``ReLU(x)`` to the shortcut, a bug of two
popular ports); activations of fresh BN or convolution outputs are. By default the blocks fold
each resampling step into its 3x3 convolution (see :func:`fold_resampling`): the same function
with fewer operations.
The variants SNGAN users compare are options: post-activation blocks, hidden width ``out`` instead
of ``in`` (StudioGAN, mmgeneration), bilinear upsampling (torch-mimicry), LeakyReLU slopes, the BN
epsilon of each port, identity shortcuts.

:func:`init_weights` applies the official initialization (Glorot-uniform, gain sqrt(2) on the 3x3
convolutions of every residual block, gain 1 elsewhere, zero biases) or another scheme.

One job a module: :mod:`~specnorm_gan.blocks.common` (activations, argument and label checks),
:mod:`~specnorm_gan.blocks.resampling` (upsampling and resampling folded into convolutions),
:mod:`~specnorm_gan.blocks.conditional` (:class:`ConditionalBatchNorm2d`, :class:`ProjectionHead`),
:mod:`~specnorm_gan.blocks.gblock` (:class:`GBlock`), :mod:`~specnorm_gan.blocks.dblock`
(:class:`DBlock`, :class:`OptimizedDBlock`) and :mod:`~specnorm_gan.blocks.model_setup`
(:func:`init_weights`, :func:`fold_resampling`). Import everything from ``specnorm_gan.blocks``
(or ``specnorm_gan``).
"""

from __future__ import annotations

from .._moved import moved_names_getattr
from .conditional import ConditionalBatchNorm2d, ProjectionHead
from .dblock import DBlock, OptimizedDBlock
from .gblock import GBlock
from .model_setup import INIT_SCHEMES, fold_resampling, init_weights

__all__ = [  # in the order of the API page
    "ConditionalBatchNorm2d",
    "ProjectionHead",
    "GBlock",
    "DBlock",
    "OptimizedDBlock",
    "fold_resampling",
    "init_weights",
    "INIT_SCHEMES",
]

#: Where the other names of the former single-file ``blocks.py`` live now. They stay readable as
#: ``specnorm_gan.blocks.<name>`` (the architectures, tests and benchmarks import some); code that
#: patches one must patch it in its submodule.
__getattr__ = moved_names_getattr(
    __name__,
    {
        "common": (
            "CHAINER_BN_EPS", "_activation", "_activation_", "_check_slope", "_check_channels", "_check_choice",
            "_check_labels", "_conv",
        ),
        "resampling": (
            "_upsample", "_BilinearUpsample2x", "_is_plain_conv3x3", "_layer_weight", "_pair_sum_kernel",
            "_conv3x3_avgpool", "_upsample_conv3x3", "_conv3x3_few_outputs", "_tap_slices", "_ShiftedTapSum",
        ),
        "model_setup": ("_WEIGHTED", "_apply_init"),
    },
)
