"""Spectral norm under DistributedDataParallel: 2 CPU processes, gloo backend."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import specnorm_gan as sg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)  # different initial u/v per rank: DDP must make them identical
        d = sg.fuse_spectral_norm(nn.Sequential(sg.SNConv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), sg.SNLinear(8 * 16, 1)))
        ddp = nn.parallel.DistributedDataParallel(d, broadcast_buffers=True)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
        gen = torch.Generator().manual_seed(100 + rank)  # different data per rank
        for _ in range(3):
            opt.zero_grad()
            ddp(torch.randn(4, 3, 4, 4, generator=gen)).square().mean().backward()
            opt.step()
        torch.save({k: v.clone() for k, v in d.state_dict().items()}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_ranks_hold_identical_u_v_and_weights(tmp_path) -> None:
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert any(k.endswith("weight_u") for k in s0)
    for k in s0:
        assert torch.equal(s0[k], s1[k]), k
