"""Periodic evaluation during training (``eval_every``): IS/FID of G with :mod:`specnorm_gan.metrics`,
``eval.csv`` / ``eval.jsonl`` / ``eval_curves.png``, and the best-FID checkpoint."""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional

from .checkpoint import _atomic_torch_save
from .rng import _rng_state, _set_rng_state
from .state import _trainer_state

if TYPE_CHECKING:
    from .trainer import Trainer

logger = logging.getLogger("specnorm_gan.training")

# Columns of eval.csv taken from the evaluator's result (empty when a metric is not evaluated).
_EVAL_COLUMNS = ("is_mean", "is_std", "fid", "kid_mean", "kid_std", "intra_fid")


def _eval_key(result: Dict[str, Any]) -> str:
    # What an evaluation was measured with: results are comparable only under equal keys.
    pipeline = result["pipeline"]
    return f"{result['protocol']} | {pipeline['feature_extractor']} | {pipeline['reference']}"



# ------------------------------------------------------------------ evaluation
def _build_evaluator(trainer: "Trainer") -> Any:
    """The periodic evaluator (``specnorm_gan.metrics``, imported here: it is an optional extra)."""
    from .. import metrics  # imports no optional package itself

    cfg = trainer.config
    reference: Any = cfg.eval_reference if cfg.eval_reference is not None else trainer.data
    try:
        evaluator = metrics.Evaluator(
            reference,
            metrics=tuple(cfg.eval_metrics),
            protocol=cfg.eval_protocol,
            feature_extractor=cfg.eval_feature_extractor or metrics.DEFAULT_FEATURE_EXTRACTOR,
            inception_weights=cfg.inception_weights,
            device=trainer.device,
            batch_size=max(trainer.g_batch_size, trainer.batch_size),
            seed=cfg.seed,
        )
    except ImportError as e:
        raise ImportError(
            f"eval_every={cfg.eval_every} (--eval-every) evaluates G with torch-fidelity: install the metrics "
            f"extra with `pip install specnorm-gan[metrics]`, or set eval_every=0 ({e})"
        ) from e
    ref, n_ref = evaluator.reference, evaluator.protocol.fid_reference_samples
    uses_ref = any(k in evaluator.metrics for k in ("fid", "kid"))
    if uses_ref and ref is not None and ref.kind == "array" and n_ref is not None and len(ref) < n_ref:
        raise ValueError(
            f"eval_protocol {cfg.eval_protocol!r} compares with {n_ref} reference images but the reference "
            f"{ref.name!r} has {len(ref)}; use eval_protocol='50k' (the whole reference set) or a larger eval_reference"
        )
    if "intra_fid" in evaluator.metrics and (not trainer.num_classes or cfg.eval_samples // trainer.num_classes < 2):
        raise ValueError(
            f"eval_metrics intra_fid needs a conditional model and eval_samples >= 2 per class "
            f"(num_classes={trainer.num_classes}, eval_samples={cfg.eval_samples})"
        )
    return evaluator

def _evaluate(trainer: "Trainer") -> Optional[Dict[str, Any]]:
    """The periodic evaluation (:meth:`Trainer.evaluate`)."""
    if trainer.evaluator is None:
        return None
    cfg = trainer.config
    G = trainer.G_ema if trainer.G_ema is not None else trainer.G  # the raw module, never the DDP wrapper
    kw: Dict[str, Any] = {}
    if "intra_fid" in trainer.evaluator.metrics:
        kw["intra_fid_samples_per_class"] = cfg.eval_samples // trainer.num_classes
    start = time.perf_counter()
    rng = _rng_state()
    try:
        result = trainer.evaluator.evaluate_generator(G, num_samples=cfg.eval_samples, step=trainer.iteration, **kw)
    finally:
        _set_rng_state(rng)
    seconds = time.perf_counter() - start
    trainer._log.last_time += seconds  # it/s measures training only
    pipeline = result["pipeline"]
    key = _eval_key(result)
    improved = False
    if "fid" in result:
        if trainer.best_fid is not None and trainer.best_fid.get("key") != key:
            logger.info("eval: best FID so far was measured with %s; starting anew with %s", trainer.best_fid.get("key"), key)
            trainer.best_fid = None
        if trainer.best_fid is None or result["fid"] < trainer.best_fid["fid"]:
            trainer.best_fid = {"fid": float(result["fid"]), "iteration": trainer.iteration, "key": key}
            improved = True
    columns = {k: result.get(k, "") for k in _EVAL_COLUMNS}
    parts = []
    if "is_mean" in result:
        parts.append(f"IS {result['is_mean']:.3f} ± {result['is_std']:.3f}")
    for k, label in (("fid", "FID"), ("kid_mean", "KID"), ("intra_fid", "intra-FID")):
        if k in result:
            parts.append(f"{label} {result[k]:.4g}")
    if trainer.best_fid is not None:
        parts.append(f"best FID {trainer.best_fid['fid']:.4g} @ {trainer.best_fid['iteration']}")
    logger.info("eval it %d (%s, %s): %s  %.1f s", trainer.iteration, result["protocol"], pipeline["feature_extractor"],
                "  ".join(parts), seconds)
    if trainer._log.tb is not None:
        for k in _EVAL_COLUMNS:
            if isinstance(columns[k], float):
                trainer._log.tb.add_scalar(f"eval/{k}", columns[k], trainer.iteration)
    if cfg.out_dir is None:
        return result
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "eval.csv"
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["iteration", *_EVAL_COLUMNS, "protocol", "feature_extractor", "reference", "eval_s"])
        writer.writerow([trainer.iteration, *(repr(v) if isinstance(v, float) else v for v in columns.values()),
                         result["protocol"], pipeline["feature_extractor"], pipeline["reference"], f"{seconds:.3f}"])
    with open(out / "eval.jsonl", "a") as f:
        f.write(json.dumps(result) + "\n")
    if improved:
        folder = out / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_torch_save(_trainer_state(trainer, gather=False), folder / "best_fid.pt")
    _plot_eval_curves(trainer, out, result, key)
    return result

def _plot_eval_curves(trainer: "Trainer", out: Path, result: Dict[str, Any], key: str) -> None:
    """Redraws ``eval_curves.png`` from ``eval.jsonl`` (the evaluations measured like ``result``)."""
    from .. import metrics

    rows = []
    with open(out / "eval.jsonl") as f:
        for line in f:
            r = json.loads(line) if line.strip() else None
            if r and _eval_key(r) == key:
                rows.append(r)
    try:
        metrics.plot_metric_curves(rows, out / "eval_curves.png", title=key)
    except ImportError as e:
        if not trainer._warned_no_plot:
            logger.info("eval: not drawing eval_curves.png (%s)", e)
            trainer._warned_no_plot = True

