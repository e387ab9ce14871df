"""The sources folder (source-exports.md) read and checked once, or a report of all that is wrong.

Why: linkage starts from each partner's own records, and a bad export must stop it
with the same quality of message as a bad contract folder (file, row, column, rule and
value) and with nothing half-read: one bad source and nothing loads. Identity data
(names, ID numbers, phones, addresses) is read here too, and must never be echoed into a
report, which ends up in terminals and CI logs.

How: every source is read, typed and checked by the contract's own code
(``features.contract``: ``read_table``, ``coerce_table``, its rules, ``apply_rules``,
``RuleResult``); this module adds only what is the sources' own:

- the folder: one subfolder per source, named as in ``KNOWN_SOURCES`` or in the
  caller's ``extra_sources``; an unknown or empty subfolder is an error, a missing source
  is not (the summary names the absent ones); other files are ignored, as in a contract
  folder; each source holds ``persons`` and ``events``, CSV or Parquet, not both;
- persons: record_id non-empty, unique in its source, at most 64 characters; sex, hukou,
  ethnicity from the contract's vocabularies; district one of the deployment's, or null;
  birth date null or ``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``, a real date, neither after the
  export date nor more than 25 years before it (a partial date breaks a limit only when
  every day it may mean does);
- ID numbers are never refused: one that is not well formed is kept and flagged (a
  warning with its rows), one failing its check digit only counted;
- events: the contract's rules with ``record_id`` (a row of the same source's persons) in
  place of child_id, event_id unique within the source, and event types of the source's
  own (``police/`` holds ``police.*`` only);
- the export date: ``export.json`` at the top of the folder, else the latest recorded_at
  of all sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from features import schema as s
from features.contract.coerce import EXPECTED, ColumnKind, partial_date_bounds
from features.contract.files import (
    ReadError,
    read_contract_version,
    read_exported_at,
    read_table,
)
from features.contract.load import (
    COLUMN_KINDS,
    CheckedTable,
    apply_rules,
    coerce_table,
    export_after_now,
    finish_events,
    latest_recorded,
    none_if_empty,
    validation_now,
)
from features.contract.report import RuleResult
from features.contract.rules import (
    KIND_INDEX,
    Limits,
    Rule,
    allowed,
    birth_date_limits,
    district_known,
    events_rules,
    max_length,
    typed,
    unique_id,
)
from features.deployment import Deployment
from features.linkage import schema as ls
from features.linkage.idnumber import VALID, IdNumber, id_number_columns, parse_id_number
from features.linkage.sources_report import (
    IdCounts,
    SourcesReport,
    SourcesSummary,
    SourceSummary,
)

PERSONS_KINDS: dict[str, ColumnKind] = {ls.BIRTH_DATE: "partial_date"}
ID_COLUMNS = (ls.ID_NUMBER, ls.GUARDIAN_ID_NUMBER)
MISSING, MALFORMED, BAD_CHECK, WELL_FORMED = "missing", "malformed", "bad_check", "well_formed"
MAX_FLAGGED_SAMPLES = 10


class SourcesError(ValueError):
    """A sources folder that breaks source-exports.md; ``report`` says every way it does."""

    def __init__(self, report: SourcesReport) -> None:
        super().__init__(report.format_text())
        self.report = report


@dataclass(frozen=True)
class Sources:
    """Every source's checked records, stacked, each row with its ``source`` first.

    ``persons``: ``PERSONS_COLUMNS``, all text (a birth date may be ``YYYY-MM`` or
    ``YYYY``), empty values as null; ``events``: ``SOURCE_EVENTS_COLUMNS`` typed as the
    contract's events (naive local timestamps). ``exported_at`` is where the data ends.
    """

    persons: pl.DataFrame
    events: pl.DataFrame
    exported_at: datetime
    folder: Path
    report: SourcesReport


@dataclass(frozen=True)
class _Source:
    """One source's two tables, read and typed (persons with each ID number's form)."""

    name: str
    persons: CheckedTable
    events: CheckedTable


@dataclass(frozen=True)
class _Read:
    """A folder as read: the sources that could be, and what stopped the others."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    sources: tuple[_Source, ...]
    exported_at: datetime | None
    version: str = s.CONTRACT_VERSION  # the contract version export.json declares


