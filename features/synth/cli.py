"""`riskflag synth`: write a synthetic data folder with its oracle (a thin wrapper)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from features.console import fail
from features.synth.config import (
    DEFAULT_END,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_START,
    SynthConfig,
    SynthConfigError,
)
from features.synth.generator import OutputFolderError, SynthSummary, generate

if TYPE_CHECKING:
    from features.synth.sources import SourcesSummary


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise SynthConfigError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from exc


def _config(
    children: int,
    seed: int,
    start: str,
    end: str,
    file_format: str,
    oracle_as_of: list[str] | None,
    horizon_days: int,
) -> SynthConfig:
    as_of = tuple(_date("--oracle-as-of", text) for text in oracle_as_of) if oracle_as_of else None
    return SynthConfig(
        children=children,
        seed=seed,
        start=_date("--start", start),
        end=_date("--end", end),
        file_format=file_format,
        horizon_days=horizon_days,
        oracle_as_of=as_of,
    )


def summary_lines(summary: SynthSummary) -> list[str]:
    """What the command prints: sizes, the base rate over the oracle's dates, time taken."""
    first, last = summary.as_of_dates[0], summary.as_of_dates[-1]
    return [
        f"wrote {summary.out_dir}",
        f"children: {summary.children:,}  events: {summary.events:,}",
        f"oracle: {summary.oracle_rows:,} rows, {len(summary.as_of_dates)} as-of dates "
        f"{first}..{last}",
        f"outcome base rate in the horizon: {summary.base_rate:.2%} realised, "
        f"{summary.mean_oracle:.2%} mean oracle probability",
        f"time: {summary.seconds:.1f} s",
    ]


def sources_lines(summary: SourcesSummary) -> list[str]:
    """What ``--sources`` adds to the output: records and events per source, the truth."""
    per_source = ", ".join(f"{source} {n:,}" for source, n in summary.records.items())
    return [
        f"wrote {summary.out_dir}",
        f"person records: {sum(summary.records.values()):,} ({per_source})",
        f"events: {sum(summary.events.values()):,}",
        f"truth of every record: {summary.truth_file}",
        f"time: {summary.seconds:.1f} s",
    ]


def synth(
    children: Annotated[int, typer.Option("--children", help="Number of children.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (new or empty).")],
    start: Annotated[
        str, typer.Option("--start", help="First simulated day, YYYY-MM-DD.")
    ] = DEFAULT_START.isoformat(),
    end: Annotated[
        str, typer.Option("--end", help="Export date, YYYY-MM-DD (export at 00:00).")
    ] = DEFAULT_END.isoformat(),
    file_format: Annotated[
        str, typer.Option("--format", help="Table format: parquet or csv.")
    ] = "parquet",
    oracle_as_of: Annotated[
        list[str] | None,
        typer.Option(
            "--oracle-as-of",
            help="As-of date of the oracle (repeatable); default: 24 month starts "
            "ending at the last whose horizon ends by --end.",
        ),
    ] = None,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Outcome horizon of the oracle, in days.")
    ] = DEFAULT_HORIZON_DAYS,
    sources: Annotated[
        bool,
        typer.Option(
            "--sources",
            help="Also write each division's own person records with realistic identity "
            "noise: OUT/truth (the folder above, plus records.parquet: the true child of "
            "every record) and OUT/sources (the source exports, for linkage).",
        ),
    ] = False,
) -> None:
    """Write synthetic Beijing case histories (contract 1.1) with each child's true risk.

    The output folder gets children and events tables, export.json, oracle.parquet (each
    child's true probability of the default outcome within the horizon) and synth.json.
    With --sources these go into OUT/truth, and OUT/sources gets the source exports.
    """
    try:
        config = _config(children, seed, start, end, file_format, oracle_as_of, horizon_days)
        if sources:
            # imported here: the sources need pinyin and OpenCC, which plain synth does not
            from features.synth.sources import generate_with_sources  # noqa: PLC0415

            summary, written = generate_with_sources(config, out)
        else:
            summary, written = generate(config, out), None
    except (SynthConfigError, OutputFolderError) as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"{out}: cannot write ({exc.strerror or exc})") from exc
    for line in summary_lines(summary) + (sources_lines(written) if written else []):
        typer.echo(line)
