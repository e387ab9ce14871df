"""One way to read a policy or settings file: the package's defaults, overridden key by
key by a user's TOML; an unknown section or key is an error naming it, so a typo never
runs silently on defaults. A default section made only of tables (``[model.<family>]``)
takes the user's tables of those names, each merged key by key."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


def read_over_defaults(
    default_name: str, path: Path | None, error: type[Exception], what: str = "table"
) -> dict[str, Any]:
    """The defaults of ``models/<default_name>`` with ``path``'s values over them."""
    text = resources.files("models").joinpath(default_name).read_text("utf-8")
    raw: dict[str, Any] = tomllib.loads(text)
    if path is None:
        return raw
    try:
        user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read as TOML ({exc})") from exc
    for section, values in user.items():
        if section not in raw or not isinstance(values, dict):
            raise error(f"{path}: unknown section [{section}] ({', '.join(raw)})")
        defaults = raw[section]
        if defaults and all(isinstance(v, dict) for v in defaults.values()):
            for name, inner in values.items():
                if name not in defaults or not isinstance(inner, dict):
                    raise error(f"{path}: [{section}.{name}]: unknown {what}")
                defaults[name] = defaults[name] | inner
            continue
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise error(f"{path}: {section}.{unknown[0]}: unknown key")
        raw[section] = defaults | values
    return raw
