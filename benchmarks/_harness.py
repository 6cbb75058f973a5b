"""The timing and measuring helpers that every script in ``benchmarks/`` uses.

One place for: warm-up and interleaved repeated timing with medians (:func:`timed`,
:func:`interleaved`, :func:`med`, :func:`ratios`), the formatting of times, ratios and sizes
(:func:`fmt_time`, :func:`fmt_ms`, :func:`fmt_ratio`, :func:`fmt_median_range`, :func:`fmt_mib`),
memory (:func:`measure_memory`: peak RSS growth of one call on Linux, :func:`cuda_peak_memory`,
:func:`malloc_trim`, :func:`state_bytes`, :func:`peak_rss_mib`), the machine and environment lines
of the reports (:func:`cpu_name`, :func:`env_line`, :func:`utc_date`), the common command-line
flags (:func:`add_threads_arg` / :func:`apply_threads`), markdown tables (:func:`md_table`) and
the raw-result files (:func:`atomic_write`, :func:`save_json`).

Scripts import it as a sibling module (``benchmarks/`` is on ``sys.path`` when a script in it
runs; :func:`on_path` adds it for scripts loaded another way).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import datetime
import gc
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def on_path() -> None:
    """Puts ``benchmarks/`` first on ``sys.path`` so that its modules import as siblings."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)


# --------------------------------------------------------------------------------------------
# Timing and statistics
# --------------------------------------------------------------------------------------------
def timed(fn: Callable[[], Any], sync: Optional[Callable[[], None]] = None) -> float:
    """Seconds of one call of ``fn`` (host clock; ``sync`` runs before and after, e.g. a CUDA sync)."""
    if sync is not None:
        sync()
    t0 = time.perf_counter()
    fn()
    if sync is not None:
        sync()
    return time.perf_counter() - t0


def interleaved(fns: Dict[str, Callable[[], Any]], repeats: int, inner: int = 1,
                sync: Optional[Callable[[], None]] = None, alternate: bool = False) -> Dict[str, List[float]]:
    """Seconds per call of each function, ``repeats`` times, interleaved (a, b, a, b, ...).

    Each repeat times ``inner`` calls between two clock reads. ``alternate`` reverses the order
    on every other repeat (a, b, b, a, ...), so that neither side always runs first.
    """
    times: Dict[str, List[float]] = {k: [] for k in fns}
    keys = list(fns)
    for r in range(repeats):
        for k in (keys[::-1] if alternate and r % 2 else keys):
            fn = fns[k]
            times[k].append(timed(lambda: [fn() for _ in range(inner)], sync) / inner)
    return times


def med(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def ratios(a: Sequence[float], b: Sequence[float]) -> List[float]:
    """Per-repeat ratios ``a[i] / b[i]``."""
    return [x / y for x, y in zip(a, b)]


def ratios_to(times: Dict[str, List[float]], base: str) -> Dict[str, List[float]]:
    """Every variant's per-repeat ratios to the variant ``base``."""
    return {k: ratios(v, times[base]) for k, v in times.items()}


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------
def fmt_time(s: float) -> str:
    """Milliseconds without decimals below 10 s, else seconds with one."""
    return f"{s * 1e3:.0f} ms" if s < 10 else f"{s:.1f} s"


def fmt_ms(s: float) -> str:
    """Milliseconds with two decimals below 1 s, else seconds with two."""
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def fmt_e(x: float) -> str:
    return f"{x:.1e}"


def fmt_ratio(xs: Sequence[float]) -> str:
    """``median (min-max)`` of per-repeat ratios; one value alone, ``-`` for none."""
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.3f}"
    return f"{med(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"


def fmt_median_range(xs: Sequence[float], fmt: str = "{:.2f}", sep: str = "-") -> Tuple[str, str]:
    """``(median, "min-max")`` of ``xs``, each through ``fmt``."""
    return fmt.format(med(xs)), f"{fmt.format(min(xs))}{sep}{fmt.format(max(xs))}"


def fmt_mib(b: Optional[float]) -> str:
    return "n/a" if b is None else f"{b / 2 ** 20:.0f}"


def mem_ratio(a: Optional[int], b: Optional[int]) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Memory (Linux: /proc/self/status and clear_refs; CUDA: the allocator's peak)
# --------------------------------------------------------------------------------------------
def _status_bytes(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


_LIBC: Any = None


def malloc_trim() -> None:
    """Returns glibc's free heap to the OS (nothing where there is no glibc)."""
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure_memory(fn: Callable[[], Any]) -> Tuple[float, Optional[int]]:
    """Runs ``fn`` once; returns (seconds, peak RSS growth in bytes over the RSS before it, or None)."""
    gc.collect()
    malloc_trim()
    before = _status_bytes("VmRSS")
    ok = _reset_peak()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    peak = _status_bytes("VmHWM")
    if not ok or before is None or peak is None:
        return dt, None
    return dt, max(0, peak - before)


def cuda_peak_memory(device: torch.device, fn: Callable[[], Any]) -> Optional[int]:
    """Peak bytes allocated on ``device`` during ``fn`` above what was allocated before it (None off CUDA)."""
    if device.type != "cuda":
        fn()
        return None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - before


def peak_rss_mib() -> float:
    """This process's peak resident set so far, MiB (``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def state_bytes(*modules: nn.Module, adam: bool = True) -> int:
    """Parameters + buffers (+ the two Adam moments per trainable parameter) of ``modules``."""
    total = 0
    for m in modules:
        for p in m.parameters():
            total += p.numel() * p.element_size() * (3 if adam and p.requires_grad else 1)
        for b in m.buffers():
            total += b.numel() * b.element_size()
    return total


# --------------------------------------------------------------------------------------------
# Machine and environment
# --------------------------------------------------------------------------------------------
def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def utc_date() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine_line() -> str:
    """``torch X, Python Y, <machine>, N CPUs``."""
    return f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs"


def env_line(threads: Optional[int] = None) -> str:
    """``torch X, N threads`` (``threads`` where the work runs elsewhere, else this process's)."""
    return f"torch {torch.__version__}, {threads or torch.get_num_threads()} threads"


def add_threads_arg(p: argparse.ArgumentParser, default: Optional[int] = None, help: Optional[str] = None) -> None:
    """The ``--threads`` flag of every CPU benchmark (torch intra-op threads)."""
    p.add_argument("--threads", type=int, default=default, help=help)


def apply_threads(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)


# --------------------------------------------------------------------------------------------
# Reports and raw results
# --------------------------------------------------------------------------------------------
def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], escape: bool = True) -> List[str]:
    """A markdown table's lines; ``|`` inside cells is escaped unless ``escape`` is False."""
    cells = [[str(c).replace("|", "\\|") if escape else str(c) for c in r] for r in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in cells)]


def atomic_write(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file in the same folder (never half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def json_default(o: Any) -> Any:
    """JSON for what ``json`` cannot write itself: tensors as lists, anything else as ``str``."""
    if isinstance(o, Tensor):
        return o.tolist()
    return str(o)


def save_json(path: str, obj: Any, indent: int = 1, newline: bool = False) -> None:
    """The raw results as JSON (tensors as lists, other objects as strings), written atomically."""
    atomic_write(path, json.dumps(obj, indent=indent, default=json_default) + ("\n" if newline else ""))
