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
