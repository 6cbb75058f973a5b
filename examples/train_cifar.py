#!/usr/bin/env python
"""Train SNGAN on CIFAR-10: the official ResNet setup of Miyato et al. (ICLR 2018).

    python examples/train_cifar.py --data ~/data                 # torchvision root (cifar-10-batches-py inside)
    python examples/train_cifar.py --data cifar10_train.npz      # or an .npz of uint8 NHWC images + labels
    python examples/train_cifar.py --data ~/data --download      # fetch CIFAR-10 first (needs internet)
    python examples/train_cifar.py --data ~/data --conditional   # cBN G + projection D (10 classes)
    python examples/train_cifar.py --data ~/data --width 0.25 --iterations 2000   # a CPU-sized run

Defaults are the official config (pfnet-research/sngan_projection configs/sn_cifar10*.yml): ResNet
G (256 channels) and SN-ResNet D (128), hinge loss, Adam 2e-4 (0, 0.9), 5 D steps per G step, D batch
64, G batch 128, 50,000 G updates with a linear learning-rate decay to 0. Every flag of
examples/train.py works here too (``--help``); samples, metrics and checkpoints go to runs/cifar10.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train import main  # noqa: E402

DEFAULTS = {"preset": "cifar10-resnet", "dataset": "cifar10", "data": "data", "out": "runs/cifar10"}

if __name__ == "__main__":
    sys.exit(main(defaults=DEFAULTS, prog="train_cifar.py", description=__doc__))
