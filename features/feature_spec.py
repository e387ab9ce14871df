"""What describes one feature of the table: its spec (``FeatureSpec``), the kinds of
feature, and the units of the kinds counted in events. ``features.registry`` builds the
specs; ``features.status_specs`` holds the statuses'.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from features.config import Window

Kind = Literal[
    "count", "max_severity", "sum_amount", "days_since", "never", "decayed", "trend",
    "sources", "status", "status_days", "static", "household",
]  # fmt: skip

UNITS: Final = {
    "count": ("events", "次"),
    "max_severity": ("severity level", "严重程度"),
    "days_since": ("days", "天"),
    "never": ("yes/no", "是/否"),
    "decayed": ("events (weighted)", "次（加权）"),
    "trend": ("events per 90 days", "次/90天"),
    "sources": ("source systems", "个"),
}


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    description_en: str
    description_zh: str
    sources: tuple[str, ...]
    window: Window | None
    unit_en: str
    unit_zh: str
    family: str
    kind: Kind
    detail: str | None = None
    association: bool = False
    categories: tuple[str, ...] | None = None  # for categorical features
    half_life_days: int | None = None  # for a decayed count

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
