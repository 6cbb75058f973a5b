"""Several processes (``torchrun``): process-group setup, DDP wrapping, the stop vote, replica checks."""

from __future__ import annotations

import hashlib
import inspect
import os
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["init_distributed"]


def init_distributed(device: str = "auto") -> Tuple[int, int]:
    """Initialises ``torch.distributed`` from ``torchrun``'s environment (no-op for one process).

    NCCL when training on CUDA, gloo otherwise. Returns ``(rank, world_size)``.

    Example::

        >>> init_distributed("cpu")  # outside torchrun
        (0, 1)
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and (device == "auto" or str(device).startswith("cuda"))
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


class _StopVote:
    """Agrees across ranks on "stop now" without stalling the device.

    Each iteration every rank contributes its local flag to an asynchronous MAX all-reduce on a
    CPU (gloo) group and reads the result of the previous iteration's reduce, so every rank
    decides at the same iteration. Single process: the local flag directly.
    """

    def __init__(self, group: Any) -> None:
        self.group = group
        self.work: Any = None
        self.buf: Optional[Tensor] = None

    def poll(self, local: bool) -> bool:
        if self.group is None:
            return local
        decided = False
        if self.work is not None:
            self.work.wait()
            decided = bool(int(self.buf[0]) > 0)  # CPU tensor: no device synchronisation
        self.buf = torch.tensor([1 if local else 0], dtype=torch.int32)
        self.work = dist.all_reduce(self.buf, op=dist.ReduceOp.MAX, group=self.group, async_op=True)
        return decided

    def finish(self) -> None:
        if self.work is not None:
            self.work.wait()
            self.work = None




def _process_info() -> Tuple[bool, int, int]:
    """``(distributed, rank, world_size)`` of this process."""
    distributed = dist.is_available() and dist.is_initialized()
    return distributed, (dist.get_rank() if distributed else 0), (dist.get_world_size() if distributed else 1)


def _wrap(G: nn.Module, D: nn.Module, device: torch.device, distributed: bool) -> Tuple[nn.Module, nn.Module, Any]:
    """``(G_ddp, D_ddp, control group)``: DDP wrappers and a gloo group for host-side votes, or the models and None."""
    if not distributed:
        return G, D, None
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    # broadcast_buffers=True: rank 0's SN u/v (and BN statistics) are sent to every rank at
    # each forward, so all ranks use the same sigma (trap 3 of the reference notes). Newer
    # torch spells it forward_sync_buffers.
    sync = (
        {"forward_sync_buffers": True}
        if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
        else {"broadcast_buffers": True}
    )
    return DDP(G, device_ids=ids, **sync), DDP(D, device_ids=ids, **sync), dist.new_group(backend="gloo")


def _replica_mismatches(G: nn.Module, D: nn.Module, group: Any, world_size: int) -> List[str]:
    """Names of G/D parameters and D buffers whose bytes differ between ranks (collective)."""
    if group is None:
        return []
    digests: Dict[str, str] = {}
    named = [("G." + n, t) for n, t in G.named_parameters()]
    named += [("D." + n, t) for n, t in D.named_parameters()]
    named += [("D." + n, t) for n, t in D.named_buffers()]
    for name, t in named:
        data = t.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy()
        digests[name] = hashlib.sha1(data.tobytes()).hexdigest()
    everyone: List[Any] = [None] * world_size
    dist.all_gather_object(everyone, digests, group=group)
    return sorted(k for k in digests if any(other.get(k) != digests[k] for other in everyone))


def _first_bad_iteration(bad_local: int, group: Any) -> int:
    """The smallest non-finite iteration over ranks (0: none), agreed on the control group."""
    if group is None:
        return bad_local
    t = torch.tensor([bad_local if bad_local else 2**62], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MIN, group=group)
    return int(t[0]) if int(t[0]) < 2**62 else 0


def _gather_noise_states(state: Tensor, group: Any, world_size: int) -> List[Any]:
    """Every rank's noise-generator state (collective), or this rank's alone without a group."""
    if group is None:
        return [state.cpu()]
    states: List[Any] = [None] * world_size
    dist.all_gather_object(states, state.cpu(), group=group)
    return states
