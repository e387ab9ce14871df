"""The service's settings, from the environment (``RISKFLAG_*``) and nothing else.

Development (the default) runs on the embedded defaults: a SQLite store and a SQLite
MLflow store in the working directory, on loopback. Any other environment refuses to
start on a default that is only fit for a laptop, and says which setting to give:

- the store and the model registry must be named (``RISKFLAG_DATABASE_URL``,
  ``RISKFLAG_TRACKING_URI``): a service that silently opens an empty SQLite file next to
  wherever it was started serves nobody's children, or the wrong ones;
- listening beyond loopback needs TLS (``RISKFLAG_SSL_CERTFILE`` and
  ``RISKFLAG_SSL_KEYFILE``) or an explicit ``RISKFLAG_BEHIND_TLS_PROXY=true``: bearer
  tokens must not cross a network in clear text.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Final, Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.store.db import DEFAULT_DATABASE_URL
from serving.throttle import Limits

DEFAULT_TRACKING_URI: Final = "sqlite:///mlflow.db"  # models.registry's, without MLflow


class SettingsError(ValueError):
    """Settings the service refuses to start with; the message names each one."""


class Locations(BaseSettings):
    """Where the store and the model registry are: all that the commands other than
    `riskflag serve` read of the environment (the `riskflag` command makes them the
    defaults of every ``--url`` and ``--tracking-uri``)."""

    model_config = SettingsConfigDict(env_prefix="RISKFLAG_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    tracking_uri: str = DEFAULT_TRACKING_URI


class Settings(Locations):
    """Everything the service reads of its environment, checked before it starts."""

    environment: Literal["development", "test", "production"] = "development"
    model_alias: str = Field("champion", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    flagging_policy: Path | None = None
    # what counts as a problem in a batch's checks (models/default_monitoring.toml over
    # which it is read); recorded with each batch's checks by its SHA-256
    monitoring_policy: Path | None = None
    # the linkage policy `riskflag link --policy` linked the store's folders with: the
    # pages judge each record's link by its thresholds
    linkage_policy: Path | None = None
    deployment: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    behind_tls_proxy: bool = False
    max_body_bytes: int = Field(2_000_000, ge=1_000, le=100_000_000)
    max_events_per_request: int = Field(20_000, ge=1, le=1_000_000)
    # events of posted case histories being scored at once; past it, 503 and Retry-After
    max_events_in_flight: int = Field(100_000, ge=1, le=10_000_000)
    # failed sign-ins or tokens per client, and sign-ins per name from a client, per window
    failures_per_client: int = Field(20, ge=1, le=1_000_000)
    failures_per_name: int = Field(5, ge=1, le=1_000_000)
    failure_window_seconds: int = Field(900, ge=1, le=86_400)
    model_poll_seconds: float = Field(30.0, ge=0.0, le=86_400.0)
    page_size_max: int = Field(200, ge=1, le=10_000)
    # Prometheus' bearer token for GET /metrics, as its SHA-256 in hex (`riskflag users
    # metrics-token` makes one): the service keeps no secret in clear; none: no metrics
    metrics_token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("give both RISKFLAG_SSL_CERTFILE and RISKFLAG_SSL_KEYFILE, or neither")
        if self.max_events_in_flight < self.max_events_per_request:
            raise ValueError(
                "RISKFLAG_MAX_EVENTS_IN_FLIGHT must be at least RISKFLAG_MAX_EVENTS_PER_REQUEST"
            )
        if self.environment == "development":
            return self
        problems = []
        if self.database_url == DEFAULT_DATABASE_URL:
            problems.append(
                "RISKFLAG_DATABASE_URL: the default SQLite file in the working directory is "
                "for development; name the store"
            )
        if self.tracking_uri == DEFAULT_TRACKING_URI:
            problems.append(
                "RISKFLAG_TRACKING_URI: the default MLflow store in the working directory is "
                "for development; name the registry"
            )
        if not _loopback(self.host) and self.ssl_certfile is None and not self.behind_tls_proxy:
            problems.append(
                f"RISKFLAG_HOST={self.host}: listening beyond loopback needs TLS "
                "(RISKFLAG_SSL_CERTFILE and RISKFLAG_SSL_KEYFILE) or "
                "RISKFLAG_BEHIND_TLS_PROXY=true"
            )
        if problems:
            raise ValueError(f"insecure in {self.environment}: " + "; ".join(problems))
        return self

    @property
    def failure_limits(self) -> Limits:
        return Limits(
            self.failures_per_client,
            self.failures_per_name,
            timedelta(seconds=self.failure_window_seconds),
        )

    @property
    def tls(self) -> bool:
        return self.ssl_certfile is not None or self.behind_tls_proxy


S = TypeVar("S", bound=Locations)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (and overrides), or SettingsError naming each
    setting that is wrong and why."""
    return _read(Settings, overrides)


def load_locations() -> Locations:
    """The store's and the registry's locations from the environment, or SettingsError."""
    return _read(Locations, {})


def _read(kind: type[S], overrides: dict[str, object]) -> S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            name = f"RISKFLAG_{where.upper()}" if where else "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("; ".join(lines)) from None
