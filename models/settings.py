"""Training settings: the as-of dates of each block, sampling, and family parameters.

They are read from ``default_training.toml`` shipped with the package, overridden key by
key by a user's file; an unknown section or key is an error naming it, so a typo never
trains a model silently on defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import features.schema as s
from features.tomlfile import read_over_defaults
from models.splits import SplitError, TemporalSplit, temporal_split


class TrainingSettingsError(ValueError):
    """Training settings that cannot be used; the message names the key."""


@dataclass(frozen=True)
class TrainingSettings:
    every_months: int = 1
    train_dates: int = 12
    calibration_dates: int = 3
    test_dates: int = 3
    last_test: date | None = None
    max_train_rows: int = 1_000_000
    seed: int = 20261129
    increasing: tuple[str, ...] = ()
    model: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dates": {
                "every_months": self.every_months,
                "train_dates": self.train_dates,
                "calibration_dates": self.calibration_dates,
                "test_dates": self.test_dates,
                "last_test": self.last_test.isoformat() if self.last_test else "",
            },
            "sampling": {"max_train_rows": self.max_train_rows, "seed": self.seed},
            "direction": {"increasing": list(self.increasing)},
            "model": self.model,
        }


def load_training_settings(path: Path | None = None) -> TrainingSettings:
    raw = read_over_defaults(
        "models", "default_training.toml", path, TrainingSettingsError, what="family"
    )
    dates, sampling = raw["dates"], raw["sampling"]
    for key in ("every_months", "train_dates", "calibration_dates", "test_dates"):
        if not isinstance(dates[key], int) or dates[key] < 1:
            raise TrainingSettingsError(f"dates.{key}: a positive whole number, got {dates[key]!r}")
    for key in ("max_train_rows", "seed"):
        if not isinstance(sampling[key], int) or sampling[key] < 1:
            raise TrainingSettingsError(
                f"sampling.{key}: a positive whole number, got {sampling[key]!r}"
            )
    increasing = raw["direction"]["increasing"]
    if not isinstance(increasing, list) or not all(isinstance(x, str) for x in increasing):
        raise TrainingSettingsError("direction.increasing: a list of event types (or type:detail)")
    for selector in increasing:
        event_type, _, detail = selector.partition(":")
        kind = s.CATALOGUE.get(event_type)
        if kind is None:
            raise TrainingSettingsError(
                f"direction.increasing: {event_type!r} is not an event type"
            )
        if detail and detail not in (kind.details or ()):
            raise TrainingSettingsError(
                f"direction.increasing: {selector!r}: {detail!r} is not a detail of {event_type}"
            )
    last_test = None
    if dates["last_test"]:
        try:
            last_test = date.fromisoformat(str(dates["last_test"]))
        except ValueError as exc:
            raise TrainingSettingsError(f"dates.last_test: not a YYYY-MM-DD date ({exc})") from exc
    return TrainingSettings(
        every_months=dates["every_months"],
        train_dates=dates["train_dates"],
        calibration_dates=dates["calibration_dates"],
        test_dates=dates["test_dates"],
        last_test=last_test,
        max_train_rows=sampling["max_train_rows"],
        seed=sampling["seed"],
        increasing=tuple(increasing),
        model={family: dict(params) for family, params in raw["model"].items()},
    )


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def plan_split(
    settings: TrainingSettings, exported_at: datetime, horizon_days: int
) -> TemporalSplit:
    """Month-start as-of dates for the three blocks, the test block ending at the latest
    date whose label is known on ``exported_at`` (or at ``dates.last_test``)."""
    horizon = timedelta(days=horizon_days)
    known_until = exported_at.date() - horizon
    last = settings.last_test or _month_start(known_until, 0)
    if last > known_until:
        raise TrainingSettingsError(
            f"dates.last_test {last}: its {horizon_days}-day label window runs past the "
            f"export ({exported_at.date()}); the latest possible is {known_until}"
        )
    step = settings.every_months
    test = [_month_start(last, step * i) for i in reversed(range(settings.test_dates))]
    calibration_end = next(
        _month_start(test[0], back)
        for back in range(step, 10_000, step)
        if _month_start(test[0], back) + horizon <= test[0]
    )
    calibration = [
        _month_start(calibration_end, step * i) for i in reversed(range(settings.calibration_dates))
    ]
    train_end = next(
        _month_start(calibration[0], back)
        for back in range(step, 10_000, step)
        if _month_start(calibration[0], back) + horizon <= calibration[0]
    )
    train = [_month_start(train_end, step * i) for i in reversed(range(settings.train_dates))]
    try:
        return temporal_split(
            train + calibration + test,
            horizon_days,
            test_from=test[0],
            calibration_dates=settings.calibration_dates,
        )
    except SplitError as exc:
        raise TrainingSettingsError(str(exc)) from exc
