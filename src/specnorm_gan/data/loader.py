"""The batch stream: shuffled batches of an :class:`ImageDataset` drawn by index tensors."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import torch
from torch import Tensor

from .dataset import ImageDataset


def _epoch_seed(seed: int, epoch: int) -> int:
    # A fixed mixing of (seed, epoch) into a 63-bit seed: the permutation of an epoch is a pure
    # function of the two, so the stream's state is just (epoch, position).
    return (int(seed) * 0x9E3779B97F4A7C15 + int(epoch) * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % (2**63)


class InMemoryLoader:
    """Shuffled batches from an :class:`ImageDataset`, drawn by index tensors.

    Each epoch is a random permutation of the dataset (a pure function of ``seed`` and the epoch
    number); batches are consecutive slices of the concatenated permutations, so a batch may span two
    epochs and no image is dropped. Drawing a batch is one ``index_select`` on the device holding the
    images -- no Python loop over images, no host-device synchronisation (the permutation is made on
    the CPU once per epoch and copied to the device).

    Distributed training: every rank runs the same global stream of ``batch_size * world_size``
    indices and keeps its own contiguous slice (the in-memory analogue of ``DistributedSampler``),
    so ranks see disjoint images and the state is the same on every rank.

    Args:
        dataset: the images (on any device).
        batch_size: images per batch on this rank.
        device: where batches are returned; None: the dataset's device. When the dataset is on the
            CPU and ``device`` is CUDA, batches are gathered on the CPU and copied asynchronously
            from pinned memory (use :meth:`ImageDataset.to` first to keep everything on the GPU).
        seed: shuffling seed.
        rank, world_size: the process's slot in distributed training.
        shuffle: ``False`` streams the images in order (for evaluation).

    Example::

        >>> ds = ImageDataset(torch.zeros(100, 3, 8, 8, dtype=torch.uint8), torch.arange(100) % 10)
        >>> loader = InMemoryLoader(ds, batch_size=16, seed=0)
        >>> x, y = loader.next_batch()
        >>> x.shape, x.dtype, y.shape
        (torch.Size([16, 3, 8, 8]), torch.uint8, torch.Size([16]))
    """

    def __init__(
        self,
        dataset: ImageDataset,
        batch_size: int,
        *,
        device: Optional[Union[str, torch.device]] = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else dataset.device
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0
        self.position = 0  # into the current epoch's permutation (global stream)
        self._perm: Optional[Tensor] = None
        self._perm_epoch = -1

    def __len__(self) -> int:
        """Batches per epoch (rounded up)."""
        return math.ceil(len(self.dataset) / (self.batch_size * self.world_size))

    def _permutation(self, epoch: int) -> Tensor:
        if self._perm_epoch != epoch or self._perm is None:
            n = len(self.dataset)
            if self.shuffle:
                g = torch.Generator().manual_seed(_epoch_seed(self.seed, epoch))
                perm = torch.randperm(n, generator=g)
            else:
                perm = torch.arange(n)
            self._perm = perm.to(self.dataset.device, non_blocking=True)
            self._perm_epoch = epoch
        return self._perm

    def next_indices(self) -> Tensor:
        """Indices (into the dataset, on the dataset's device) of this rank's next batch."""
        n = len(self.dataset)
        total = self.batch_size * self.world_size
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        if self.position + total <= n:  # the common case: one slice
            idx = self._permutation(self.epoch)[self.position + lo : self.position + hi]
            self.position += total
            if self.position == n:
                self.epoch, self.position = self.epoch + 1, 0
            return idx
        pieces: List[Tensor] = []
        need = total
        while need > 0:
            take = min(need, n - self.position)
            pieces.append(self._permutation(self.epoch)[self.position : self.position + take])
            need -= take
            self.position += take
            if self.position == n:
                self.epoch, self.position = self.epoch + 1, 0
        return torch.cat(pieces)[lo:hi]

    def next_batch(self) -> Tuple[Tensor, Optional[Tensor]]:
        """Returns this rank's next ``(images uint8 (B, C, H, W), labels int64 (B,) or None)`` on :attr:`device`."""
        idx = self.next_indices()
        x = self.dataset.images.index_select(0, idx)
        y = self.dataset.labels.index_select(0, idx) if self.dataset.labels is not None else None
        if x.device != self.device:
            if self.device.type == "cuda":
                x = x.pin_memory()
                y = y.pin_memory() if y is not None else None
            x = x.to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True) if y is not None else None
        return x, y

    def __iter__(self) -> Iterator[Tuple[Tensor, Optional[Tensor]]]:
        while True:
            yield self.next_batch()

    def state_dict(self) -> Dict[str, Any]:
        """The stream position (plain ints), for checkpoints."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "seed": self.seed,
            "num_images": len(self.dataset),
            "global_batch_size": self.batch_size * self.world_size,
            "shuffle": self.shuffle,
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restores :meth:`state_dict`; the dataset size must match."""
        if int(state["num_images"]) != len(self.dataset):
            raise ValueError(
                f"data stream state is for a dataset of {state['num_images']} images, this one has {len(self.dataset)}"
            )
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self.seed = int(state["seed"])
        self.shuffle = bool(state.get("shuffle", True))
        if not 0 <= self.position < len(self.dataset):
            raise ValueError(f"data stream position {self.position} out of range")
        self._perm, self._perm_epoch = None, -1
