"""Reporting results: a table in the papers' style, JSON files, and metric curves over training."""

from __future__ import annotations

import json
import os
from typing import Any, List, Mapping, Optional, Sequence, Union

from .protocols import _METRIC_ALIASES

__all__ = ["format_table", "save_results", "plot_metric_curves"]


def format_table(result: Mapping[str, Any], *, digits: int = 2) -> str:
    """A plain-text table of a result, in the papers' style (IS as mean ± std over the splits).

    The header names the protocol and the pipeline (feature extractor, reference, sample counts), so the table
    can be quoted on its own.

    Args:
        result: A dict returned by :meth:`Evaluator.evaluate_generator` / :meth:`Evaluator.evaluate_images`.
        digits: Decimals of IS and FID (KID is shown x 10^3 with 2 more decimals).

    Returns:
        The table as a multi-line string.

    Example:
        >>> print(format_table(result))  # doctest: +SKIP
        protocol: paper | feature extractor: inception-v3-compat | reference: cifar10-train (50000 images)
        metric     value           samples
        IS         8.22 ± 0.05     50000 generated, 10 splits
        FID        21.70           5000 generated vs 10000 reference
    """
    if "protocol" not in result:
        raise ValueError("result has no 'protocol' entry: a number without its protocol is not reported")
    p = result.get("pipeline", {})
    ref = p.get("reference")
    size = p.get("reference_size")
    head = f"protocol: {result['protocol']} | feature extractor: {p.get('feature_extractor', '?')}"
    if ref is not None:
        head += f" | reference: {ref}" + (f" ({size} images)" if size is not None else "")
    if "step" in result:
        head += f" | step {result['step']}"
    rows = [("metric", "value", "samples")]
    if "is_mean" in result:
        rows.append(
            (
                "IS",
                f"{result['is_mean']:.{digits}f} ± {result['is_std']:.{digits}f}",
                f"{p.get('is_samples')} generated, {p.get('is_splits')} splits",
            )
        )
    n_ref = p.get("fid_reference_samples")
    ref_txt = f"{n_ref} reference" if n_ref is not None else "reference statistics"
    if "fid" in result:
        rows.append(("FID", f"{result['fid']:.{digits}f}", f"{p.get('fid_samples')} generated vs {ref_txt}"))
    if "kid_mean" in result:
        rows.append(
            (
                "KID x 1e3",
                f"{1e3 * result['kid_mean']:.{digits + 2}f} ± {1e3 * result['kid_std']:.{digits + 2}f}",
                f"{p.get('fid_samples')} vs {ref_txt}, {p.get('kid_subsets')} subsets of {p.get('kid_subset_size')}",
            )
        )
    if "intra_fid" in result:
        per = result.get("intra_fid_per_class", {})
        rows.append(
            (
                "intra-FID",
                f"{result['intra_fid']:.{digits}f}",
                f"mean of {len(per)} classes, {p.get('intra_fid_samples_per_class')} generated per class "
                "vs all reference images of the class",
            )
        )
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [head] + [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    if "intra_fid_per_class" in result:
        per = result["intra_fid_per_class"]
        lines.append("intra-FID per class: " + ", ".join(f"{c}: {v:.{digits}f}" for c, v in per.items()))
    return "\n".join(lines)


def save_results(
    result: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]], path: Union[str, "os.PathLike[str]"]
) -> None:
    """Write a result (or a list of results, e.g. :attr:`Evaluator.history`) as indented JSON.

    Args:
        result: A result dict or a list of them.
        path: Output ``.json`` file (parent directories are created).

    Example:
        >>> save_results(result, "runs/eval.json")  # doctest: +SKIP
    """
    items = [result] if isinstance(result, Mapping) else list(result)
    for r in items:
        if "protocol" not in r:
            raise ValueError("result has no 'protocol' entry: a number without its protocol is not reported")
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w") as f:
        json.dump(result if isinstance(result, Mapping) else items, f, indent=2, sort_keys=False)
        f.write("\n")


