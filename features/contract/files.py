"""Finding and reading a data folder's files, exactly as written (no checks of values).

Every condition that stops a file from being read at all becomes a :class:`ReadError`
with one clear line naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from features.schema import CONTRACT_VERSION, CONTRACT_VERSIONS, EXPORT_FILE, TABLE_COLUMNS

FORMATS = ("parquet", "csv")


class ReadError(Exception):
    """A file or folder that cannot be read; ``str()`` is the one line to show."""


@dataclass(frozen=True)
class RawTable:
    """A table as read: the contract's columns only (unknown ones dropped), in file order.

    CSV columns are all strings; parquet columns keep the types they were written with.
    """

    name: str
    path: Path
    frame: pl.DataFrame
    unknown_columns: tuple[str, ...]
    prefix: str = ""  # before the file's name in messages: "welfare/" for a subfolder's

    @property
    def file(self) -> str:
        return self.prefix + self.path.name

    @property
    def is_csv(self) -> bool:
        return self.path.suffix == ".csv"


def locate_table(folder: Path, name: str, prefix: str = "") -> Path:
    """The one file holding table ``name``; both formats or neither is a problem.

    ``prefix`` goes before the table's name in messages (``"welfare/"``).
    """
    found = [folder / f"{name}.{fmt}" for fmt in FORMATS if (folder / f"{name}.{fmt}").exists()]
    shown = prefix + name
    if len(found) > 1:
        raise ReadError(
            f"{shown}: both {shown}.parquet and {shown}.csv exist: the folder is ambiguous, "
            "keep exactly one"
        )
    if not found:
        raise ReadError(f"{shown}: missing: expected {name}.parquet or {name}.csv in {folder}")
    if not found[0].is_file():
        raise ReadError(f"{prefix}{found[0].name}: not a regular file")
    return found[0]


@dataclass(frozen=True)
class _File:
    """A file being read, how messages name it, and whether they may quote its values."""

    path: Path
    shown: str
    redact: bool


def read_table(
    folder: Path,
    name: str,
    expected: tuple[str, ...] | None = None,
    *,
    prefix: str = "",
    redact: bool = False,
) -> RawTable:
    """Table ``name`` of ``folder`` with the ``expected`` columns (default: the contract's).

    ``prefix`` goes before the file's name in messages and in ``RawTable.file``
    (``"welfare/"``); ``redact`` keeps a parser's message from quoting the file's values
    (a CSV parser quotes the field it stopped at: identity data, in a persons file).
    """
    path = locate_table(folder, name, prefix)
    file = _File(path, prefix + path.name, redact)
    expected = expected or TABLE_COLUMNS[name]
    header = _csv_header(file) if path.suffix == ".csv" else _parquet_header(file)
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        raise ReadError(f"{file.shown}: column {duplicated[0]!r} appears more than once")
    missing = [column for column in expected if column not in header]
    if missing:
        listed = ", ".join(repr(column) for column in missing)
        raise ReadError(f"{file.shown}: missing column(s) {listed}")
    unknown = tuple(column for column in header if column not in expected)
    frame = _read_csv(file) if path.suffix == ".csv" else _read_parquet(file, expected)
    return RawTable(name, path, frame.select(expected), unknown, prefix)


def _csv_header(file: _File) -> list[str]:
    with file.path.open("rb") as handle:
        first = handle.readline()
    if not first.strip():
        raise ReadError(f"{file.shown}: empty file: a header row is required")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{file.shown}: header row is not UTF-8 text ({exc.reason})") from exc
    return next(csv.reader(io.StringIO(text)))


def _read_csv(file: _File) -> pl.DataFrame:
    try:
        return pl.read_csv(file.path, infer_schema=False, encoding="utf8", raise_if_empty=False)
    except pl.exceptions.ComputeError as exc:
        message = _first_line(exc, file.redact)
        if "utf-8" in message.lower():
            message = "not UTF-8 text (save the file as UTF-8)"
        raise ReadError(f"{file.shown}: cannot be read as CSV: {message}") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        message = _first_line(exc, file.redact)
        raise ReadError(f"{file.shown}: cannot be read as CSV: {message}") from exc


def _parquet_header(file: _File) -> list[str]:
    try:
        return list(pl.read_parquet_schema(file.path))
    except (pl.exceptions.PolarsError, OSError) as exc:
        message = _first_line(exc, file.redact)
        raise ReadError(f"{file.shown}: not a readable parquet file: {message}") from exc


def _read_parquet(file: _File, columns: tuple[str, ...]) -> pl.DataFrame:
    try:
        return pl.read_parquet(file.path, columns=list(columns))
    except (pl.exceptions.PolarsError, OSError) as exc:
        message = _first_line(exc, file.redact)
        raise ReadError(f"{file.shown}: not a readable parquet file: {message}") from exc


def read_exported_at(folder: Path, zone: ZoneInfo) -> datetime | None:
    """The export instant from export.json as naive local time, or None without the file."""
    path = folder / EXPORT_FILE
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"{EXPORT_FILE}: not valid UTF-8 JSON ({exc})") from exc
    return parse_exported_at(text, zone)


def parse_exported_at(text: str, zone: ZoneInfo) -> datetime:
    """export.json's text to the export instant as naive local time (ReadError if bad)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"{EXPORT_FILE}: not valid UTF-8 JSON ({exc})") from exc
    value = raw.get("exported_at") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        raise ReadError(
            f'{EXPORT_FILE}: expected {{"exported_at": "YYYY-MM-DDTHH:MM:SS"}}, got {raw!r:.80}'
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ReadError(
            f"{EXPORT_FILE}: exported_at {value!r} is not an ISO-8601 timestamp"
        ) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def read_contract_version(folder: Path) -> str:
    """The contract version export.json declares: the current one when it says none."""
    path = folder / EXPORT_FILE
    if not path.exists():
        return CONTRACT_VERSION
    try:
        return parse_contract_version(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ReadError(f"{EXPORT_FILE}: not valid UTF-8 JSON ({exc})") from exc


def parse_contract_version(text: str) -> str:
    """export.json's ``contract_version`` ("1" or "1.1"; absent: the current version)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"{EXPORT_FILE}: not valid UTF-8 JSON ({exc})") from exc
    value = raw.get("contract_version", CONTRACT_VERSION) if isinstance(raw, dict) else None
    if value not in CONTRACT_VERSIONS:
        allowed = " or ".join(f'"{v}"' for v in CONTRACT_VERSIONS)
        raise ReadError(f"{EXPORT_FILE}: contract_version must be {allowed}, got {value!r:.40}")
    return str(value)


def _first_line(exc: BaseException, redact: bool = False) -> str:
    """The first line of an exception's message; with ``redact``, whatever it quotes in
    backticks (where polars puts the field it could not parse) shown as ``…``."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return _QUOTED.sub("`…`", line) if redact else line


_QUOTED = re.compile(r"`[^`]*(?:`|$)")
