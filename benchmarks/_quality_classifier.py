"""The evaluation classifier of ``benchmarks/quality_images.py``: its configurations, network and training.

A small plain-torch CNN (:class:`SmallCNN`), trained seeded on one CPU thread by
:func:`train_classifier` with random crops and flips (:func:`_augment`) where the configuration
asks for them; :func:`predict` gives its pooled features and logits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from specnorm_gan.data import to_float_images

NUM_CLASSES = 10


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture and training schedule of the evaluation classifier (part of the cache key)."""

    dataset: str
    channels: int
    width: int = 32  # stage widths (w, 2w, 4w); features = 4w after global average pooling
    convs_per_stage: int = 1
    epochs: int = 2
    batch_size: int = 128
    lr: float = 0.05  # SGD, Nesterov momentum 0.9, linear warm-up (first 5% of steps) then linear decay to 0
    weight_decay: float = 5e-4
    augment: bool = False  # random 4-px-padded crops and horizontal flips
    seed: int = 0


CLASSIFIER_CONFIGS: Dict[str, ClassifierConfig] = {
    "mnist": ClassifierConfig("mnist", channels=1, width=32, convs_per_stage=1, epochs=2),
    "cifar10": ClassifierConfig("cifar10", channels=3, width=32, convs_per_stage=2, epochs=4, augment=True),
}


class SmallCNN(nn.Module):
    """Three stages of ``convs_per_stage`` x (3x3 conv, BN, ReLU) + 2x2 max-pool, global average pool, linear.

    ``features(x)`` returns the ``4 * width``-dimensional pooled features (the penultimate layer).
    """

    def __init__(self, channels: int, width: int, convs_per_stage: int, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        layers: List[nn.Module] = []
        c_in = channels
        for stage in range(3):
            c_out = width * 2**stage
            for _ in range(convs_per_stage):
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
                c_in = c_out
            layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)
        self.feature_dim = c_in

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


# ----------------------------------------------------------------------------------------------------------
# data


def _augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random crops from the 4-px zero-padded image ([-1, 1] images: pad with -1 = black) and horizontal flips."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4), value=-1.0)
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    rows = (dy.view(n, 1) + torch.arange(h).view(1, h)).view(n, 1, h, 1).expand(n, x.shape[1], h, w + 8)
    out = padded.gather(2, rows)
    cols = (dx.view(n, 1) + torch.arange(w).view(1, w)).view(n, 1, 1, w).expand(n, x.shape[1], h, w)
    out = out.gather(3, cols)
    flip = torch.rand(n, generator=gen) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), out.flip(3), out)


# ----------------------------------------------------------------------------------------------------------
# classifier

@torch.no_grad()
def predict(model: SmallCNN, images_u8: Tensor, batch_size: int = 500) -> Tuple[Tensor, Tensor]:
    """(features (N, D) float64, logits (N, 10)) of uint8 images, model in eval mode."""
    model.eval()
    feats, logits = [], []
    for i in range(0, images_u8.shape[0], batch_size):
        f = model.features(to_float_images(images_u8[i : i + batch_size]))
        feats.append(f.double())
        logits.append(model.head(f))
    return torch.cat(feats), torch.cat(logits)


def train_classifier(cfg: ClassifierConfig, x_train: Tensor, y_train: Tensor, log: Any = print) -> SmallCNN:
    """Trains the classifier (deterministic: seeded init, seeded shuffling and augmentation, one thread)."""
    torch.manual_seed(cfg.seed)
    model = SmallCNN(cfg.channels, cfg.width, cfg.convs_per_stage)
    gen = torch.Generator().manual_seed(cfg.seed)
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.dim() == 1 else decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=cfg.lr, momentum=0.9, nesterov=True)
    n = x_train.shape[0]
    steps_per_epoch = n // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    warm = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / (total - warm)))
    model.train()
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        correct = seen = 0
        loss_sum = torch.zeros(())
        for s in range(steps_per_epoch):
            idx = perm[s * cfg.batch_size : (s + 1) * cfg.batch_size]
            x = to_float_images(x_train[idx])
            if cfg.augment:
                x = _augment(x, gen)
            y = y_train[idx]
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach()
            correct += int((out.argmax(1) == y).sum())
            seen += y.numel()
        log(f"  classifier epoch {epoch + 1}/{cfg.epochs}: loss {float(loss_sum) / steps_per_epoch:.4f}, "
            f"train acc {correct / seen:.4f}, {time.perf_counter() - t0:.0f} s")
    return model.eval()
