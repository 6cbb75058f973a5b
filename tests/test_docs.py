"""Documentation that cannot rot.

* every ``>>>`` example in ``docs/**/*.md`` runs through doctest (one test per page);
* every docstring example of every module of ``specnorm_gan`` runs through doctest (one test per
  module); an example is skipped only when it needs an optional extra that is genuinely not
  installed (its first failure is a ``ModuleNotFoundError`` for an optional package that
  ``importlib`` cannot find), never for any other error;
* every public class and function of the package has a docstring with an example;
* every flag of ``examples/train.py`` is documented in ``docs/training.md``;
* ``mkdocs build --strict`` succeeds and renders the generated parts (needs the ``docs`` extra).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import io
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
import torch

import specnorm_gan

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OPTIONAL_PACKAGES = {"torchvision", "PIL", "tqdm", "tensorboard", "torch_fidelity", "scipy", "matplotlib"}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.REPORT_ONLY_FIRST_FAILURE
_FENCE = re.compile(r"^\s*(```|~~~)")


def _missing_optional(exc: BaseException) -> Optional[str]:
    """The optional package whose absence caused ``exc`` (following the exception chain), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            root = exc.name.split(".")[0]
            if root in OPTIONAL_PACKAGES and importlib.util.find_spec(root) is None:
                return root
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


class _Runner(doctest.DocTestRunner):
    """Records, per docstring, whether its first failure is a genuinely missing optional extra."""

    def __init__(self) -> None:
        super().__init__(optionflags=FLAGS)
        self.missing: List[Tuple[str, str]] = []
        self.failed: List[str] = []

    def report_unexpected_exception(self, out: Any, test: doctest.DocTest, example: doctest.Example, exc_info: Any) -> None:
        missing = _missing_optional(exc_info[1])
        if missing is not None:
            self.missing.append((test.name, missing))
        else:
            self.failed.append(test.name)
            super().report_unexpected_exception(out, test, example, exc_info)

    def report_failure(self, out: Any, test: doctest.DocTest, example: doctest.Example, got: str) -> None:
        self.failed.append(test.name)
        super().report_failure(out, test, example, got)


def _run(tests: List[doctest.DocTest]) -> Tuple[_Runner, str, int]:
    runner = _Runner()
    out = io.StringIO()
    examples = 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the examples are tiny: one thread is faster on a shared 2-core machine
    try:
        for test in tests:
            if not test.examples:
                continue
            examples += len(test.examples)
            torch.manual_seed(0)
            runner.run(test, out=out.write, clear_globs=True)
    finally:
        torch.set_num_threads(threads)
    return runner, out.getvalue(), examples


def _check(runner: _Runner, report: str) -> None:
    if runner.failed:
        pytest.fail(f"doctest failures in {sorted(set(runner.failed))}:\n{report}", pytrace=False)
    if runner.missing:
        pytest.skip("optional extra not installed: " + ", ".join(f"{n} needs {m}" for n, m in runner.missing))


