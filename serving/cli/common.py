"""What the service's commands share: the one way a command fails (features.console),
the errors that end a command with their message, and a store at the latest schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Final

import typer
from sqlalchemy import Engine

from features.console import fail
from features.deployment import DeploymentError
from models.flagging import FlaggingError
from models.monitoring import MonitoringError
from serving.errors import DomainError
from serving.settings import SettingsError
from serving.store.db import StoreError, make_engine, require_current

# what a command reports as ``error: <message>`` and exit status 2
EXPECTED: Final[tuple[type[Exception], ...]] = (
    DomainError,
    StoreError,
    DeploymentError,
    FlaggingError,
    MonitoringError,
    SettingsError,
)
URL_HELP: Final = "Database URL (default: $RISKFLAG_DATABASE_URL, else sqlite:///riskflag.db)."
Url = Annotated[str, typer.Option(help=URL_HELP)]


@contextmanager
def reported(*also: type[Exception]) -> Iterator[None]:
    """Run the block; an expected error (or one of ``also``) ends the command with its
    message (a message never quotes a child's data nor a URL's password)."""
    try:
        yield
    except (*EXPECTED, *also) as exc:
        raise fail(str(exc)) from exc


def current_store(url: str) -> Engine:
    """An engine on a store at the latest schema (StoreError otherwise, naming the fix)."""
    engine = make_engine(url)
    require_current(engine)
    return engine
