"""What validation found: problems that stop reading, rule violations, warnings, a summary."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

MAX_SAMPLES_PER_RULE = 50


@dataclass(frozen=True)
class Sample:
    """One offending row: 1-based data row, the value as written, optional context."""

    row: int
    value: str | None
    context: str | None = None


@dataclass(frozen=True)
class RuleResult:
    """One broken rule in one file: how many rows break it and the first few of them.

    ``withheld``: the column holds identity data, and each sample's value is the value's
    shape (``value_shape``), never the value.
    """

    file: str
    column: str
    rule: str
    description: str
    count: int
    samples: tuple[Sample, ...]
    withheld: bool = False


@dataclass(frozen=True)
class Summary:
    """What a valid folder holds."""

    children: int
    events: int
    events_per_type: dict[str, int]
    occurred_from: datetime | None
    occurred_to: datetime | None
    recorded_from: datetime | None
    recorded_to: datetime | None
    exported_at: datetime
    export_date_source: str
    children_per_district: dict[str, int]


@dataclass(frozen=True)
class ValidationReport:
    """The whole verdict on a data folder.

    ``problems`` are conditions that stop a table from being read at all (one line each:
    a missing file, a corrupt parquet file, a missing column, a wrong column type);
    ``violations`` are broken rules, each with its count and first rows.
    """

    source: Path
    problems: tuple[str, ...] = ()
    violations: tuple[RuleResult, ...] = ()
    warnings: tuple[str, ...] = ()
    summary: Summary | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.violations

    @property
    def violation_count(self) -> int:
        return sum(result.count for result in self.violations)

    def format_text(self) -> str:
        lines = [f"warning: {warning}" for warning in self.warnings]
        if self.ok and self.summary is not None:
            lines.append(f"VALID: {self.source}")
            lines.extend(_summary_lines(self.summary, self.files))
            return "\n".join(lines)
        lines.extend(f"error: {problem}" for problem in self.problems)
        for result in self.violations:
            lines.extend(violation_lines(result))
        lines.append(verdict_line(self.source, self.problems, self.violations))
        return "\n".join(lines)

    def format_rules(self) -> str:
        """Each problem and broken rule with its count, and no row or value: what may pass
        through logs (a Spark task's failure is logged by Spark), unlike ``format_text``."""
        lines = [f"error: {problem}" for problem in self.problems]
        lines += [
            f"{r.file}: column {r.column}: rule {r.rule}: {r.description}: {r.count:,} row(s)"
            for r in self.violations
        ]
        lines.append(verdict_line(self.source, self.problems, self.violations))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = jsonable(asdict(self) | {"ok": self.ok})
        return result

    def format_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def violation_lines(result: RuleResult) -> list[str]:
    """One line per sample (file, row, column, rule, value) and one for the rows not shown."""
    lines = []
    for sample in result.samples:
        value = "null" if sample.value is None else repr(sample.value)
        if result.withheld and sample.value is not None:
            value = f"value withheld ({sample.value})"
        context = f" ({sample.context})" if sample.context else ""
        lines.append(
            f"{result.file}: row {sample.row}: column {result.column}: "
            f"rule {result.rule}: {result.description}: {value}{context}"
        )
    shown = len(result.samples)
    if result.count > shown:
        lines.append(
            f"{result.file}: column {result.column}: rule {result.rule}: "
            f"{result.count - shown:,} more rows ({result.count:,} in all, first {shown} shown)"
        )
    return lines


def verdict_line(source: Path, problems: Sequence[str], violations: Sequence[RuleResult]) -> str:
    parts = []
    if problems:
        parts.append(f"{len(problems)} unreadable input problem(s)")
    if violations:
        count = sum(result.count for result in violations)
        parts.append(f"{len(violations)} rule(s) broken, {count:,} violation(s)")
    return f"INVALID: {source}: " + "; ".join(parts)


_SHAPE_CLASSES = (
    ("digit", lambda c: c.isascii() and c.isdigit()),
    ("full-width digit", lambda c: c.isdigit()),
    ("letter", lambda c: c.isascii() and c.isalpha()),
    ("Chinese character", lambda c: unicodedata.name(c, "").startswith("CJK")),
    ("space", str.isspace),
)


def value_shape(value: str | None) -> str | None:
    """What a value looks like, never what it is: its length and how many characters of
    each class it holds (``"18 characters: 17 digits, 1 letter"``). For identity data."""
    if value is None:
        return None
    counts = dict.fromkeys([name for name, _ in _SHAPE_CLASSES] + ["other"], 0)
    for char in value:
        counts[next((name for name, test in _SHAPE_CLASSES if test(char)), "other")] += 1
    parts = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items() if n]
    head = f"{len(value)} character{'s' if len(value) != 1 else ''}"
    return head + (": " + ", ".join(parts) if parts else "")


def _summary_lines(summary: Summary, files: dict[str, str]) -> list[str]:
    def when(value: datetime | None) -> str:
        return "-" if value is None else value.isoformat(sep=" ")

    lines = [
        f"  children: {summary.children:,} rows ({files.get('children', '?')}) "
        f"in {len(summary.children_per_district)} districts",
        f"  events:   {summary.events:,} rows ({files.get('events', '?')})",
        f"  occurred: {when(summary.occurred_from)} .. {when(summary.occurred_to)}",
        f"  recorded: {when(summary.recorded_from)} .. {when(summary.recorded_to)}",
        f"  exported: {when(summary.exported_at)} (from {summary.export_date_source})",
        "  events per type:",
    ]
    width = max((len(name) for name in summary.events_per_type), default=0)
    lines.extend(
        f"    {name:<{width}}  {count:>12,}" for name, count in summary.events_per_type.items()
    )
    return lines


def jsonable(value: Any) -> Any:
    """``value`` with dates, datetimes and paths as strings, tuples as lists."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value
