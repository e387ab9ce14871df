"""What checking a sources folder found: problems, violations, flagged values, a summary.

Why: a partner's export is refused with the same quality of message as a contract
folder (file, row, column, rule, value), and when it is accepted the data owner still
needs to see what linkage will have to work with: how many ID numbers are missing,
malformed or fail their check digit, how many birth dates are known only to the month or
the year. None of it may carry identity data, which ends up in terminals and CI logs.

How: violations and flagged values are the contract's ``RuleResult`` (its file is
``SOURCE/persons.csv``, relative to the sources folder), formatted by the contract's own
``violation_lines``; a result on an identity column is ``withheld``: its samples hold
each value's shape ("18 characters: 17 digits, 1 letter"), never the value. Flagged
values (an ID number that is not well formed) are warnings: kept, counted, shown with
their rows, and never make a folder invalid.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from features.contract.report import RuleResult, jsonable, verdict_line, violation_lines

BIRTH_PRECISIONS = ("day", "month", "year", "missing")


@dataclass(frozen=True)
class IdCounts:
    """ID numbers of one column of one source, by what is wrong with them."""

    missing: int  # null or blank
    malformed: int  # not 15 digits, or 17 digits and a digit or X: kept and flagged
    bad_check: int  # well formed, failing the ISO 7064 MOD 11-2 check digit


@dataclass(frozen=True)
class SourceSummary:
    """What one source holds."""

    persons: int
    events: int
    files: tuple[str, str]  # the persons and events files, relative to the sources folder
    id_number: IdCounts
    guardian_id_number: IdCounts
    birth_dates: dict[str, int]  # by precision: day, month, year, missing
    names_missing: int


@dataclass(frozen=True)
class SourcesSummary:
    """What a valid sources folder holds: which sources, when exported, each one's counts."""

    exported_at: datetime
    export_date_source: str
    present: tuple[str, ...]
    absent: tuple[str, ...]  # known sources without a subfolder (not joined yet)
    sources: dict[str, SourceSummary]


@dataclass(frozen=True)
class SourcesReport:
    """The whole verdict on a sources folder.

    ``problems`` stop a file from being read at all (one line each); ``violations`` are
    broken rules, each with its count and first rows; ``flagged`` are values kept but
    worth a look (never a reason to refuse); ``warnings`` are other remarks.
    """

    folder: Path
    problems: tuple[str, ...] = ()
    violations: tuple[RuleResult, ...] = ()
    flagged: tuple[RuleResult, ...] = ()
    warnings: tuple[str, ...] = ()
    summary: SourcesSummary | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and not self.violations

    @property
    def violation_count(self) -> int:
        return sum(result.count for result in self.violations)

    def format_text(self) -> str:
        lines = [f"warning: {warning}" for warning in self.warnings]
        lines += [f"warning: {line}" for result in self.flagged for line in violation_lines(result)]
        if self.ok and self.summary is not None:
            lines.append(f"VALID: {self.folder}")
            lines.extend(_summary_lines(self.summary))
            return "\n".join(lines)
        lines.extend(f"error: {problem}" for problem in self.problems)
        for result in self.violations:
            lines.extend(violation_lines(result))
        lines.append(verdict_line(self.folder, self.problems, self.violations))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = jsonable(asdict(self) | {"ok": self.ok})
        return result

    def format_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _summary_lines(summary: SourcesSummary) -> list[str]:
    known = len(summary.present) + len(summary.absent)
    absent = f"; absent: {', '.join(summary.absent)}" if summary.absent else ""
    lines = [
        f"  exported: {summary.exported_at.isoformat(sep=' ')} (from {summary.export_date_source})",
        f"  sources:  {', '.join(summary.present)} ({len(summary.present)} of {known}){absent}",
    ]
    for name, source in summary.sources.items():
        lines.extend(_source_lines(name, source))
    return lines


def _source_lines(name: str, source: SourceSummary) -> list[str]:
    births = ", ".join(f"{source.birth_dates[p]:,} {p}" for p in BIRTH_PRECISIONS)
    return [
        f"  {name}: {source.persons:,} person records ({source.files[0]}), "
        f"{source.events:,} events ({source.files[1]})",
        f"    id_number:          {_ids(source.id_number)}",
        f"    guardian_id_number: {_ids(source.guardian_id_number)}",
        f"    birth_date:         {births}",
        f"    name:               {source.names_missing:,} missing",
    ]


def _ids(counts: IdCounts) -> str:
    return (
        f"{counts.missing:,} missing, {counts.malformed:,} not well formed (kept and flagged), "
        f"{counts.bad_check:,} failing the check digit"
    )
