"""The product and its tooling stay apart: `rag/` and `ui/` never import `bench/`, and each has its command."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT

RUNTIME = ("rag", "ui")
"""The packages a user runs."""


def module_name(path: Path) -> str:
    """`rag/models/e5.py` -> `rag.models.e5`; a package's `__init__.py` is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) for every module the source may import.

    Covers `import x.y`, `from x import y` (both `x` and `x.y`, which may be a module), relative imports
    (resolved against `module`; one past the top-level package resolves to the top level), and
    `importlib.import_module("x")` / `__import__("x")` with a literal name.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:max(len(package) - node.level + 1, 0)] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            if name:
                found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}" if name else alias.name) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def is_tooling(name: str) -> bool:
    return name == "bench" or name.startswith("bench.")


@pytest.mark.parametrize("source, module, caught", [
    ("import bench", "rag.cli", True),
    ("import os, bench.tune as t", "rag.cli", True),
    ("from bench import xquad", "ui.app", True),
    ("from bench.evaluation import K", "rag.models.e5", True),
    ("def f():\n    from bench.quality import main\n", "rag.cli", True),
    ("import importlib\nimportlib.import_module('bench.load')", "ui.app", True),
    ("__import__('bench')", "rag", True),
    ("from .. import bench", "ui.app", True),  # past the top-level package
    ("from rag import store", "rag.cli", False),
    ("import benchmark, rag.bench_like", "rag.cli", False),
    ("from . import bench", "rag.cli", False),  # rag.bench, a module of rag, not the bench package
    ("x = 'bench'  # import bench", "rag.cli", False),
])
def test_the_check_sees_every_way_to_import_bench(source: str, module: str, caught: bool) -> None:
    assert any(is_tooling(name) for _, name in imports(source, module)) == caught


def test_nothing_in_rag_or_ui_imports_bench() -> None:
    files = sorted(f for package in RUNTIME for f in (ROOT / package).rglob("*.py"))
    names = {module_name(f) for f in files}
    assert {"rag", "rag.cli", "rag.models", "ui", "ui.app"} <= names and len(files) > 10  # the walk sees them
    offenders = [f"{f.relative_to(ROOT)}:{line}: {name}"
                 for f in files
                 for line, name in imports(f.read_text(encoding="utf-8"), module_name(f), f.name == "__init__.py")
                 if is_tooling(name)]
    assert offenders == []


def test_the_product_runs_without_loading_the_tooling() -> None:
    code = ("import sys, rag, rag.cli, ui.app\n"
            "print(sorted(m for m in sys.modules if m == 'bench' or m.startswith('bench.')))")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_rag_runs_the_product_and_rag_bench_the_tooling() -> None:
    from bench.cli import cli as bench_cli
    from rag.cli import cli as rag_cli

    assert {"index", "ask", "status", "serve"} <= set(rag_cli.commands)
    assert not {"tune", "eval", "followups", "quality", "load"} & set(rag_cli.commands)
    assert set(bench_cli.commands) == {"tune", "eval", "followups", "quality", "load"}
    runner = CliRunner()
    quality = runner.invoke(bench_cli, ["quality", "--help"])  # options handed to bench.quality's own parser
    assert quality.exit_code == 0 and "usage: rag-bench quality" in quality.output
    assert all(option in quality.output for option in ("--xquad", "--xquad-en", "--questions", "--out"))
    load = runner.invoke(bench_cli, ["load", "-h"])
    assert load.exit_code == 0 and "usage: rag-bench load" in load.output and "--per-client" in load.output


def test_rag_bench_reports_a_mistake_in_one_line_as_rag_does() -> None:
    command = [sys.executable, "-c", "from bench.cli import main; main()", "eval", "--index", "/etc/hostname"]
    result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1
    assert "Error: index path /etc/hostname is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_index_and_the_corpus_edits_never_import_the_search_layer() -> None:
    """Imports flow one way: `rag.search` reads `rag.index`; listing the live articles and editing the corpus
    (`rag.index.listing`, `rag.articles`) sit below it."""
    files = sorted((ROOT / "rag" / "index").glob("*.py")) + [ROOT / "rag" / "articles.py", ROOT / "rag" / "corpus.py"]
    offenders = [f"{f.relative_to(ROOT)}:{line}: {name}"
                 for f in files
                 for line, name in imports(f.read_text(encoding="utf-8"), module_name(f), f.name == "__init__.py")
                 if name == "rag.search" or name.startswith("rag.search.")]
    assert len(files) > 10 and offenders == []


def _shown_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the string literals of a module that are not docstrings: what it may show."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    documented = [n for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))]
    docstrings = {id(n.body[0].value) for n in documented
                  if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_the_chat_shows_no_emoji_that_debian_s_chromium_draws_as_a_box() -> None:
    """Debian's chromium has no colour emoji font: «✅» or «🗑️» in a reply is an empty box (a text sign such as
    «✓» or «⚠» is drawn). Every string the chat's modules hold, docstrings aside."""
    emoji = [(f"{path.relative_to(ROOT)}:{line}", text) for path in sorted((ROOT / "ui").rglob("*.py"))
             for line, text in _shown_strings(path)
             if any(0x1F300 <= ord(c) <= 0x1FAFF or ord(c) in (0x2705, 0x274C, 0x2728) for c in text)]
    assert not emoji
