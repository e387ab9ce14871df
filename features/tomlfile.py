"""One way to read a settings or policy file: a package's defaults, overridden key by key
by a user's TOML.

An unknown section or key is an error naming it, so a typo never runs silently on
defaults. The defaults file decides the shape:

- a top-level table (a section) takes the user's keys of that name, each replacing its
  default; any other top-level value (a number, a list, a list of tables such as
  ``[[aggregate]]``) is replaced whole by the user's;
- a section made only of tables (``[model.<family>]``) takes the user's tables of those
  names, each merged key by key (their keys are not checked: they are open).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """Read a user's TOML file.

    Parameters
    ----------
    path
        The file.
    error
        The exception raised, with a message naming the file and why, when it cannot be
        read: missing, unreadable, not UTF-8 or not valid TOML.

    Returns
    -------
    dict
        Its tables and values, as ``tomllib`` parses them.
    """
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: cannot be read as TOML (no such file)") from exc
    except OSError as exc:
        raise error(f"{path}: cannot be read as TOML ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read as TOML (not valid TOML: {exc})") from exc


def read_over_defaults(
    package: str,
    default_name: str,
    path: Path | None,
    error: type[Exception],
    what: str = "table",
) -> dict[str, Any]:
    """Read a package's defaults with a user's file laid over them.

    Parameters
    ----------
    package
        The package holding the defaults file (``"features"``, ``"models"``).
    default_name
        The defaults file's name in that package, such as ``"default_policy.toml"``.
    path
        The user's file; None gives the defaults alone.
    error
        The exception raised when the file cannot be read, or names a section, key or
        table the defaults do not have; its message names the file and the key.
    what
        What a table of a section made only of tables is called in the message refusing
        an unknown one (``"family"``: ``[model.forest]: unknown family``).

    Returns
    -------
    dict
        The defaults, with the user's values over them.
    """
    text = resources.files(package).joinpath(default_name).read_text("utf-8")
    raw: dict[str, Any] = tomllib.loads(text)
    if path is None:
        return raw
    user = read_toml(path, error)
    known = ", ".join(raw)
    only_sections = all(isinstance(value, dict) for value in raw.values())
    for section, values in user.items():
        if section not in raw:
            if only_sections:
                raise error(f"{path}: unknown section [{section}] (known: {known})")
            raise error(f"{path}: unknown key {section!r} (known: {known})")
        defaults = raw[section]
        if not isinstance(defaults, dict):
            raw[section] = values
            continue
        if not isinstance(values, dict):
            raise error(f"{path}: {section}: expected a table")
        if defaults and all(isinstance(value, dict) for value in defaults.values()):
            for name, inner in values.items():
                if name not in defaults or not isinstance(inner, dict):
                    raise error(f"{path}: [{section}.{name}]: unknown {what}")
                defaults[name] = defaults[name] | inner
            continue
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise error(
                f"{path}: {section}.{unknown[0]}: unknown key (known: {', '.join(defaults)})"
            )
        raw[section] = defaults | values
    return raw
