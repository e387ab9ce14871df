"""The one loader: a data folder in, typed case histories out, or a report of what is wrong.

``load_case_histories`` is what everything downstream calls; it reads and checks each
file once and hands out typed LazyFrames over the checked data, so nothing later parses
or checks again. ``validate_folder`` runs the same code and returns the report.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from features import schema as s
from features.contract.coerce import COLUMN_KINDS as COLUMN_KINDS  # noqa: PLC0414 (re-export)
from features.contract.coerce import UNIQUE_COLUMNS, ColumnKind, coerce, repeated
from features.contract.files import (
    RawTable,
    ReadError,
    read_contract_version,
    read_exported_at,
    read_table,
)
from features.contract.report import (
    MAX_SAMPLES_PER_RULE,
    RuleResult,
    Sample,
    ValidationReport,
    value_shape,
)
from features.contract.rules import (
    DETAIL_INDEX,
    KIND_INDEX,
    Limits,
    Rule,
    children_rules,
    events_rules,
    repeated_name,
    unreadable,
)
from features.contract.small import check_small
from features.contract.summary import summarise
from features.deployment import Deployment


class ContractError(ValueError):
    """A data folder that breaks the contract; ``report`` says every way it does."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.format_text())
        self.report = report


@dataclass(frozen=True)
class CaseHistories:
    """A checked data folder: typed children and events, and when the export was taken.

    Timestamps are naive local times of the deployment's zone; ``exported_at`` is where
    the data ends (labels whose horizon runs past it are unknown).
    """

    children: pl.LazyFrame
    events: pl.LazyFrame
    exported_at: datetime
    deployment: Deployment
    source: Path
    report: ValidationReport
    # the record corrections applied to ``events`` (features.corrections.provenance:
    # their count and digest); None when none were given
    corrections: Mapping[str, Any] | None = None
    # household members whose records stop counting for a child (features.separations:
    # SCHEMA); None when none were given
    separations: pl.DataFrame | None = None


@dataclass(frozen=True)
class CheckedTable:
    """A table as read, and its typed frame (with the rules' helper columns)."""

    name: str
    raw: RawTable
    frame: pl.DataFrame  # typed columns + unreadable masks


def validate_folder(
    folder: Path, deployment: Deployment | None = None, now: datetime | None = None
) -> ValidationReport:
    """Check a data folder against every rule of the contract; never raises for bad data."""
    return _check(Path(folder), deployment or Deployment(), now)[0]


def load_case_histories(
    folder: Path, deployment: Deployment | None = None, now: datetime | None = None
) -> CaseHistories:
    """Read and check a data folder once; raise ContractError naming every violation."""
    deployment = deployment or Deployment()
    report, tables, exported_at = _check(Path(folder), deployment, now)
    if not report.ok or tables is None or exported_at is None:
        raise ContractError(report)
    children, events = tables
    return CaseHistories(
        children=children.lazy(),
        events=events.lazy(),
        exported_at=exported_at,
        deployment=deployment,
        source=Path(folder),
        report=report,
    )


def check_tables(
    children: pl.DataFrame,
    events: pl.DataFrame,
    deployment: Deployment | None = None,
    exported_at: datetime | None = None,
    now: datetime | None = None,
    source: str = "request",
) -> CaseHistories:
    """Case histories handed over in memory (an API request body) rather than as a folder,
    checked by exactly the rules a folder is: ``children`` and ``events`` hold the
    contract's columns as text (as a CSV file would) or typed; raise ContractError naming
    every violation. Rows are numbered from 1 in the order given.

    Small text tables (one child's history) are checked by the same rules compiled to
    Python (``features.contract.small``); anything else, and any violation, by polars."""
    deployment = deployment or Deployment()
    now = now or validation_now(deployment)
    if problems := _missing_columns(children, events):
        raise ContractError(ValidationReport(Path(source), problems=tuple(problems)))
    export_source = "request" if exported_at else None
    small = check_small(children, events, deployment, exported_at, now)
    if small is not None:
        typed = (small.children, small.events)
        files = {name: name for name in (s.CHILDREN, s.EVENTS)}
        report = _valid(Path(source), typed, small.exported_at, export_source, (), files)
        return _histories(typed, small.exported_at, deployment, Path(source), report)
    tables = {
        name: coerce_table(
            RawTable(name, Path(name), frame.select(s.TABLE_COLUMNS[name]), ()), deployment
        )
        for name, frame in ((s.CHILDREN, children), (s.EVENTS, events))
    }
    report, checked, exported = _checked(
        Path(source), tables, deployment, exported_at, export_source, now, ()
    )
    if checked is None or exported is None:
        raise ContractError(report)
    return _histories(checked, exported, deployment, Path(source), report)


