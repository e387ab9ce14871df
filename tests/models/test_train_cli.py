"""`riskflag train`, `promote` and `score` end to end on synthetic data, with a real MLflow
tracking store and registry (SQLite) in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import polars as pl
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from features.synth import SynthConfig, generate
from models.registry import MODEL_NAME, SHA_TAG, RegistryError, load_version, use_tracking
from serving.cli import app

# one store, used in order: train, promote, score, a second model, tampering
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow-lifecycle")]

TRAINING = """
[dates]
train_dates = 4
calibration_dates = 2
test_dates = 2
[sampling]
max_train_rows = 5000
# this world's test block holds about 90 outcomes, so its calibration error is within noise
# of the 0.01 gate (8 bins: 0.0104, 5 bins: 0.0073); the lifecycle needs a passing gate
[model.scorecard]
max_bins = 5
[model.ebm]
interactions = 1
outer_bags = 1
max_rounds = 200
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | str]]:
    root = tmp_path_factory.mktemp("train")
    data = root / "data"
    generate(SynthConfig(children=2500, seed=17, workers=1), data)
    training = root / "training.toml"
    training.write_text(TRAINING, encoding="utf-8")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    return {"root": root, "data": data, "training": training, "uri": uri}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _train(workspace: dict[str, Path | str], family: str, *more: str) -> dict[str, object]:
    code, out, err = _run(
        "train",
        "--data",
        str(workspace["data"]),
        "--model",
        family,
        "--training",
        str(workspace["training"]),
        "--tracking-uri",
        str(workspace["uri"]),
        *more,
    )
    assert code == 0, err
    assert "[" in err
    assert "calibrated on" in err
    summary: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return summary


@pytest.fixture(scope="module")
def first(workspace: dict[str, Path | str]) -> dict[str, object]:
    """The first model, trained honouring one record correction (an expunged record)."""
    corrections = Path(workspace["root"]) / "corrections.csv"
    event = pl.read_parquet(Path(workspace["data"]) / "events.parquet")["event_id"][0]
    pl.DataFrame(
        {"id": [1], "event_id": [event], "kind": ["expunged"], "amended": [None],
         "created_at": ["2025-12-01T10:00:00"]}
    ).write_csv(corrections)  # fmt: skip
    return _train(workspace, "scorecard", "--corrections", str(corrections))


def test_train_registers_a_challenger_with_reports_and_a_model_card(
    workspace: dict[str, Path | str], first: dict[str, object]
) -> None:
    assert first["version"] == "1"
    assert first["family"] == "scorecard"
    metrics = first["metrics"]
    assert isinstance(metrics, dict)
    assert 0.5 < metrics["roc_auc"] <= 1
    assert "oracle_auc" in metrics
    assert "lift_ratio" in metrics
    use_tracking(str(workspace["uri"]))
    client = MlflowClient()
    version = client.get_model_version_by_alias(MODEL_NAME, "challenger")
    assert str(version.version) == "1"
    assert len(version.tags[SHA_TAG]) == 64
    seen = json.loads(version.tags["riskflag.corrections"])  # what it was trained on
    assert seen["count"] == 1
    assert len(seen["sha256"]) == 64
    run = client.get_run(str(first["run_id"]))
    assert run.data.params["family"] == "scorecard"
    assert run.data.metrics["roc_auc"] == pytest.approx(metrics["roc_auc"], abs=1e-5)
    listed = {a.path for a in client.list_artifacts(run.info.run_id, "reports")}
    for name in ("evaluation.md", "fairness.md", "model_card.md", "roc.png", "calibration.png"):
        assert f"reports/{name}" in listed
    assert "reports/scorecard.json" in listed
    configs = {a.path for a in client.list_artifacts(run.info.run_id, "config")}
    assert {"config/features.json", "config/label.json", "config/flagging_policy.json"} <= configs
    card = Path(
        mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="reports")
    )
    text = (card / "model_card.md").read_text(encoding="utf-8")
    assert "not a probability of harm" in text or "Not intended" in text
    assert "## Necessity" in text
    assert "| welfare |" in text
    assert "The model alone" in text
    assert "its effect was accepted by" in text
    fairness = (card / "fairness.md").read_text(encoding="utf-8")
    assert fairness.index("Fairness of the model alone") < fairness.index("policy's effect")
    model = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/1")
    assert model.signature is not None
    assert model.signature.inputs is not None


def test_pyfunc_scores_feature_rows(
    workspace: dict[str, Path | str], first: dict[str, object]
) -> None:
    use_tracking(str(workspace["uri"]))
    model = load_version("1")
    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1")
    from features.build import build_features
    from features.contract import load_case_histories

    histories = load_case_histories(Path(workspace["data"]))
    rows = build_features(histories, model.config, model.policy, [histories.exported_at.date()])
    frame = rows.frame.collect().head(50)
    from models.tracking import signature_frame

    predicted = pyfunc.predict(signature_frame(model, frame))
    assert list(predicted.columns[:2]) == ["probability", "score_1_20"]
    assert predicted["probability"].between(0, 1).all()