def validate_sources(
    folder: Path,
    deployment: Deployment,
    extra_sources: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> SourcesReport:
    """Check a sources folder against every rule of source-exports.md; never raises for
    bad data. ``extra_sources`` (folder name -> event-type prefix) adds to the known
    sources; ``now`` is the moment of validation (default: now, in the deployment's zone).
    """
    return _check(Path(folder), deployment, extra_sources or {}, now)[0]


def load_sources(
    folder: Path,
    deployment: Deployment,
    extra_sources: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Sources:
    """Read and check a sources folder once; raise SourcesError naming every violation."""
    report, sources = _check(Path(folder), deployment, extra_sources or {}, now)
    if sources is None or report.summary is None:
        raise SourcesError(report)
    return Sources(
        persons=pl.concat([_persons(source) for source in sources]),
        events=pl.concat([_events(source) for source in sources]),
        exported_at=report.summary.exported_at,
        folder=Path(folder),
        report=report,
    )


def _check(
    folder: Path, deployment: Deployment, extra: Mapping[str, str], now: datetime | None
) -> tuple[SourcesReport, tuple[_Source, ...] | None]:
    now = now or validation_now(deployment)
    known = dict(ls.KNOWN_SOURCES) | dict(extra)
    read = _read_folder(folder, deployment, known)
    exported_at, export_source = read.exported_at, s.EXPORT_FILE
    if exported_at is not None and (problem := export_after_now(exported_at, now, export_source)):
        read = replace(read, problems=(*read.problems, problem))
    if read.problems:
        return SourcesReport(folder, read.problems, warnings=read.warnings), None
    if exported_at is None:
        export_source = "latest recorded_at"
        latest = [latest_recorded(source.events.frame) for source in read.sources]
        exported_at = max((moment for moment in latest if moment is not None), default=now)
    limits = Limits(exported_at=exported_at, now=now, contract_version=read.version)
    violations: list[RuleResult] = []
    flagged: list[RuleResult] = []
    for source in read.sources:
        violations += _violations(source, limits, deployment, known[source.name])
        flagged += apply_rules(
            source.persons,
            _flag_rules(),
            withheld=ls.IDENTITY_COLUMNS,
            max_samples=MAX_FLAGGED_SAMPLES,
        )
    report = SourcesReport(folder, (), tuple(violations), tuple(flagged), read.warnings)
    if violations:
        return report, None
    summary = SourcesSummary(
        exported_at=exported_at,
        export_date_source=export_source,
        present=tuple(source.name for source in read.sources),
        absent=tuple(name for name in known if name not in {x.name for x in read.sources}),
        sources={source.name: _summarise(source) for source in read.sources},
    )
    return replace(report, summary=summary), read.sources


# ---- reading ----------------------------------------------------------------------------
def _read_folder(folder: Path, deployment: Deployment, known: Mapping[str, str]) -> _Read:
    """Every source read and typed, or the problems that stop reading (all of them)."""
    if not folder.is_dir():
        return _Read((f"{folder}: no such folder",), (), (), None)
    problems: list[str] = []
    exported_at, version = None, s.CONTRACT_VERSION
    try:
        exported_at = read_exported_at(folder, deployment.zone)
        version = read_contract_version(folder)
    except ReadError as problem:
        problems.append(str(problem))
    subfolders = {path.name: path for path in folder.iterdir() if path.is_dir()}
    if not subfolders:
        problems.append(f"{folder}: no source subfolder (the known sources: {', '.join(known)})")
    problems += [
        f"{name}/: not a known source (the known sources: {', '.join(known)})"
        for name in sorted(set(subfolders) - set(known))
    ]
    sources: list[_Source] = []
    for name in (name for name in known if name in subfolders):
        try:
            sources.append(_read_source(subfolders[name], deployment))
        except _UnreadableSourceError as unreadable:
            problems += unreadable.problems
    warnings = tuple(
        f"{table.raw.file}: unknown column {column!r} ignored"
        for source in sources
        for table in (source.persons, source.events)
        for column in table.raw.unknown_columns
    )
    return _Read(tuple(problems), warnings, tuple(sources), exported_at, version)


class _UnreadableSourceError(Exception):
    """What stops one source from being read: every problem of both its tables."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _read_source(path: Path, deployment: Deployment) -> _Source:
    """One source's persons (read with identity values withheld) and events, typed."""
    prefix = f"{path.name}/"
    if not any(path.iterdir()):
        raise _UnreadableSourceError([f"{prefix}: empty folder: expected persons and events"])
    tables: dict[str, CheckedTable] = {}
    problems: list[str] = []
    for name, columns, kinds, unique in (
        (ls.PERSONS, ls.PERSONS_COLUMNS, PERSONS_KINDS, ls.RECORD_ID),
        (ls.EVENTS, ls.SOURCE_EVENTS_COLUMNS, COLUMN_KINDS[s.EVENTS], s.EVENT_ID),
    ):
        try:
            raw = read_table(path, name, columns, prefix=prefix, redact=name == ls.PERSONS)
            tables[name] = coerce_table(raw, deployment, kinds, unique)
        except ReadError as problem:
            problems.append(str(problem))
    if problems:
        raise _UnreadableSourceError(problems)
    persons = tables[ls.PERSONS]
    forms = [id_forms(persons.frame[column]).alias(_form(column)) for column in ID_COLUMNS]
    persons = replace(persons, frame=persons.frame.with_columns(forms))
    return _Source(path.name, persons, tables[ls.EVENTS])


# ---- ID numbers -------------------------------------------------------------------------
def id_forms(values: pl.Series) -> pl.Series:
    """Each ID number's form, as ``parse_id_number`` reads it: ``missing`` (null or
    blank), ``malformed`` (not 15 digits, or 17 digits and a digit or X, once spaces are
    removed and full-width digits read), ``bad_check`` (well formed, failing the check
    digit) or ``well_formed``. The valid numbers (nearly all) are found in Polars; the
    distinct others are read one by one."""
    text = values.cast(pl.String)
    valid = id_number_columns(text)[VALID]
    others = text.filter(~valid).drop_nulls().unique().to_list()
    table = {value: _id_form(parse_id_number(value)) for value in others}
    forms = text.replace_strict(table, default=None, return_dtype=pl.String)
    return pl.select(
        pl.when(valid).then(pl.lit(WELL_FORMED)).otherwise(forms.fill_null(MISSING))
    ).to_series()


def _id_form(number: IdNumber | None) -> str:
    if number is None:
        return MISSING
    if not number.well_formed:
        return MALFORMED
    return WELL_FORMED if number.check_ok else BAD_CHECK


def _form(column: str) -> str:
    return f"__form_{column}"


# ---- the rules --------------------------------------------------------------------------
def persons_rules(limits: Limits, deployment: Deployment) -> list[Rule]:
    """The persons table's rules (over a frame coerced with ``PERSONS_KINDS``)."""
    first, last = partial_date_bounds(pl.col(ls.BIRTH_DATE))
    return [
        *unique_id(ls.RECORD_ID),
        max_length(ls.RECORD_ID, ls.MAX_RECORD_ID_LENGTH),
        *typed(ls.BIRTH_DATE, EXPECTED["partial_date"], required=False),
        *birth_date_limits(limits, first, last),
        allowed(ls.SEX, s.SEX_VALUES),
        district_known(deployment.districts),
        allowed(ls.HUKOU, s.HUKOU_VALUES),
        allowed(ls.ETHNICITY, s.ETHNICITY_VALUES),
    ]


def source_events_rules(limits: Limits, source: str, prefix: str, records: pl.Series) -> list[Rule]:
    """The contract's events rules for one source's events: ``record_id`` one of its
    ``records``, and every known event type one of the source's own (``prefix.*``)."""
    own = Rule(
        "event_type.source",
        s.EVENT_TYPE,
        f"must be an event type of this source's own ({prefix}.*)",
        pl.col(KIND_INDEX).is_not_null() & ~pl.col(s.EVENT_TYPE).str.starts_with(f"{prefix}."),
    )
    return [*events_rules(limits, records, ls.RECORD_ID, f"{source}/{ls.PERSONS}"), own]


def _flag_rules() -> list[Rule]:
    """Values kept but worth a look: never a reason to refuse a folder."""
    return [
        Rule(
            f"{column}.well_formed",
            column,
            "is not 15 digits, or 17 digits and a digit or X: kept and flagged",
            pl.col(_form(column)) == MALFORMED,
        )
        for column in ID_COLUMNS
    ]


def _violations(
    source: _Source, limits: Limits, deployment: Deployment, prefix: str
) -> list[RuleResult]:
    records = source.persons.frame[ls.RECORD_ID]
    rules = [
        (source.persons, persons_rules(limits, deployment)),
        (source.events, source_events_rules(limits, source.name, prefix, records)),
    ]
    return [
        result
        for table, table_rules in rules
        for result in apply_rules(table, table_rules, withheld=ls.IDENTITY_COLUMNS)
    ]


# ---- what a valid source holds ----------------------------------------------------------
def _summarise(source: _Source) -> SourceSummary:
    persons = source.persons.frame
    length = pl.col(ls.BIRTH_DATE).str.len_bytes()
    births = persons.select(
        day=(length == 10).sum(),
        month=(length == 7).sum(),
        year=(length == 4).sum(),
        missing=pl.col(ls.BIRTH_DATE).is_null().sum(),
    ).row(0, named=True)
    names_missing = persons.select(
        (pl.col(ls.NAME).str.strip_chars().str.len_bytes() == 0).fill_null(True).sum()
    ).item()
    return SourceSummary(
        persons=persons.height,
        events=source.events.frame.height,
        files=(source.persons.raw.file, source.events.raw.file),
        id_number=_id_counts(persons[_form(ls.ID_NUMBER)]),
        guardian_id_number=_id_counts(persons[_form(ls.GUARDIAN_ID_NUMBER)]),
        birth_dates={precision: int(count) for precision, count in births.items()},
        names_missing=int(names_missing),
    )


def _id_counts(forms: pl.Series) -> IdCounts:
    return IdCounts(
        missing=int((forms == MISSING).sum()),
        malformed=int((forms == MALFORMED).sum()),
        bad_check=int((forms == BAD_CHECK).sum()),
    )


def _persons(source: _Source) -> pl.DataFrame:
    return source.persons.frame.select(
        pl.lit(source.name).alias(ls.SOURCE),
        *(none_if_empty(column).alias(column) for column in ls.PERSONS_COLUMNS),
    )


def _events(source: _Source) -> pl.DataFrame:
    events = finish_events(source.events.frame, owner=ls.RECORD_ID)
    return events.select(pl.lit(source.name).alias(ls.SOURCE), pl.all())
