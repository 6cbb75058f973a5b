"""specnorm-gan: spectral-normalization GAN building blocks for PyTorch.

SNGAN (Miyato et al., ICLR 2018) and the projection discriminator (Miyato & Koyama, ICLR 2018), and their
descendants SAGAN and BigGAN:
spectral-norm layers with a fused power iteration, blocks, architectures, presets, losses,
training and evaluation helpers.
"""

from .layers import (
    SNConv1d,
    SNConv2d,
    SNConv3d,
    SNConvTranspose1d,
    SNConvTranspose2d,
    SNConvTranspose3d,
    SNEmbedding,
    SNLinear,
    ema_update_,
    fuse_spectral_norm,
    is_spectral_norm,
    load_torch_spectral_norm_state_dict,
    remove_spectral_norm,
    reset_spectral_norm,
    spectral_norm,
    spectral_norm_all,
    spectral_norms,
)
from . import losses
from .blocks import ConditionalBatchNorm2d, DBlock, GBlock, OptimizedDBlock, ProjectionHead, fold_resampling, init_weights
from .models import (
    SNDCGANDiscriminator,
    SNDCGANGenerator,
    SNResNetDiscriminator,
    SNResNetGenerator,
)
from .presets import GANSpec, Preset, TrainHParams, build_gan, get_preset, list_presets
from . import data, training
from .data import ImageDataset, InMemoryLoader, load_dataset, load_npz, save_npz
from .pretrained import from_pretrained, save_pretrained
from .training import TrainConfig, Trainer, load_checkpoint, models_from_checkpoint, train
from .attention import SNSelfAttention2d
from .biggan import BigGANDiscriminator, BigGANGenerator
from .standing_stats import accumulate_standing_stats
from .truncation import truncated_normal

__version__ = "0.1.0"

__all__ = [
    "SNConv1d",
    "SNConv2d",
    "SNConv3d",
    "SNConvTranspose1d",
    "SNConvTranspose2d",
    "SNConvTranspose3d",
    "SNEmbedding",
    "SNLinear",
    "ema_update_",
    "fuse_spectral_norm",
    "fold_resampling",
    "is_spectral_norm",
    "load_torch_spectral_norm_state_dict",
    "remove_spectral_norm",
    "reset_spectral_norm",
    "spectral_norm",
    "spectral_norm_all",
    "spectral_norms",
    "losses",
    "ConditionalBatchNorm2d",
    "DBlock",
    "GBlock",
    "OptimizedDBlock",
    "ProjectionHead",
    "init_weights",
    "SNDCGANDiscriminator",
    "SNDCGANGenerator",
    "SNResNetDiscriminator",
    "SNResNetGenerator",
    "GANSpec",
    "Preset",
    "TrainHParams",
    "build_gan",
    "get_preset",
    "list_presets",
    "data",
    "training",
    "ImageDataset",
    "InMemoryLoader",
    "load_dataset",
    "load_npz",
    "save_npz",
    "TrainConfig",
    "Trainer",
    "load_checkpoint",
    "models_from_checkpoint",
    "train",
    "save_pretrained",
    "from_pretrained",
    "SNSelfAttention2d",
    "BigGANGenerator",
    "BigGANDiscriminator",
    "accumulate_standing_stats",
    "truncated_normal",
]
