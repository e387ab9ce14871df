"""Deployment settings the contract depends on: time zone and known districts.

The default deployment is Beijing (Asia/Shanghai, 16 districts in three areas). An
agency elsewhere passes a TOML file::

    timezone = "Asia/Shanghai"

    [districts]
    Dongcheng = "core"
    Yanqing = "outlying"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from features.tomlfile import read_toml

AREAS: Final = ("core", "inner", "outlying")

BEIJING_DISTRICTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Dongcheng": "core",
        "Xicheng": "core",
        "Chaoyang": "inner",
        "Haidian": "inner",
        "Fengtai": "inner",
        "Shijingshan": "inner",
        "Tongzhou": "outlying",
        "Shunyi": "outlying",
        "Daxing": "outlying",
        "Changping": "outlying",
        "Fangshan": "outlying",
        "Mentougou": "outlying",
        "Huairou": "outlying",
        "Pinggu": "outlying",
        "Miyun": "outlying",
        "Yanqing": "outlying",
    }
)
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"


class DeploymentError(ValueError):
    """A deployment file that cannot be used; the message names the key and the rule."""


@dataclass(frozen=True)
class Deployment:
    """Where the data comes from: its local time zone and its districts (name -> area)."""

    timezone: str = DEFAULT_TIMEZONE
    districts: Mapping[str, str] = field(default_factory=lambda: BEIJING_DISTRICTS)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DeploymentError(f"timezone: unknown time zone {self.timezone!r}") from exc
        if not self.districts:
            raise DeploymentError("districts: at least one district is required")
        for name, area in self.districts.items():
            if not isinstance(name, str) or not name:
                raise DeploymentError(f"districts: district names must be non-empty, got {name!r}")
            if area not in AREAS:
                raise DeploymentError(
                    f"districts.{name}: area must be one of {', '.join(AREAS)}, got {area!r}"
                )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def area_of(self, district: str) -> str:
        return self.districts[district]


def load_deployment(path: Path | None) -> Deployment:
    """Read a deployment TOML file; None gives the default (Beijing) deployment.

    Not laid over defaults key by key (``features.tomlfile.read_over_defaults``): a
    deployment's ``[districts]`` replaces Beijing's whole, and a missing ``timezone`` is
    Asia/Shanghai; only the reading of the file, and its errors, are shared.
    """
    if path is None:
        return Deployment()
    raw = read_toml(path, DeploymentError)
    unknown = sorted(set(raw) - {"timezone", "districts"})
    if unknown:
        raise DeploymentError(f"{path}: unknown key {unknown[0]!r} (known: timezone, districts)")
    timezone = raw.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(timezone, str):
        raise DeploymentError(f"{path}: timezone must be a string")
    districts = raw.get("districts", BEIJING_DISTRICTS)
    if not isinstance(districts, Mapping):
        raise DeploymentError(f"{path}: districts must be a table of name = area")
    return Deployment(timezone=timezone, districts=MappingProxyType(dict(districts)))
