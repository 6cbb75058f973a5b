"""Shared helpers of the converter tests: non-trivial weights and statistics for fixture models."""

import torch


def randomize(model, gen, exact=("embed0", "weight_embedding")):  # type: ignore[no-untyped-def]
    """Random parameters (embeddings smaller) and BN statistics; parameters whose name contains one of
    ``exact`` are rounded to multiples of 2^-10, so ``1 + w`` is exact in float32 and float64 alike."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.1 if "embed" in name else 0.3))
            if any(e in name for e in exact):
                p.copy_(torch.round(p * 1024) / 1024)
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)
