"""The sources folder (source-exports.md) read and checked once, or a report of what is wrong.

Linkage starts from each partner's own records, and a bad export must stop it with the
same quality of message as a bad contract folder: file, row, column, rule and value, and
nothing half-read. So this module reads every source with the contract's own readers
(``features.contract``: the files, the typing, the events' rules, the report) and adds
only what is the sources' own:

- the folder: one subfolder per known source (``KNOWN_SOURCES``, or a deployment's
  ``extra_sources``); an unknown or empty subfolder is an error; a missing source is not;
- persons: record_id (non-empty, unique in its source, at most 64 characters), sex,
  hukou, ethnicity, district (a known one, or null), birth date (null, or ``YYYY-MM-DD``,
  ``YYYY-MM``, ``YYYY``: a real date, not after the export, not more than 25 years before);
- events: the contract's rules, with ``record_id`` (a row of the same source's persons) in
  place of child_id, and event types of the source's own;
- ID numbers are never refused: a malformed one or one failing its check digit is
  evidence to weigh, counted in the summary.

Identity values (names, ID numbers, phones, addresses) never appear in a report: their
samples show the value's shape ("18 characters: 17 digits, 1 letter"), not the value.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from features import schema as s
from features.contract.files import ReadError, read_exported_at, read_table
from features.contract.load import CheckedTable, apply_rules, coerce_table
from features.contract.report import RuleResult, ValidationReport
from features.contract.rules import Limits, Rule, empty, events_rules, not_one_of, unique_id
from features.deployment import Deployment
from features.linkage import schema as ls
from features.linkage.idnumber import id_number_columns
from features.linkage.standardise import PartialDate, parse_birth_date

_EVENT_KINDS: dict[str, Any] = {
    s.OCCURRED_AT: "timestamp",
    s.RECORDED_AT: "timestamp",
    s.SEVERITY: "integer",
    s.AMOUNT: "number",
}


class SourcesError(ValueError):
    """A sources folder that breaks source-exports.md; ``report`` says every way it does."""

    def __init__(self, report: SourcesReport) -> None:
        super().__init__(report.format_text())
        self.report = report


@dataclass(frozen=True)
class SourcesReport:
    """The verdict on a sources folder: the contract's report, and per source counts."""

    verdict: ValidationReport
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    exported_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def format_text(self) -> str:
        if not self.ok:
            return self.verdict.format_text()
        lines = [f"VALID: {self.verdict.source}"]
        lines.append(f"  exported: {self.exported_at}")
        for source, counts in self.counts.items():
            parts = ", ".join(f"{name} {value:,}" for name, value in counts.items())
            lines.append(f"  {source}: {parts}")
        return "\n".join(lines)

    def format_json(self) -> str:
        payload = self.verdict.to_dict() | {"sources": self.counts}
        payload["exported_at"] = self.exported_at.isoformat() if self.exported_at else None
        return json.dumps(payload, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Sources:
    """Every source's checked records: persons (all strings) and typed events, stacked,
    each with its ``source`` first; and when the exports were taken."""

    persons: pl.DataFrame
    events: pl.DataFrame
    exported_at: datetime
    folder: Path
    report: SourcesReport


@dataclass
class _Source:
    name: str
    persons: CheckedTable
    events: CheckedTable


def validate_sources(
    folder: Path, deployment: Deployment, extra_sources: Mapping[str, str] | None = None
) -> SourcesReport:
    """Check a sources folder against source-exports.md; never raises for bad data."""
    return _check(Path(folder), deployment, extra_sources or {}, _now(deployment))[0]


def load_sources(
    folder: Path, deployment: Deployment, extra_sources: Mapping[str, str] | None = None
) -> Sources:
    """Read and check a sources folder once; raise SourcesError naming every violation."""
    report, sources = _check(Path(folder), deployment, extra_sources or {}, _now(deployment))
    if sources is None or report.exported_at is None:
        raise SourcesError(report)
    persons = pl.concat(
        [
            src.persons.raw.frame.select(pl.lit(src.name).alias(ls.SOURCE), pl.all())
            for src in sources
        ]
    )
    events = pl.concat([_typed_events(src) for src in sources])
    return Sources(persons.select(_as_text()), events, report.exported_at, Path(folder), report)


def _now(deployment: Deployment) -> datetime:
    return datetime.now(deployment.zone).replace(tzinfo=None, microsecond=0)


def _check(
    folder: Path, deployment: Deployment, extra: Mapping[str, str], now: datetime
) -> tuple[SourcesReport, list[_Source] | None]:
    known = dict(ls.KNOWN_SOURCES) | dict(extra)
    problems, sources, exported_at = _read(folder, deployment, known)
    if problems:
        return SourcesReport(ValidationReport(folder, problems=tuple(problems))), None
    if exported_at is None:
        latest = [src.events.frame[s.RECORDED_AT].max() for src in sources]
        exported_at = max((t for t in latest if isinstance(t, datetime)), default=now)
    if exported_at > now:
        problem = f"{s.EXPORT_FILE}: exported_at {exported_at} lies after the moment of validation"
        return SourcesReport(ValidationReport(folder, problems=(problem,))), None
    limits = Limits(exported_at=exported_at, now=now)
    violations: list[RuleResult] = []
    for src in sources:
        violations += _violations(src, limits, deployment, known[src.name])
    verdict = ValidationReport(folder, violations=tuple(violations))
    counts = {src.name: _counts(src) for src in sources} if not violations else {}
    report = SourcesReport(verdict, counts, exported_at)
    return report, (sources if not violations else None)


def _read(
    folder: Path, deployment: Deployment, known: Mapping[str, str]
) -> tuple[list[str], list[_Source], datetime | None]:
    """Every source's two tables read and typed, or the problems that stop reading."""
    if not folder.is_dir():
        return [f"{folder}: no such folder"], [], None
    problems: list[str] = []
    sources: list[_Source] = []
    exported_at = None
    try:
        exported_at = read_exported_at(folder, deployment.zone)
    except ReadError as problem:
        problems.append(str(problem))
    subfolders = sorted(path for path in folder.iterdir() if path.is_dir())
    if not subfolders:
        problems.append(f"{folder}: no source subfolder (expected some of {', '.join(known)})")
    for path in subfolders:
        if path.name not in known:
            problems.append(f"{path.name}/: unknown source (known: {', '.join(known)})")
        elif not any(path.iterdir()):
            problems.append(f"{path.name}/: empty source folder")
        else:
            try:
                sources.append(_read_source(path, deployment))
            except ReadError as problem:
                problems.append(f"{path.name}/{problem}")
    return problems, sources, exported_at


def _read_source(path: Path, deployment: Deployment) -> _Source:
    persons = read_table(path, ls.PERSONS, ls.PERSONS_COLUMNS)
    events = read_table(path, ls.EVENTS, ls.SOURCE_EVENTS_COLUMNS)
    return _Source(
        path.name,
        coerce_table(persons, deployment, {}, ls.RECORD_ID),
        coerce_table(events, deployment, _EVENT_KINDS, s.EVENT_ID),
    )


def _violations(
    src: _Source, limits: Limits, deployment: Deployment, prefix: str
) -> list[RuleResult]:
    persons = src.persons.frame
    birth = _birth_spans(persons[ls.BIRTH_DATE])
    src.persons = dataclasses.replace(src.persons, frame=persons.hstack(birth))
    found = apply_rules(src.persons, persons_rules(limits, deployment))
    owners = persons[ls.RECORD_ID]
    rules = events_rules(limits, owners, ls.RECORD_ID, f"{src.name}/{ls.PERSONS}")
    rules.append(_own_source_rule(prefix))
    found += apply_rules(src.events, rules)
    return [_named(src.name, result) for result in found]


def persons_rules(limits: Limits, deployment: Deployment) -> list[Rule]:
    """The persons table's rules (``_birth_bad``, ``_birth_first`` and ``_birth_last``: the
    birth date's span, from ``_birth_spans``)."""
    return [
        *unique_id(ls.RECORD_ID),
        Rule(
            "record_id.max_length",
            ls.RECORD_ID,
            f"must be at most {ls.MAX_RECORD_ID_LENGTH} characters",
            pl.col(ls.RECORD_ID).str.len_chars() > ls.MAX_RECORD_ID_LENGTH,
        ),
        Rule("sex.allowed", ls.SEX, "must be one of F, M, U", not_one_of(ls.SEX, s.SEX_VALUES)),
        Rule(
            "hukou.allowed", ls.HUKOU, "must be one of " + ", ".join(s.HUKOU_VALUES),
            not_one_of(ls.HUKOU, s.HUKOU_VALUES),
        ),
        Rule(
            "ethnicity.allowed", ls.ETHNICITY, "must be one of " + ", ".join(s.ETHNICITY_VALUES),
            not_one_of(ls.ETHNICITY, s.ETHNICITY_VALUES),
        ),
        Rule(
            "district.known", ls.DISTRICT, "must be null or a district this deployment knows",
            ~empty(ls.DISTRICT) & ~pl.col(ls.DISTRICT).is_in(tuple(deployment.districts)),
        ),
        Rule(
            "birth_date.form", ls.BIRTH_DATE,
            "must be null, YYYY-MM-DD, YYYY-MM or YYYY, and a real date", pl.col("_birth_bad"),
        ),
        Rule(
            "birth_date.not_after_export", ls.BIRTH_DATE,
            f"must not be after the export date {limits.export_date}",
            pl.col("_birth_first") > limits.export_date,
        ),
        Rule(
            "birth_date.max_age", ls.BIRTH_DATE,
            f"must not be more than {s.MAX_AGE_YEARS_AT_EXPORT} years before the export date",
            pl.col("_birth_last") < limits.earliest_birth_date,
        ),
    ]  # fmt: skip


def _own_source_rule(prefix: str) -> Rule:
    return Rule(
        "event_type.source",
        s.EVENT_TYPE,
        f"must be an event type of this source ({prefix}.*)",
        ~pl.col(s.EVENT_TYPE).str.starts_with(prefix + "."),
    )


def _birth_spans(texts: pl.Series) -> pl.DataFrame:
    """Per row: whether the birth date is malformed, and the first and last day it allows."""
    table: dict[str, tuple[bool, date | None, date | None]] = {}
    for text in texts.drop_nulls().unique().to_list():
        try:
            parsed = parse_birth_date(text)
        except ValueError:
            table[text] = (True, None, None)
            continue
        table[text] = (False, *_span(parsed)) if parsed else (False, None, None)
    keys = pl.DataFrame(
        {
            "_key": list(table),
            "_birth_bad": [v[0] for v in table.values()],
            "_birth_first": pl.Series([v[1] for v in table.values()], dtype=pl.Date),
            "_birth_last": pl.Series([v[2] for v in table.values()], dtype=pl.Date),
        },
        schema={"_key": pl.String, "_birth_bad": pl.Boolean, "_birth_first": pl.Date,
                "_birth_last": pl.Date},
    )  # fmt: skip
    joined = pl.DataFrame({"_key": texts.cast(pl.String)}).join(keys, on="_key", how="left")
    return joined.drop("_key").with_columns(pl.col("_birth_bad").fill_null(False))


def _span(birth: PartialDate) -> tuple[date, date]:
    """The first and last day a birth date at its precision allows."""
    if birth.day is not None and birth.month is not None:
        day = date(birth.year, birth.month, birth.day)
        return day, day
    if birth.month is None:
        return date(birth.year, 1, 1), date(birth.year, 12, 31)
    after = date(birth.year + birth.month // 12, birth.month % 12 + 1, 1)
    return date(birth.year, birth.month, 1), after - timedelta(days=1)


def _named(source: str, result: RuleResult) -> RuleResult:
    """A result with its file named within the folder, identity values shown as shapes."""
    samples = result.samples
    if result.column in ls.IDENTITY_COLUMNS:
        samples = tuple(dataclasses.replace(x, value=_shape(x.value)) for x in samples)
    return dataclasses.replace(result, file=f"{source}/{result.file}", samples=samples)


def _shape(value: str | None) -> str | None:
    """What a value looks like, never what it is."""
    if value is None:
        return None
    digits = sum(ch.isdigit() for ch in value)
    return f"<{len(value)} characters: {digits} digits, {len(value) - digits} other>"


def _counts(src: _Source) -> dict[str, int]:
    persons = src.persons.raw.frame.select(_as_text())
    ids = id_number_columns(persons[ls.ID_NUMBER])
    well_formed = persons[ls.ID_NUMBER].str.replace_all(r"\s", "").str.len_chars()
    precision = src.persons.frame.select(
        day=(pl.col(ls.BIRTH_DATE).str.len_chars() >= 8).sum(),
        missing=pl.col(ls.BIRTH_DATE).is_null().sum(),
    ).row(0)
    return {
        "persons": persons.height,
        "events": src.events.raw.frame.height,
        "names_missing": int(persons[ls.NAME].is_null().sum()),
        "id_numbers_missing": int(persons[ls.ID_NUMBER].is_null().sum()),
        "id_numbers_malformed": int((~well_formed.is_in([15, 18])).sum()),
        "id_numbers_failing_check": int(
            (persons[ls.ID_NUMBER].is_not_null() & ~ids["valid"]).sum()
        ),
        "birth_dates_full": int(precision[0]),
        "birth_dates_missing": int(precision[1]),
    }


def _as_text() -> pl.Expr:
    """Every persons column as text (a parquet export may type birth_date as a date)."""
    return pl.all().cast(pl.String)


def _typed_events(src: _Source) -> pl.DataFrame:
    frame = src.events.frame
    return frame.select(
        pl.lit(src.name).alias(ls.SOURCE),
        pl.col(s.EVENT_ID),
        pl.col(ls.RECORD_ID),
        pl.col(s.EVENT_TYPE),
        pl.col(s.OCCURRED_AT),
        pl.col(s.RECORDED_AT),
        pl.col(s.SEVERITY).cast(pl.Int8),
        pl.col(s.AMOUNT),
        pl.when(pl.col(s.DETAIL).str.len_bytes() > 0).then(pl.col(s.DETAIL)).alias(s.DETAIL),
    )
