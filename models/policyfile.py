"""Transitional: ``features.tomlfile.read_over_defaults`` bound to this package's defaults,
for models/flagging.py until it calls that reader itself; then this module goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from features.tomlfile import read_over_defaults as _read_over_defaults


def read_over_defaults(
    default_name: str, path: Path | None, error: type[Exception], what: str = "table"
) -> dict[str, Any]:
    """``features.tomlfile.read_over_defaults("models", ...)``."""
    return _read_over_defaults("models", default_name, path, error, what)
