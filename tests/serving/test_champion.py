"""The serving model: loaded verified, swapped live when the champion moves, a bad version
refused while the current one keeps serving; and the settings' refusals."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from models.registry import MODEL_NAME, SHA_TAG, use_tracking
from serving.champion import Champion, ModelUnavailableError
from serving.settings import SettingsError, load_settings
from tests.serving.conftest import Trained

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api")]


def _copy_of(trained: Trained, tmp_path: Path) -> str:
    """A copy of the registry (the artifacts are shared, read-only)."""
    source = Path(trained.tracking_uri.removeprefix("sqlite:///"))
    copy = tmp_path / "mlflow.db"
    shutil.copy(source, copy)
    return f"sqlite:///{copy}"


def _register_again(uri: str, version: str, sha: str | None = None) -> str:
    use_tracking(uri)
    client = MlflowClient()
    old = client.get_model_version(MODEL_NAME, version)
    tags = dict(old.tags)
    if sha is not None:
        tags[SHA_TAG] = sha
    new = client.create_model_version(MODEL_NAME, old.source, old.run_id, tags=tags)
    client.set_registered_model_alias(MODEL_NAME, "champion", str(new.version))
    return str(new.version)


def test_a_promotion_is_picked_up_without_a_failed_request(
    trained: Trained, tmp_path: Path
) -> None:
    uri = _copy_of(trained, tmp_path)
    champion = Champion(uri)
    with pytest.raises(ModelUnavailableError):
        champion.current()
    assert champion.refresh()
    assert champion.current().version == trained.version
    assert not champion.refresh()  # nothing moved: nothing loaded

    matrix = np.zeros((4, len(champion.current().model.columns)))
    failures: list[BaseException] = []
    versions: set[str] = set()
    stop = threading.Event()

    def keep_scoring() -> None:
        while not stop.is_set():
            try:
                served = champion.current()
                served.model.explain(matrix)
                versions.add(served.version)
            except BaseException as exc:
                failures.append(exc)

    reader = threading.Thread(target=keep_scoring)
    reader.start()
    try:
        newer = _register_again(uri, trained.version)
        assert champion.refresh()
    finally:
        stop.set()
        reader.join()
    assert not failures
    assert champion.current().version == newer
    assert trained.version in versions


def test_a_version_failing_verification_is_refused_and_the_current_keeps_serving(
    trained: Trained, tmp_path: Path
) -> None:
    uri = _copy_of(trained, tmp_path)
    champion = Champion(uri)
    assert champion.refresh()
    _register_again(uri, trained.version, sha="0" * 64)
    assert not champion.refresh()
    assert champion.current().version == trained.version
    assert champion.last_error is not None
    assert "SHA-256" in champion.last_error


def test_no_such_alias_is_reported_not_raised(trained: Trained) -> None:
    champion = Champion(trained.tracking_uri, alias="nobody")
    assert not champion.refresh()
    assert champion.last_error is not None
    assert "nobody" in champion.last_error
    with pytest.raises(ModelUnavailableError, match=r"nobody"):
        champion.current()


# ---- settings ---------------------------------------------------------------------------


def test_development_runs_on_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "DATABASE_URL", "TRACKING_URI", "HOST"):
        monkeypatch.delenv(f"RISKFLAG_{name}", raising=False)
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.database_url == "sqlite:///riskflag.db"


def test_production_refuses_insecure_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKFLAG_ENVIRONMENT", "production")
    monkeypatch.delenv("RISKFLAG_DATABASE_URL", raising=False)
    monkeypatch.delenv("RISKFLAG_TRACKING_URI", raising=False)
    monkeypatch.setenv("RISKFLAG_HOST", "0.0.0.0")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    for name in ("RISKFLAG_DATABASE_URL", "RISKFLAG_TRACKING_URI", "RISKFLAG_HOST"):
        assert name in message
    monkeypatch.setenv("RISKFLAG_DATABASE_URL", "postgresql://riskflag@db/riskflag")
    monkeypatch.setenv("RISKFLAG_TRACKING_URI", "postgresql://mlflow@db/mlflow")
    monkeypatch.setenv("RISKFLAG_BEHIND_TLS_PROXY", "true")
    assert load_settings().tls


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("RISKFLAG_PORT", "http", "RISKFLAG_PORT"),
        ("RISKFLAG_MAX_BODY_BYTES", "5", "RISKFLAG_MAX_BODY_BYTES"),
        ("RISKFLAG_ENVIRONMENT", "staging", "RISKFLAG_ENVIRONMENT"),
        ("RISKFLAG_SSL_CERTFILE", "/etc/cert.pem", "RISKFLAG_SSL_KEYFILE"),
    ],
)
def test_bad_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()
