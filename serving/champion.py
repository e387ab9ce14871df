"""The model the service scores with: the registry's champion, loaded once, swapped live.

At start-up the version behind the alias (``champion`` unless configured) is downloaded,
its SHA-256 checked against the one recorded at registration, and only then unpickled
(models.registry.load_version). ``refresh`` asks the registry which version the alias
points at now; when it moved, the new version is loaded and verified *beside* the one
serving, then swapped in with one reference assignment: a request holds the model it
started with until it ends, so none fails or mixes two models. A version that cannot be
loaded or verified is refused and the current one keeps serving; the failure is kept
for /readyz and the admin endpoint.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from models.registry import (
    MODEL_NAME,
    SHA_TAG,
    RegistryError,
    find_version,
    load_version,
    use_tracking,
)
from models.riskmodel import RiskModel
from serving.errors import NotReadyError

log = logging.getLogger("riskflag.champion")


class ModelUnavailableError(NotReadyError):
    """No model can serve: none loaded yet, or the registry has no such alias."""

    code = "model_unavailable"


@dataclass(frozen=True)
class Served:
    """A loaded, verified model and what the registry says of it."""

    model: RiskModel
    version: str
    sha256: str
    tags: dict[str, str]
    loaded_at: datetime
    reports: dict[str, Any] = field(default_factory=dict)

    @property
    def promotion(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.tags.get("riskflag.promotion", "{}"))
        return parsed


def _reports(run_id: str | None) -> dict[str, Any]:
    """The run's model card and evaluation and fairness summaries (empty when missing)."""
    if not run_id:
        return {}
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("model_card.md", "evaluation.json", "fairness.json"):
            try:
                local = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=f"reports/{name}", dst_path=tmp
                )
            except (MlflowException, OSError):
                continue
            text = Path(local).read_text(encoding="utf-8")
            found[name] = json.loads(text) if name.endswith(".json") else text
    return found


class Champion:
    """Holds the serving model; thread-safe; ``current`` never blocks on a load."""

    def __init__(self, tracking_uri: str, alias: str = "champion") -> None:
        self.tracking_uri = tracking_uri
        self.alias = alias
        self._served: Served | None = None
        self._lock = threading.Lock()
        self._earlier: dict[tuple[str, str], RiskModel] = {}  # a batch's, not serving
        self.last_error: str | None = None
        self.last_checked: datetime | None = None

    def current(self) -> Served:
        served = self._served
        if served is None:
            raise ModelUnavailableError(
                self.last_error or f"no {MODEL_NAME} model with alias {self.alias!r} loaded yet"
            )
        return served

    @property
    def ready(self) -> bool:
        return self._served is not None

    def model_of(self, version: str, sha256: str) -> RiskModel:
        """The model a batch was scored with: the serving one if it is that version, else
        that version from the registry, verified, and its SHA-256 the one the batch
        recorded (ModelUnavailableError otherwise: a batch is only judged by its model)."""
        served = self._served
        if served is not None and served.version == version and served.sha256 == sha256:
            return served.model
        with self._lock:
            if (version, sha256) not in self._earlier:
                try:
                    use_tracking(self.tracking_uri)
                    recorded = str(find_version(version).tags.get(SHA_TAG, ""))
                    if recorded != sha256:
                        raise RegistryError(f"version {version} is not the model of the batch")
                    self._earlier = {(version, sha256): load_version(version)}  # keep one
                except (RegistryError, MlflowException, OSError) as exc:
                    message = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                    raise ModelUnavailableError(message) from None
            return self._earlier[(version, sha256)]

    def refresh(self) -> bool:
        """Load the alias's version if it is not the one serving; True when swapped.
        Never raises for a registry or artifact problem: it is kept in ``last_error``."""
        with self._lock:  # one load at a time; readers are not blocked
            self.last_checked = datetime.now(UTC)
            try:
                use_tracking(self.tracking_uri)
                version = find_version(self.alias)
                number = str(version.version)
                if self._served is not None and self._served.version == number:
                    self.last_error = None
                    return False
                model = load_version(number)
                served = Served(
                    model=model,
                    version=number,
                    sha256=str(version.tags.get(SHA_TAG, "")),
                    tags=dict(version.tags),
                    loaded_at=datetime.now(UTC),
                    reports=_reports(version.tags.get("riskflag.run_id")),
                )
            except (RegistryError, MlflowException, OSError) as exc:
                self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                log.warning("model refresh failed: %s", self.last_error)
                return False
            previous = self._served.version if self._served else None
            self._served = served
            self.last_error = None
            log.info("serving %s version %s (was %s)", MODEL_NAME, number, previous)
            return True
