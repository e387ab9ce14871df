"""The house rules on layout: imports flow serving -> models -> features, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level modules it must never import
FORBIDDEN = {
    "features": {"models", "serving", "sklearn", "fastapi", "mlflow", "interpret", "shap"},
    "models": {"serving", "fastapi", "starlette", "uvicorn"},
    "serving": set(),
}


def _imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_tops(path) & FORBIDDEN[package]
    }
    assert not offenders, sorted(offenders)


def test_nothing_imports_a_notebook() -> None:
    for package in FORBIDDEN:
        for path in (ROOT / package).rglob("*.py"):
            assert "notebooks" not in _imported_tops(path), path


def test_the_rule_checker_sees_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import sklearn.linear_model\nfrom fastapi import FastAPI\nfrom . import x\n")
    assert _imported_tops(module) == {"sklearn", "fastapi"}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, by its full name (relative imports resolved)."""
    return _imported_modules_of(path.read_text(encoding="utf-8"), path)


def _imported_modules_of(source: str, path: Path) -> set[str]:
    tree = ast.parse(source, filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


# serving's rooms that must not reach into each other: each translates the domain
APART = {"serving.api": "serving.pages", "serving.pages": "serving.api"}


@pytest.mark.parametrize("room", sorted(APART))
def test_the_api_and_the_pages_do_not_import_each_other(room: str) -> None:
    other = APART[room]
    folder = ROOT.joinpath(*room.split("."))
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in folder.rglob("*.py")
        for name in _imported_modules(path)
        if name == other or name.startswith(f"{other}.")
    }
    assert folder.is_dir()
    assert not offenders, sorted(offenders)


def test_the_room_checker_sees_relative_imports() -> None:
    module = ROOT / "serving" / "pages" / "x.py"  # never written: only its name is used
    source = "from ..api import deps\nfrom . import render\nimport serving.api.errors\n"
    names = _imported_modules_of(source, module)
    assert {
        "serving.api",
        "serving.api.deps",
        "serving.pages.render",
        "serving.api.errors",
    } <= names


def test_the_command_line_starts_without_the_heavy_libraries() -> None:
    """`riskflag db`, `users`, `validate`, `link`... load scikit-learn, pandas, MLflow and
    the linker's text libraries only in the commands that use them: every command pays
    the import of the whole CLI, and the demo runs twenty of them."""
    import subprocess
    import sys

    heavy = ("sklearn", "pandas", "mlflow", "shap", "interpret", "opencc", "pypinyin", "splink")
    probe = f"import sys, serving.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
