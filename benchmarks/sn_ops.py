"""Operators that spectral norm adds to one forward of a preset's G and D: fused power iteration vs torch's.

For each network of each preset (default BigGAN-128, the family with the most SN layers): ATen
operators dispatched per train-mode forward (``torch.profiler``, nested and view operators
included, as ``sn_overhead.py`` counts them) of this library's model (fused power iteration), of
the same network with ``torch.nn.utils.parametrizations.spectral_norm`` (``_baselines``: same
weights, ``u`` and ``v``, checked to give the same outputs) and of the network without spectral
norm; the SN part is the total minus the no-SN count. Counts do not depend on the batch and
hardly on the width (the layer list is the same; the fused path packs layers by shape).

    python benchmarks/sn_ops.py                                    # imagenet128-biggan at full width
    python benchmarks/sn_ops.py --presets imagenet128-biggan imagenet128-sagan cifar10-biggan --width 0.25
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import specnorm_gan as sg  # noqa: E402

from _baselines import _inputs, _sn_layers, to_torch_spectral_norm, verify_baseline, without_spectral_norm  # noqa: E402
from _harness import add_threads_arg, apply_threads, env_line, md_table, utc_date  # noqa: E402
from sn_overhead import count_ops  # noqa: E402


class _Call(nn.Module):
    """``model(*args)`` as a one-input module for :func:`sn_overhead.count_ops`."""

    def __init__(self, model: nn.Module, args: Sequence[Any]) -> None:
        super().__init__()
        self.model, self.args = model, tuple(args)

    def forward(self, _: Any) -> Any:
        return self.model(*self.args)


def count_network(model: nn.Module, args: Sequence[Any], is_d: bool, z_dim: int = 0) -> Dict[str, Any]:
    """Operator counts of ``model``, its torch-SN copy and its no-SN copy on ``args`` (train mode)."""
    torch_sn, plain = to_torch_spectral_norm(model), without_spectral_norm(model)
    check = verify_baseline(model, torch_sn, is_d=is_d, z_dim=z_dim)
    ops = {k: count_ops(_Call(m, args), None) for k, m in (("ours", model), ("torch", torch_sn), ("none", plain))}
    return {"layers": len(_sn_layers(model)), "ops": ops, "sn_ours": ops["ours"] - ops["none"],
            "sn_torch": ops["torch"] - ops["none"], "check": check}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["imagenet128-biggan"], help="preset names")
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (default 1: the published widths)")
    parser.add_argument("--batch", type=int, default=2, help="images per forward (default 2)")
    add_threads_arg(parser)
    args = parser.parse_args(argv)
    apply_threads(args)
    rows = []
    for name in args.presets:
        torch.manual_seed(0)
        spec = sg.build_gan(name, width=args.width)
        G, D = spec.G, spec.D
        g = torch.Generator().manual_seed(0)
        y = torch.arange(args.batch) % G.num_classes if G.num_classes else None
        for what, model, call, is_d in (
            ("G", G, (torch.randn(args.batch, G.z_dim, generator=g), y), False),
            ("D", D, _inputs(D, args.batch), True),
        ):
            r = count_network(model, call, is_d, getattr(G, "z_dim", 0))
            rows.append([name, what, r["layers"], r["ops"]["none"], r["ops"]["torch"], r["ops"]["ours"],
                         r["sn_torch"], f"**{r['sn_ours']}**", f"{r['sn_ours'] / r['sn_torch']:.2f}", r["check"]])
            print(f"{name} {what}: {r['layers']} SN layers, SN ops ours {r['sn_ours']} vs torch {r['sn_torch']}", flush=True)
    print()
    print(f"{env_line()}, width {args.width:g}, batch {args.batch}, train-mode forward, {utc_date()}")
    print()
    header = ["preset", "net", "SN layers", "ops no SN", "ops torch SN", "ops ours", "SN ops torch", "SN ops ours",
              "ours / torch", "baseline check"]
    print("\n".join(md_table(header, rows, escape=False)))


if __name__ == "__main__":
    main()
