"""What to generate: size, seed, window, format and oracle dates, checked once here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from features.synth.params import SynthParams

DEFAULT_START: Final = date(2019, 1, 1)
DEFAULT_END: Final = date(2025, 12, 31)
DEFAULT_HORIZON_DAYS: Final = 180
DEFAULT_ORACLE_DATES: Final = 24
DEFAULT_CHUNK_SIZE: Final = 50_000
FORMATS: Final = ("parquet", "csv")


class SynthConfigError(ValueError):
    """A generator setting that cannot be used; the message names it and the rule."""


@dataclass(frozen=True)
class SynthConfig:
    """One generation run. The output depends on every field except ``workers``."""

    children: int  # number of children (rows of children)
    seed: int  # any non-negative integer
    start: date = DEFAULT_START  # first day simulated (systems go live)
    end: date = DEFAULT_END  # export instant is end 00:00
    file_format: str = "parquet"  # "parquet" or "csv"
    horizon_days: int = DEFAULT_HORIZON_DAYS  # outcome horizon of the oracle
    oracle_as_of: tuple[date, ...] | None = None  # None: the default 24 month starts
    params: SynthParams = field(default_factory=SynthParams)
    chunk_size: int = DEFAULT_CHUNK_SIZE  # children per independently seeded chunk
    workers: int = 2  # worker processes (never changes the output)

    def as_of_dates(self) -> tuple[date, ...]:
        """The oracle's as-of dates: given, or 24 month starts ending at the last that fits."""
        if self.oracle_as_of is not None:
            return tuple(sorted(set(self.oracle_as_of)))
        return default_as_of_dates(self.start, self.end, self.horizon_days)


def default_as_of_dates(start: date, end: date, horizon_days: int) -> tuple[date, ...]:
    """Up to 24 consecutive first-of-month dates D >= start, the last with D + horizon <= end."""
    last = date(end.year, end.month, 1)
    while last + timedelta(days=horizon_days) > end:
        last = _previous_month(last)
    dates = [last]
    while len(dates) < DEFAULT_ORACLE_DATES and _previous_month(dates[-1]) >= start:
        dates.append(_previous_month(dates[-1]))
    return tuple(d for d in reversed(dates) if d >= start)


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), 12 if day.month == 1 else day.month - 1, 1)


def check_config(config: SynthConfig, today: date | None = None) -> None:
    """Raise SynthConfigError naming the first setting that cannot be used."""
    today = today or date.today()
    if config.children < 1:
        raise SynthConfigError(f"--children must be at least 1, got {config.children}")
    if config.seed < 0:
        raise SynthConfigError(f"--seed must be a non-negative integer, got {config.seed}")
    if config.file_format not in FORMATS:
        raise SynthConfigError(f"--format must be parquet or csv, got {config.file_format!r}")
    if config.start >= config.end:
        raise SynthConfigError(f"--start {config.start} must be before --end {config.end}")
    if config.end > today:
        raise SynthConfigError(f"--end {config.end} lies in the future (today is {today})")
    if config.horizon_days < 1:
        raise SynthConfigError(f"--horizon-days must be at least 1, got {config.horizon_days}")
    if config.chunk_size < 1:
        raise SynthConfigError(f"chunk_size must be at least 1, got {config.chunk_size}")
    _check_as_of(config)


def _check_as_of(config: SynthConfig) -> None:
    dates = config.as_of_dates()
    if not dates:
        raise SynthConfigError(
            f"no oracle date fits: the window {config.start}..{config.end} is shorter than "
            f"the {config.horizon_days}-day horizon"
        )
    for day in dates:
        if day < config.start or day + timedelta(days=config.horizon_days) > config.end:
            raise SynthConfigError(
                f"--oracle-as-of {day}: must lie in [{config.start}, --end - horizon] "
                f"so that its {config.horizon_days}-day horizon ends by {config.end}"
            )
