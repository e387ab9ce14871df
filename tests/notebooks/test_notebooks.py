"""The analysts' notebooks: committed without outputs (they could hold children's data),
parameters first, and each run top to bottom on small synthetic data, asserting what it
produced."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest
from mlflow import MlflowClient

from features.contract import load_case_histories
from features.synth import SynthConfig, generate
from models.registry import MODEL_NAME, use_tracking
from tests.serving.conftest import Trained

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_parameters_first(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, path.name
    assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: no parameters cell"
    for cell in code:
        assert cell.outputs == [], f"{path.name}: a cell has outputs (children's data?)"
        assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
        assert "def " not in cell.source, f"{path.name}: a function belongs in a package"
        assert "class " not in cell.source, f"{path.name}: a class belongs in a package"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks") / "data"
    generate(SynthConfig(children=1500, seed=7, workers=1), folder)
    return folder


def run(name: str, folder: Path, **parameters: object) -> None:
    papermill.execute_notebook(
        str(ROOT / "notebooks" / name),
        str(folder / f"ran-{name}"),
        parameters=parameters,
        cwd=str(ROOT / "notebooks"),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )


def _store_with_decisions(data: Path, folder: Path) -> tuple[str, str]:
    """A store holding ``data``, 12 decisions on its first children (10 overrides), and
    an analyst; its URL and the analyst's token."""
    from datetime import date, datetime

    from sqlalchemy import insert, select

    from features.deployment import Deployment
    from serving.store import load_folder, make_engine, upgrade
    from serving.store.tables import BATCHES, CHILDREN, DECISIONS
    from serving.users import add_user, issue_token

    url = f"sqlite:///{folder / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    load_folder(engine, data, Deployment())
    add_user(engine, "analyst", "analyst", [])
    now = datetime(2025, 12, 2, 9)
    with engine.begin() as connection:
        batch = connection.execute(
            insert(BATCHES).values(
                as_of=date(2025, 12, 1), model_version="1", model_sha256="0" * 64,
                model_family="scorecard", created_at=now, created_by="tests",
                children=0, flagged=0,
            ).returning(BATCHES.c.id)
        ).scalar_one()  # fmt: skip
        children = connection.execute(
            select(CHILDREN.c.child_id, CHILDREN.c.district).limit(12)
        ).all()
        connection.execute(
            insert(DECISIONS),
            [
                {"child_id": child, "district": district, "user_name": "wang",
                 "role": "caseworker", "action": "no_action" if i < 10 else "home_visit",
                 "agrees": i >= 10, "reason_code": "already_served" if i < 10 else None,
                 "note": "", "batch_id": batch, "score_1_20": 18, "model_version": "1",
                 "created_at": now}
                for i, (child, district) in enumerate(children)
            ],
        )  # fmt: skip
    token = issue_token(engine, "analyst")
    engine.dispose()
    return url, token


def _audited(url: str) -> list[tuple[str, str, str, str]]:
    from sqlalchemy import text

    from serving.store import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT user_name, action, outcome, client FROM audit ORDER BY id")
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


@pytest.mark.slow
def test_explore_reports_the_folder(data: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    run(
        "1.0-explore-case-histories.ipynb",
        tmp_path,
        DATA=str(data),
        START="2024-01-01",
        END="2025-03-01",
        SUMMARY=str(summary),
    )
    figures = json.loads(summary.read_text(encoding="utf-8"))
    histories = load_case_histories(data)
    assert figures["children"] == histories.children.collect().height
    assert figures["events"] == histories.events.collect().height
    assert "report" in figures["sources"]
    assert figures["as_of_dates"] == 15
    assert 0 < figures["base_rate"] < 0.2


@pytest.mark.slow
@pytest.mark.xdist_group("api")
def test_retrain_registers_a_challenger_beside_the_champion(
    trained: Trained, tmp_path: Path
) -> None:
    registry = tmp_path / "mlflow.db"  # a copy: the served model's store stays as it is
    shutil.copy(trained.tracking_uri.removeprefix("sqlite:///"), registry)
    uri = f"sqlite:///{registry}"
    summary = tmp_path / "summary.json"
    run(
        "2.0-retrain-and-evaluate.ipynb",
        tmp_path,
        DATA=str(trained.data),
        TRACKING_URI=uri,
        FAMILY="logistic",
        TRAIN_DATES=4,
        CALIBRATION_DATES=2,
        TEST_DATES=2,
        MAX_TRAIN_ROWS=5000,
        SUMMARY=str(summary),
    )
    figures = json.loads(summary.read_text(encoding="utf-8"))
    use_tracking(uri)
    challenger = MlflowClient().get_model_version_by_alias(MODEL_NAME, "challenger")
    assert str(challenger.version) == figures["version"] != trained.version
    assert challenger.tags["riskflag.family"] == "logistic"
    assert 0.5 < figures["roc_auc"] <= 1
    assert figures["champion_roc_auc"] is not None  # judged on the same rows
    compared = json.loads(challenger.tags["riskflag.compared_champion"])
    assert compared["champion_version"] == trained.version
    # 4.0: no promotion without a reason; then the challenger promoted, the reason recorded
    with pytest.raises(papermill.PapermillExecutionError, match=r"REASON"):
        run("4.0-promote.ipynb", tmp_path, TRACKING_URI=uri)
    assert str(MlflowClient().get_model_version_by_alias(MODEL_NAME, "champion").version) == (
        trained.version
    )
    outcome = tmp_path / "promoted.json"
    run(
        "4.0-promote.ipynb",
        tmp_path,
        TRACKING_URI=uri,
        REASON="retrained on the latest export",
        JUSTIFY_DISPARITY="per-district capacity",
        FORCE=True,
        BY="analyst.test",
        SUMMARY=str(outcome),
    )
    promoted = json.loads(outcome.read_text(encoding="utf-8"))
    assert promoted["promoted"] is True
    assert promoted["champion"] == figures["version"]
    assert promoted["reason"] == "retrained on the latest export"
    champion = MlflowClient().get_model_version_by_alias(MODEL_NAME, "champion")
    record = json.loads(champion.tags["riskflag.promotion"])
    assert record["promoted_by"] == "analyst.test"
    assert record["reason"] == "retrained on the latest export"


@pytest.mark.slow
def test_fairness_audit_compares_feature_policies(data: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    run(
        "3.0-fairness-audit.ipynb",
        tmp_path,
        DATA=str(data),
        TRAIN_DATES=4,
        CALIBRATION_DATES=2,
        TEST_DATES=2,
        MAX_TRAIN_ROWS=5000,
        STORE=(store := _store_with_decisions(data, tmp_path))[0],
        TOKEN=store[1],
        SUMMARY=str(summary),
    )
    figures = json.loads(summary.read_text(encoding="utf-8"))
    # the overrides report, read from the store with the analyst's token, and audited
    assert figures["overrides"] == {"decisions": 12, "overrides": 10}
    assert ("analyst", "read_aggregates", "allowed", "notebook") in _audited(store[0])
    assert figures["variants"] == [
        "as configured",
        "without hukou",
        "without disability",
        "with association",
    ]
    features = figures["features"]
    assert features["without hukou"] < features["as configured"]
    assert features["without disability"] < features["as configured"]
    assert features["with association"] > features["as configured"]
    assert all(0.5 < auc <= 1 for auc in figures["roc_auc"].values())
    assert figures["district_groups"] >= 10
    # the model alone is judged on the same districts as the policy's audit, apart from it
    assert len(figures["model_groups"]) == figures["district_groups"]
    assert isinstance(figures["model_violations"], int)
    assert sorted(figures["families"]) == ["association", "disability", "hukou"]