def test_skip_rule_only_for_genuinely_missing_optional_packages() -> None:
    assert _missing_optional(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None  # core
    assert _missing_optional(ValueError("not an import error")) is None
    for package in sorted(OPTIONAL_PACKAGES):
        # the library's lazy imports raise ImportError("... pip install specnorm-gan[extra]") from the real error
        err = ImportError(f"{package} is needed: pip install specnorm-gan[...]")
        err.__cause__ = ModuleNotFoundError(f"No module named '{package}'", name=package)
        expected = package if importlib.util.find_spec(package) is None else None
        assert _missing_optional(err) == expected, package


# --------------------------------------------------------------------------------------------
# Examples in docs/*.md
# --------------------------------------------------------------------------------------------
DOC_PAGES = sorted(DOCS.rglob("*.md"))


def _page_test(path: Path) -> doctest.DocTest:
    # Fence lines become blank lines, so a closing ``` is never read as expected output.
    text = "\n".join("" if _FENCE.match(line) else line for line in path.read_text(encoding="utf-8").splitlines())
    name = str(path.relative_to(ROOT))
    return doctest.DocTestParser().get_doctest(text, {"__name__": "__docs__"}, name, str(path), 0)


@pytest.mark.parametrize("page", DOC_PAGES, ids=[str(p.relative_to(DOCS)) for p in DOC_PAGES])
def test_docs_page_examples_run(page: Path) -> None:
    runner, report, _ = _run([_page_test(page)])
    _check(runner, report)


def test_docs_pages_have_examples() -> None:
    # The pages that teach the API must keep runnable examples (guards against the parser
    # silently finding nothing, e.g. after a change of code-block style).
    for name in ("index.md", "spectral-norm.md", "architectures.md", "migration.md", "training.md"):
        test = _page_test(DOCS / name)
        assert len(test.examples) >= 2, f"docs/{name} has {len(test.examples)} >>> examples"


def test_fence_lines_are_not_expected_output() -> None:
    page = "```pycon\n>>> 1 + 1\n2\n```\n"
    text = "\n".join("" if _FENCE.match(line) else line for line in page.splitlines())
    (example,) = doctest.DocTestParser().get_examples(text)
    assert example.want == "2\n"


# --------------------------------------------------------------------------------------------
# Docstring examples of the package
# --------------------------------------------------------------------------------------------
MODULES = ["specnorm_gan"] + sorted(
    m.name for m in pkgutil.walk_packages(specnorm_gan.__path__, "specnorm_gan.") if not m.name.split(".")[-1].startswith("_")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
    runner, report, _ = _run(sorted(tests, key=lambda t: t.name))
    _check(runner, report)


def _public_objects(module: Any) -> List[Tuple[str, Any]]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    objects = []
    for name in names:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants and tables
        if getattr(obj, "__module__", None) != module.__name__:
            continue  # re-exports are checked where they are defined
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue  # exception classes need no example
        objects.append((name, obj))
    return objects


@pytest.mark.parametrize("module_name", [m for m in MODULES if m != "specnorm_gan"])
def test_public_api_has_docstring_with_example(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name, obj in _public_objects(module) if ">>>" not in (inspect.getdoc(obj) or "")]
    assert not missing, f"{module_name}: public objects without a docstring example: {missing}"


# --------------------------------------------------------------------------------------------
# Flags of the training script
# --------------------------------------------------------------------------------------------
def _train_flags() -> List[str]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train.py"), "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    usage = out.stdout.split("\n\n", 1)[0]  # the usage block lists every option once
    assert usage.startswith("usage:"), out.stdout
    flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9_-]*)", usage)) - {"--help"})
    assert flags, out.stdout
    return flags


def _hooks() -> Any:
    spec = importlib.util.spec_from_file_location("_specnorm_gan_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_train_flag_is_documented() -> None:
    # docs/training.md gets its flag tables from the script's parser at build time (docs/hooks.py);
    # here the flags that `train.py --help` prints must all be in those tables.
    assert "<!-- train-flags -->" in (DOCS / "training.md").read_text(encoding="utf-8")
    tables = _hooks().train_flags_markdown()
    documented = set(re.findall(r"`(--[a-z0-9][a-z0-9_-]*)`", tables))
    missing = [f for f in _train_flags() if f not in documented]
    assert not missing, f"flags of examples/train.py missing from the docs tables: {missing}"


def test_generated_presets_table_lists_every_preset() -> None:
    tables = _hooks().presets_markdown()
    rows = re.findall(r"^\| `([^`]+)` \|", tables, flags=re.M)
    assert sorted(rows) == sorted(specnorm_gan.list_presets())


# --------------------------------------------------------------------------------------------
# The site
# --------------------------------------------------------------------------------------------
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="needs the docs extra: pip install specnorm-gan[docs]")
    pytest.importorskip("material", reason="needs the docs extra: pip install specnorm-gan[docs]")
    pytest.importorskip("mkdocstrings_handlers.python", reason="needs the docs extra: pip install specnorm-gan[docs]")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # mkdocs-material's end-of-life banner
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    assert "WARNING" not in log, log
    # The API reference is rendered from the docstrings ...
    layers_html = (site / "api" / "layers" / "index.html").read_text(encoding="utf-8")
    for name in ("SNLinear", "fuse_spectral_norm", "ema_update_"):
        assert name in layers_html, name
    # ... and the presets table is generated from the registry.
    presets_html = (site / "architectures" / "index.html").read_text(encoding="utf-8")
    for name in specnorm_gan.list_presets():
        assert f"<code>{name}</code>" in presets_html, name
    # ... and so are the flag tables of the training page.
    training_html = (site / "training" / "index.html").read_text(encoding="utf-8")
    for flag in _train_flags():
        assert f"<code>{flag}</code>" in training_html, flag
    # Sphinx roles in docstrings are rewritten (docs/griffe_rst.py), never shown raw.
    assert ":class:" not in layers_html and "Example::" not in layers_html