def _load_history(history: Union[Sequence[Mapping[str, Any]], str, "os.PathLike[str]"]) -> List[Mapping[str, Any]]:
    if isinstance(history, (str, os.PathLike)):
        path = os.fspath(history)
        with open(path) as f:
            text = f.read()
        try:
            data = json.loads(text)
            return [data] if isinstance(data, dict) else list(data)
        except json.JSONDecodeError:  # JSON lines
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(history)


def plot_metric_curves(
    history: Union[Sequence[Mapping[str, Any]], str, "os.PathLike[str]"],
    path: Union[str, "os.PathLike[str]"],
    *,
    metrics: Optional[Sequence[str]] = None,
    title: Optional[str] = None,
) -> List[str]:
    """Plot metrics over training (IS with its ± std band; the best FID marked) to a PNG file.

    Needs matplotlib (``pip install specnorm-gan[benchmark]``); it is imported here, with the Agg canvas, so no
    display is needed.

    Args:
        history: Result dicts with a ``step`` entry (e.g. :attr:`Evaluator.history`), or a ``.json`` / JSON-lines
            file of them. Entries without ``step`` or without a metric are skipped for that metric.
        path: Output ``.png`` file.
        metrics: Which to plot, among ``"is"``, ``"fid"``, ``"kid"``, ``"intra_fid"`` (default: all present).
        title: Figure title (default: the protocol name(s)).

    Returns:
        The metrics plotted.

    Example:
        >>> plot_metric_curves(evaluator.history, "runs/metrics.png")  # doctest: +SKIP
        ['is', 'fid']
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            f"plot_metric_curves needs matplotlib: install it with `pip install specnorm-gan[benchmark]` ({e})"
        ) from e
    rows = [r for r in _load_history(history) if "step" in r]
    if not rows:
        raise ValueError("history has no entries with a 'step'; pass step=... when evaluating")
    protocols = sorted({str(r.get("protocol")) for r in rows})
    if len(protocols) > 1:
        raise ValueError(f"history mixes protocols {protocols}; their numbers are not comparable on one curve")
    keys = {"is": "is_mean", "fid": "fid", "kid": "kid_mean", "intra_fid": "intra_fid"}
    labels = {"is": "Inception Score", "fid": "FID", "kid": "KID", "intra_fid": "intra-FID"}
    wanted = list(metrics) if metrics is not None else [k for k in keys if any(keys[k] in r for r in rows)]
    wanted = [_METRIC_ALIASES.get(k.lower(), k) for k in wanted]
    bad = [k for k in wanted if k not in keys]
    if bad:
        raise ValueError(f"unknown metrics {bad}; expected some of {list(keys)}")
    if not wanted:
        raise ValueError("history holds none of the metrics is, fid, kid, intra_fid")
    fig = Figure(figsize=(4.5 * len(wanted), 3.4))
    FigureCanvasAgg(fig)
    for i, k in enumerate(wanted):
        ax = fig.add_subplot(1, len(wanted), i + 1)
        pts = sorted((r["step"], r[keys[k]], r.get(keys[k].replace("_mean", "_std"))) for r in rows if keys[k] in r)
        if not pts:
            raise ValueError(f"no history entry holds {keys[k]!r}")
        steps = [p[0] for p in pts]
        vals = [p[1] for p in pts]
        ax.plot(steps, vals, marker="o", markersize=3)
        if k in ("is", "kid") and all(p[2] is not None for p in pts):
            lo = [v - p[2] for v, p in zip(vals, pts)]
            hi = [v + p[2] for v, p in zip(vals, pts)]
            ax.fill_between(steps, lo, hi, alpha=0.25)
        best = (max if k == "is" else min)(range(len(vals)), key=lambda j: vals[j])
        ax.scatter([steps[best]], [vals[best]], color="red", zorder=3, label=f"best {vals[best]:.3g} @ {steps[best]}")
        ax.legend(fontsize=7)
        ax.set_xlabel("step")
        ax.set_ylabel(labels[k])
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"protocol: {', '.join(protocols)}")
    fig.tight_layout()
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(path, dpi=100)
    return wanted