def _missing_columns(children: pl.DataFrame, events: pl.DataFrame) -> list[str]:
    return [
        f"{name}: missing column(s) {', '.join(repr(c) for c in missing)}"
        for name, frame in ((s.CHILDREN, children), (s.EVENTS, events))
        if (missing := [c for c in s.TABLE_COLUMNS[name] if c not in frame.columns])
    ]


def _histories(
    typed: tuple[pl.DataFrame, pl.DataFrame],
    exported_at: datetime,
    deployment: Deployment,
    source: Path,
    report: ValidationReport,
) -> CaseHistories:
    children, events = typed
    return CaseHistories(children.lazy(), events.lazy(), exported_at, deployment, source, report)


def _check(
    folder: Path, deployment: Deployment, now: datetime | None
) -> tuple[ValidationReport, tuple[pl.DataFrame, pl.DataFrame] | None, datetime | None]:
    now = now or validation_now(deployment)
    if not folder.is_dir():
        return ValidationReport(folder, problems=(f"{folder}: no such folder",)), None, None
    problems: list[str] = []
    checked: dict[str, CheckedTable] = {}
    exported_at: datetime | None = None
    version = s.CONTRACT_VERSION
    try:
        exported_at = read_exported_at(folder, deployment.zone)
        version = read_contract_version(folder)
    except ReadError as problem:
        problems.append(str(problem))
    for name in (s.CHILDREN, s.EVENTS):
        try:
            checked[name] = coerce_table(read_table(folder, name), deployment)
        except ReadError as problem:
            problems.append(str(problem))
    warnings = tuple(
        f"{table.raw.file}: unknown column {column!r} ignored"
        for table in checked.values()
        for column in table.raw.unknown_columns
    )
    if problems:
        files = {name: table.raw.file for name, table in checked.items()}
        return ValidationReport(folder, tuple(problems), (), warnings, None, files), None, None
    source = "export.json" if exported_at is not None else None
    return _checked(folder, checked, deployment, exported_at, source, now, warnings, version)


def _checked(
    folder: Path,
    checked: dict[str, CheckedTable],
    deployment: Deployment,
    exported_at: datetime | None,
    export_source: str | None,
    now: datetime,
    warnings: tuple[str, ...],
    version: str = s.CONTRACT_VERSION,
) -> tuple[ValidationReport, tuple[pl.DataFrame, pl.DataFrame] | None, datetime | None]:
    """Every rule of the contract over tables already read and coerced, for the contract
    ``version`` the folder declares."""
    files = {name: table.raw.file for name, table in checked.items()}
    if exported_at is not None and (problem := export_after_now(exported_at, now, export_source)):
        return ValidationReport(folder, (problem,), (), warnings, None, files), None, None
    children, events = checked[s.CHILDREN], checked[s.EVENTS]
    exported_at = exported_at or latest_recorded(events.frame) or now
    limits = Limits(exported_at=exported_at, now=now, contract_version=version)
    violations = apply_rules(children, children_rules(limits, deployment.districts))
    violations += apply_rules(events, events_rules(limits, children.frame[s.CHILD_ID]))
    if violations:
        report = ValidationReport(folder, (), tuple(violations), warnings, None, files)
        return report, None, exported_at
    typed = (_finish_children(children.frame), finish_events(events.frame))
    report = _valid(folder, typed, exported_at, export_source, warnings, files)
    return report, typed, exported_at


def _valid(
    source: Path,
    typed: tuple[pl.DataFrame, pl.DataFrame],
    exported_at: datetime,
    export_source: str | None,
    warnings: tuple[str, ...],
    files: dict[str, str],
) -> ValidationReport:
    """The report on tables that break no rule: what they hold."""
    summary = summarise(
        *typed, exported_at=exported_at, export_source=export_source or "latest recorded_at"
    )
    return ValidationReport(source, (), (), warnings, summary, files)


def coerce_table(
    raw: RawTable,
    deployment: Deployment,
    kinds: dict[str, ColumnKind] | None = None,
    unique: str | None = None,
) -> CheckedTable:
    """A table's columns typed (``kinds``: default the contract's), with an unreadable mask
    per typed column and a repeated mask for the ``unique`` column (default the table's id)."""
    name = raw.name
    kinds = COLUMN_KINDS[name] if kinds is None else kinds
    unique = unique or UNIQUE_COLUMNS.get(name)
    columns: list[pl.Series] = []
    for column in raw.frame.columns:
        kind = kinds.get(column, "string")
        coerced = coerce(raw.frame[column], kind, deployment.timezone, raw.file)
        columns.append(coerced.values.alias(column))
        if kind != "string":
            columns.append(coerced.unreadable.alias(unreadable(column)))
        if column == unique:
            columns.append(repeated(coerced.values).alias(repeated_name(column)))
    frame = pl.DataFrame(columns)
    if name == s.EVENTS:
        frame = frame.with_columns(  # the catalogue's indices, for the events' rules
            pl.col(s.EVENT_TYPE)
            .cast(s.EVENT_TYPE_DTYPE, strict=False)
            .to_physical()
            .alias(KIND_INDEX),
            pl.col(s.DETAIL).cast(s.DETAIL_DTYPE, strict=False).to_physical().alias(DETAIL_INDEX),
        )
    return CheckedTable(name, raw, frame)