def test_promote_gates_then_score_with_the_champion(
    workspace: dict[str, Path | str], first: dict[str, object]
) -> None:
    uri = str(workspace["uri"])
    code, out, err = _run("promote", "1", "--tracking-uri", uri, "--by", "analyst-7")
    violations = first["fairness_violations"]
    if violations:
        assert code == 1
        assert "FAIL  fairness" in out
        assert "not promoted" in err
        code, out, err = _run(
            "promote", "1", "--tracking-uri", uri, "--by", "analyst-7",
            "--justify-disparity", "equal per-district queues by policy",
        )  # fmt: skip
    assert code == 0, err
    assert "now the champion" in out
    assert "pass  policy accepted" in out  # the capacity rule's effect, accepted once
    use_tracking(uri)
    record = json.loads(
        MlflowClient().get_model_version(MODEL_NAME, "1").tags["riskflag.promotion"]
    )
    assert record["promoted_by"] == "analyst-7"
    assert record["gates"]

    out_file = Path(workspace["root"]) / "scores.csv"
    code, out, err = _run(
        "score", "--data", str(workspace["data"]), "--as-of", "2025-12-01",
        "--out", str(out_file), "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 0, err
    scores = pl.read_csv(out_file)
    expected = ["child_id", "as_of", "district", "probability", "score_1_20", "factor_1"]
    assert scores.columns[:6] == expected
    assert {"tier", "flagged", "factor_5_points"} <= set(scores.columns)
    assert scores["child_id"].n_unique() == scores.height > 100
    assert scores["score_1_20"].is_between(1, 20).all()


@pytest.fixture(scope="module")
def champion(workspace: dict[str, Path | str], first: dict[str, object]) -> str:
    """Version 1 as the champion, however the tests are ordered."""
    code, _, err = _run(
        "promote", "1", "--tracking-uri", str(workspace["uri"]),
        "--justify-disparity", "equal per-district queues by policy",
    )  # fmt: skip
    assert code == 0, err
    return "1"


def test_a_second_model_is_compared_on_the_same_window_and_gbm_is_never_promoted(
    workspace: dict[str, Path | str], champion: str
) -> None:
    uri = str(workspace["uri"])
    second = _train(workspace, "gbm")
    use_tracking(uri)
    tags = MlflowClient().get_model_version(MODEL_NAME, str(second["version"])).tags
    compared = json.loads(tags["riskflag.compared_champion"])
    assert compared["champion_version"] == "1"
    assert 0.4 < compared["champion_roc_auc"] < 1
    code, out, _ = _run(
        "promote", str(second["version"]), "--tracking-uri", uri,
        "--justify-disparity", "test",
    )  # fmt: skip
    assert code == 1
    assert "FAIL  interpretable" in out
    assert "AUC" in out
    code, _, err = _run("promote", str(second["version"]), "--tracking-uri", uri, "--force")
    assert code == 2
    assert "--reason" in err
    code, out, _ = _run(
        "promote", str(second["version"]), "--tracking-uri", uri, "--force",
        "--reason", "benchmark comparison only", "--by", "lead",
    )  # fmt: skip
    assert code == 0
    assert "(forced)" in out
    record = json.loads(
        MlflowClient()
        .get_model_version(MODEL_NAME, str(second["version"]))
        .tags["riskflag.promotion"]
    )
    assert record["forced"] is True
    # give the champion back to version 1 for the other tests of this store
    code, _, err = _run(
        "promote", "1", "--tracking-uri", uri, "--force", "--reason", "restore test champion",
    )  # fmt: skip
    assert code == 0, err
    assert record["reason"] == "benchmark comparison only"


def test_an_altered_artifact_is_refused(
    workspace: dict[str, Path | str], first: dict[str, object]
) -> None:
    use_tracking(str(workspace["uri"]))
    stored = list(Path(workspace["root"]).rglob("riskmodel.joblib"))
    assert stored, "no stored artifact found under the workspace"
    originals = {path: path.read_bytes() for path in stored}
    for path, content in originals.items():
        path.write_bytes(content + b"\0")
    try:
        _refused(workspace)
    finally:  # the other tests share this store
        for path, content in originals.items():
            path.write_bytes(content)
    load_version("1")  # restored: loads again


def _refused(workspace: dict[str, Path | str]) -> None:
    with pytest.raises(RegistryError, match="does not match"):
        load_version("1")
    with pytest.raises(RegistryError, match="refusing to load"):  # the pyfunc checks too
        mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1")
    code, _, err = _run(
        "score", "--data", str(workspace["data"]), "--as-of", "2025-12-01",
        "--out", str(Path(workspace["root"]) / "x.parquet"),
        "--model-uri", f"models:/{MODEL_NAME}/1", "--tracking-uri", str(workspace["uri"]),
    )  # fmt: skip
    assert code == 2
    assert "SHA-256" in err
    assert "refusing to load" in err


def test_bad_arguments_are_named(workspace: dict[str, Path | str]) -> None:
    code, _, err = _run("train", "--data", str(workspace["data"]), "--model", "forest")
    assert code == 2
    assert "forest" in err
    bad = Path(workspace["root"]) / "bad.toml"
    bad.write_text("[dates]\ntrain_datez = 3\n", encoding="utf-8")
    code, _, err = _run("train", "--data", str(workspace["data"]), "--training", str(bad))
    assert code == 2
    assert "dates.train_datez: unknown key" in err
    code, _, err = _run(
        "score", "--data", str(workspace["data"]), "--as-of", "2025-13-01", "--out", "x.csv"
    )
    assert code == 2
    assert "2025-13-01" in err
    code, _, err = _run("promote", "99", "--tracking-uri", str(workspace["uri"]))
    assert code == 2
    assert "99" in err
