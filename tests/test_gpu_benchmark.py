"""benchmarks/gpu.py cannot rot: its --smoke mode runs every section on the CPU.

The GPU check is run rarely, on a lent machine, with no time to debug it there; so the suite
runs it here in its CPU smoke mode (tiny widths) and checks that the report and the JSON hold
every section with its checks and numbers, that the checks it makes pass on the CPU, and that
a section or a check that raises is recorded in the report instead of stopping the run.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.py"
SECTIONS = ["correctness", "no_sync", "compile", "sn_cost", "iteration", "throughput"]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gpu() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    out = tmp_path_factory.mktemp("gpu") / "report.md"
    js = out.with_suffix(".json")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--out", str(out), "--json", str(js)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"md": out.read_text(), "json": json.loads(js.read_text())}


def _checks(section: Dict[str, Any]) -> Dict[str, str]:
    return {c["check"]: c["result"] for c in section["checks"]}


@pytest.mark.slow
def test_smoke_report_has_every_section_and_its_checks_pass(smoke: Dict[str, Any]) -> None:
    report, md = smoke["json"], smoke["md"]
    env = report["environment"]
    assert env["mode"] == "smoke" and env["torch"] == torch.__version__
    assert "python benchmarks/gpu.py --smoke" in env["command"] and env["command"] in md
    assert list(report["sections"]) == SECTIONS
    for name, sec in report["sections"].items():
        # "ok": every check that ran on the CPU passed (a FAIL or an error would say "N check(s) failed")
        assert sec["status"] == "ok", (name, sec["status"], sec.get("error"), sec["checks"])
        assert sec["seconds"] > 0
        assert f"## {sec['title']}" in md
        assert sec["checks"] or sec["tables"], name
        for c in sec["checks"]:
            assert c["result"] in ("pass", "not supported by this version") or \
                c["result"].startswith("skipped:"), c
    for key in ("| GPU |", "| torch |", "| CUDA (torch build) |"):
        assert key in md


@pytest.mark.slow
def test_smoke_numbers(smoke: Dict[str, Any]) -> None:
    s = smoke["json"]["sections"]
    # a: the three paths agree with the float64 recomputation; the autocast runs kept SN in float32
    paths = s["correctness"]["data"]["paths_max_rel"]
    assert set(paths) == {"fused", "per-layer", "fused vs per-layer"}
    for diffs in paths.values():
        assert set(diffs) == {"output", "u", "v", "sigma", "gradients"}
        assert all(0 <= v < 1e-3 for v in diffs.values()), diffs
    checks = _checks(s["correctness"])
    assert checks["vs torch SN: eval output"] == "pass"
    assert checks["fused: SN under bf16 autocast"] == "pass"
    # b: every step ran (no CUDA here, so the sync check itself is skipped)
    assert _checks(s["no_sync"])["fp32: d_step"].startswith("skipped: no CUDA")
    # c: fullgraph compile matches eager (aot_eager backend on the CPU)
    assert _checks(s["compile"])["fullgraph: 4 D and G steps match eager"] == "pass"
    assert max(s["compile"]["data"]["fullgraph_max_rel"].values()) < 1e-3
    # d: operator counts of the four variants, the fused path dispatching far fewer than torch's
    counts = s["sn_cost"]["data"]["dispatches"]
    aten = {k: v["forward"][0] for k, v in counts.items()}
    assert aten["none"] < aten["fused"] < aten["per-layer"] and aten["fused"] < aten["torch"]
    times = s["sn_cost"]["data"]["d_step_seconds"]
    assert all(t > 0 for per_batch in times.values() for ts in per_batch.values() for t in ts)
    # e: the fp32 baseline and its ratios; f: images per second and a projection
    it = s["iteration"]["data"]["iteration_seconds"]
    assert {"fp32", "fp32+CL", "bf16", "bf16+CL", "fp32+compile"} <= set(it)
    tp = s["throughput"]["data"]["throughput"]["fp32"]
    assert tp["real_images_per_s"] > 0 and tp["iterations"] == 50_000
    assert math.isclose(tp["projected_hours"], tp["seconds_per_iteration"] * 50_000 / 3600)


def test_a_raising_section_or_check_is_recorded_not_fatal(gpu: ModuleType, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_section(ctx: Any, sec: Any) -> None:
        raise RuntimeError("planted section failure")

    def broken_check(ctx: Any, sec: Any, amp: str) -> None:
        raise ValueError(f"planted check failure {amp}")

    sections = [(n, t, broken_section if n == "no_sync" else f) for n, t, f in gpu.SECTIONS]
    monkeypatch.setattr(gpu, "SECTIONS", sections)
    monkeypatch.setattr(gpu, "_check_autocast", broken_check)
    out = tmp_path / "r.md"
    assert gpu.main(["--smoke", "--sections", "correctness", "no_sync", "sn_cost", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())["sections"]
    assert report["no_sync"]["status"] == "error"
    assert "planted section failure" in report["no_sync"]["error"] and "Traceback" in report["no_sync"]["data"]["traceback"]
    corr = report["correctness"]
    assert corr["status"] == "2 check(s) failed"  # the two autocast checks; the others still ran and passed
    results = _checks(corr)
    assert results["float32 SN under fp16 autocast"] == "error"
    assert results["fused vs float64 CPU"] == "pass"
    assert report["sn_cost"]["status"] == "ok"
    assert report["throughput"]["status"].startswith("skipped: not selected")
    md = out.read_text()
    assert "planted section failure" in md and "planted check failure fp16" in md


def test_the_budget_skips_sections_with_a_note(gpu: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    assert gpu.main(["--smoke", "--budget", "0", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())["sections"]
    assert all(s["status"].startswith("skipped: time budget") for s in report.values()), report
    assert "skipped: time budget" in out.read_text()


def test_max_rel_against_closed_forms(gpu: ModuleType) -> None:
    a, b = torch.tensor([1.0, 2.0, 4.5]), torch.tensor([1.0, 2.0, 4.0])
    assert gpu._max_rel([a], [b]) == pytest.approx(0.5 / 4.0)
    assert gpu._max_rel([a, None], [b, torch.ones(1)]) == math.inf
    # a tensor that is zero in exact arithmetic is judged against 1e-3 of the largest reference
    assert gpu._max_rel([b, torch.tensor([1e-9])], [b, torch.tensor([0.0])]) == pytest.approx(1e-9 / 4e-3)