def validation_now(deployment: Deployment) -> datetime:
    """The moment of validation: now, as naive local time of the deployment, to the second."""
    return datetime.now(deployment.zone).replace(tzinfo=None, microsecond=0)


def export_after_now(exported_at: datetime, now: datetime, source: str | None) -> str | None:
    """The problem of an export instant after the moment of validation, or None."""
    if exported_at <= now:
        return None
    return (
        f"{source}: exported_at {exported_at.isoformat(sep=' ')} lies after the "
        f"moment of validation {now.isoformat(sep=' ')}"
    )


def latest_recorded(events: pl.DataFrame) -> datetime | None:
    latest = events[s.RECORDED_AT].max()
    return latest if isinstance(latest, datetime) else None


def apply_rules(
    table: CheckedTable,
    rules: list[Rule],
    *,
    withheld: Collection[str] = (),
    max_samples: int = MAX_SAMPLES_PER_RULE,
) -> list[RuleResult]:
    """Evaluate every rule in one pass; gather counts and the first rows of each broken one.

    The samples of a rule on a ``withheld`` column (identity data) show each value's shape,
    never the value; at most ``max_samples`` rows are shown per rule.
    """
    if table.frame.height == 0:
        return []
    masks = table.frame.select(
        rule.expr.fill_null(False).alias(str(index)) for index, rule in enumerate(rules)
    )
    counts = masks.sum().row(0)
    results = []
    for index, (rule, count) in enumerate(zip(rules, counts, strict=True)):
        if count:
            rows = masks[str(index)].arg_true().head(max_samples)
            results.append(_result(table, rule, rows, int(count), rule.column in withheld))
    return results


def _result(
    table: CheckedTable, rule: Rule, rows: pl.Series, count: int, withheld: bool
) -> RuleResult:
    values = table.raw.frame[rule.column].gather(rows).cast(pl.String).to_list()
    if withheld:
        values = [value_shape(value) for value in values]
    kinds = (
        table.raw.frame[s.EVENT_TYPE].gather(rows).cast(pl.String)
        if rule.context is not None
        else pl.Series([None] * len(rows), dtype=pl.String)
    )
    samples = tuple(
        Sample(row=row + 1, value=value, context=rule.context(kind) if rule.context else None)
        for row, value, kind in zip(rows.to_list(), values, kinds.to_list(), strict=True)
    )
    return RuleResult(
        table.raw.file, rule.column, rule.rule, rule.description, count, samples, withheld
    )


def none_if_empty(column: str) -> pl.Expr:
    """The column's value, null where it is the empty string."""
    return pl.when(pl.col(column).str.len_bytes() > 0).then(pl.col(column))


def _finish_children(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col(s.CHILD_ID),
        pl.col(s.BIRTH_DATE),
        pl.col(s.SEX).cast(s.SEX_DTYPE),
        pl.col(s.DISTRICT),
        pl.col(s.HUKOU).cast(s.HUKOU_DTYPE),
        pl.col(s.ETHNICITY).cast(s.ETHNICITY_DTYPE),
        none_if_empty(s.HOUSEHOLD_ID).alias(s.HOUSEHOLD_ID),
    ).match_to_schema(s.CHILDREN_SCHEMA)


def finish_events(frame: pl.DataFrame, owner: str = s.CHILD_ID) -> pl.DataFrame:
    """Checked events typed as the contract's, ``owner`` (whose event: child_id, or a
    source's record_id) in child_id's place."""
    schema = pl.Schema({owner if c == s.CHILD_ID else c: t for c, t in s.EVENTS_SCHEMA.items()})
    return frame.select(
        pl.col(s.EVENT_ID),
        pl.col(owner),
        pl.col(s.EVENT_TYPE).cast(s.EVENT_TYPE_DTYPE),
        pl.col(s.OCCURRED_AT),
        pl.col(s.RECORDED_AT),
        pl.col(s.SEVERITY).cast(pl.Int8),
        pl.col(s.AMOUNT),
        none_if_empty(s.DETAIL).cast(s.DETAIL_DTYPE).alias(s.DETAIL),
    ).match_to_schema(schema)
