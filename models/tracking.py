"""MLflow tracking: every training run logged with its reports and registered.

A run (experiment ``riskflag``) logs its parameters, the feature, policy, label and
training configuration, the metrics, the evaluation and fairness reports with their
plots, a model card, and the model: an MLflow pyfunc with its signature holding the
joblib artifact. It registers a version of ``riskflag-urgent`` with alias
``challenger`` (models.registry holds loading, verification and promotion). On a SQLite
store the artifacts go beside the database (``mlartifacts/`` next to ``mlflow.db``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import mlflow
import mlflow.pyfunc
import pandas as pd
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.metrics import roc_auc_score

from models.design import DesignError
from models.flagging import FlaggingPolicy, GatePolicy, acceptance_words
from models.registry import (
    ARTIFACT_KEY,
    EXPERIMENT,
    MODEL_NAME,
    SHA_TAG,
    RegistryError,
    load_version,
    sha256_of,
    use_tracking,
    verified_load,
)
from models.reports import (
    INTENDED_USE,
    LIMITATIONS,
    NOT_INTENDED_USE,
    ModelCard,
    evaluation_markdown,
    fairness_markdown,
    model_card_markdown,
    plot_calibration,
    plot_factors,
    plot_outcome_by_score,
    plot_roc,
)
from models.riskmodel import RiskModel
from models.settings import TrainingSettings
from models.train import TrainResult, chunked_raw_log_odds


def _experiment(uri: str) -> None:
    """Use experiment ``riskflag``; on a SQLite store, its artifacts go beside the database
    (``mlartifacts/`` next to ``mlflow.db``), wherever the command runs from."""
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = None
        if uri.startswith("sqlite:///"):
            database = Path(uri.removeprefix("sqlite:///")).resolve()
            location = (database.parent / "mlartifacts").as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)


class RiskflagPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """The pyfunc face of a riskflag model, for ``mlflow models serve`` and notebooks:
    feature-table rows in, probability, 1-20 score and the top factors out."""

    def load_context(self, context: Any) -> None:
        path = Path(context.artifacts[ARTIFACT_KEY])
        self.model = verified_load(path, str(context.model_config["sha256"]))
        self.policy = FlaggingPolicy(**context.model_config.get("flagging", {}))

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        frame = pl.from_pandas(model_input)
        keys = tuple(k for k in ("child_id", "as_of", "district") if k in frame.columns)
        scored = self.model.score(frame, self.policy, keys=keys)
        return scored.drop(*keys).to_pandas()


@dataclass(frozen=True)
class Registered:
    run_id: str
    version: str
    sha256: str
    tracking_uri: str


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def _requirements() -> list[str]:
    names = ["scikit-learn", "interpret-core", "shap", "polars", "pandas", "numpy", "joblib"]
    return [f"{name}=={metadata.version(name)}" for name in names]


def champion_on_window(result: TrainResult) -> dict[str, Any]:
    """The current champion's AUC on this run's test rows (the same window), if any."""
    client = MlflowClient()
    try:
        champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    except MlflowException:
        return {"champion_version": None}
    try:
        model = load_version(str(champion.version))
        raw = chunked_raw_log_odds(model, result.test_rows)
    except (RegistryError, DesignError, MlflowException, OSError) as exc:
        # recorded on the version: the auc gate then fails and shows why
        return {"champion_version": str(champion.version), "champion_error": str(exc)[:300]}
    y = result.scored_test["y"].to_numpy()
    return {
        "champion_version": str(champion.version),
        "champion_roc_auc": float(roc_auc_score(y, raw)),
    }


def write_reports(
    result: TrainResult,
    folder: Path,
    gates: GatePolicy,
    version: str | None = None,
    capacity: str | None = None,
) -> ModelCard:
    """Evaluation and fairness reports (Markdown, JSON, PNG) and the model card.

    ``capacity``: the flagging policy's capacity rule (``FlaggingPolicy.capacity_rule``),
    so the reports say whether its effect was accepted; by default the shipped policy's."""
    y = result.scored_test["y"].to_numpy()
    probability = result.scored_test["probability"].to_numpy()
    images = {
        "roc": plot_roc(y, probability, folder / "roc.png").name,
        "calibration": plot_calibration(y, probability, folder / "calibration.png").name,
        "outcome_by_score": plot_outcome_by_score(
            result.evaluation, folder / "outcome_by_score.png"
        ).name,
        "factors": plot_factors(
            result.factor_importance[:20], folder / "factors.png", "Top factors (test rows)"
        ).name,
    }
    title = f"riskflag {result.model.family}: out-of-time evaluation"
    (folder / "evaluation.md").write_text(
        evaluation_markdown(result.evaluation, images, title), encoding="utf-8"
    )
    (folder / "evaluation.json").write_text(
        json.dumps(result.evaluation.to_dict(), indent=1), encoding="utf-8"
    )
    if result.model.family == "scorecard":
        table = result.model.pipeline[-1].scorecard_table(
            [column.name for column in result.model.columns]
        )
        (folder / "scorecard.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
    card = ModelCard(
        model_name=MODEL_NAME,
        version=version,
        family=result.model.family,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data_window={k: str(v) for k, v in result.split.describe().items()},
        label=f"{result.model.label}: an urgent intervention recorded within the horizon",
        horizon_days=result.model.horizon_days,
        n_train=result.counts["train_rows"],
        n_calibration=result.counts["calibration_rows"],
        n_test=result.counts["test_rows"],
        headline=result.evaluation.headline(),
        fairness_summary=write_fairness(result, folder, gates, capacity),
        intended_use=INTENDED_USE,
        not_intended_use=NOT_INTENDED_USE,
        limitations=list(LIMITATIONS),
        features_used=len(result.model.specs),
        linkage=result.model.provenance.get("linkage"),
        necessity=result.model.provenance.get("necessity", {}),
        policy={
            "feature_config_sha256": result.model.config.digest(),
            "feature_policy_sha256": result.model.policy.digest(),
        },
    )
    (folder / "model_card.md").write_text(model_card_markdown(card), encoding="utf-8")
    return card


def write_fairness(
    result: TrainResult, folder: Path, gates: GatePolicy, capacity: str | None = None
) -> str:
    """fairness.md and fairness.json, and the model card's summary of them.

    Why: the gate judges the model alone, the capacity policy's effect is accepted once;
    a reader must see both, the model's first. How: fairness.md has the model alone's
    table (intervals, judgements), then whether the rule in force was accepted and by
    whom, then the policy's audit; fairness.json keeps the policy's audit at the top
    (``rows``, ``violations``: what older readers read) with the model alone under
    ``model`` and the acceptance under ``policy_accepted`` only when it covers the rule.
    """
    rule = capacity or FlaggingPolicy().capacity_rule
    accepted = gates.policy_accepted
    covered = accepted if accepted is not None and accepted.covers(rule) else None
    effect = len(result.fairness.violations())
    accepted_text = acceptance_words(accepted, rule, effect)
    statement = f'\n\nAccepted: "{covered.statement}"' if covered else ""
    (folder / "fairness.md").write_text(
        result.fairness_model.to_markdown()
        + f"\n# The capacity policy's effect\n\n{accepted_text}{statement}\n\n"
        + fairness_markdown(result.fairness, gates.tolerance, "The policy's flags, by group"),
        encoding="utf-8",
    )
    record = {
        **result.fairness.to_dict(),  # the policy's flags: rows, violations
        "model": result.fairness_model.to_dict(),  # the model alone, judged at promotion
        "policy_capacity": rule,
        "policy_accepted": asdict(covered) if covered else None,
        "policy_acceptance": accepted_text,
    }
    (folder / "fairness.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    violations = result.fairness_model.violations()
    judged = "; ".join(violations[:10]) + (
        f"; and {len(violations) - 10} more" if len(violations) > 10 else ""
    )
    return (
        "The model alone (city-wide flags, as many as the policy's): "
        + (judged or "no disparity outside tolerance among judged groups")
        + f" ({result.fairness_model.uncertain()} uncertain). {accepted_text} (fairness.md)"
    )


def log_and_register(
    result: TrainResult,
    settings: TrainingSettings,
    flagging: FlaggingPolicy,
    gates: GatePolicy,
    tracking_uri: str | None = None,
) -> Registered:
    """Log the run with its reports and model; register a challenger version."""
    uri = use_tracking(tracking_uri)
    comparison = champion_on_window(result)
    _experiment(uri)
    model = result.model
    with mlflow.start_run(run_name=f"{model.family}") as run, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        params: dict[str, Any] = {"family": model.family}
        _flat("split", result.split.describe(), params)
        _flat("sampling", result.sampling, params)
        # what was fitted: the settings' values, a listed one as chosen (models.tuning)
        _flat("model", model.provenance.get("params", settings.model.get(model.family, {})), params)
        _flat("counts", result.counts, params)
        params["label.name"] = model.label
        params["label.horizon_days"] = model.horizon_days
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_dict(asdict(model.config), "config/features.json")
        mlflow.log_dict(asdict(model.policy), "config/feature_policy.json")
        mlflow.log_dict(asdict(flagging), "config/flagging_policy.json")
        mlflow.log_dict(asdict(gates), "config/gates.json")
        mlflow.log_dict(settings.to_dict(), "config/training.json")
        mlflow.log_dict(asdict(model.config.label), "config/label.json")
        mlflow.log_dict(
            {"features": [spec.to_dict() for spec in model.specs]}, "config/feature_registry.json"
        )
        metrics = dict(result.evaluation.headline())
        metrics["fairness_violations"] = float(len(result.fairness_model.violations()))
        metrics["policy_disparities"] = float(len(result.fairness.violations()))
        metrics |= {f"seconds_{k}": v for k, v in result.timings.items()}
        if "champion_roc_auc" in comparison:
            metrics["champion_roc_auc_same_window"] = comparison["champion_roc_auc"]
        mlflow.log_metrics(metrics)

        artifact = folder / "riskmodel.joblib"
        joblib.dump(model, artifact, compress=3)
        sha = sha256_of(artifact)
        sample = result.test_rows.head(5)
        example = signature_frame(model, sample)
        output = RiskflagPyfunc.__new__(RiskflagPyfunc)
        output.model, output.policy = model, flagging
        signature = infer_signature(example, output.predict(None, example))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskflagPyfunc(),
            artifacts={ARTIFACT_KEY: str(artifact)},
            model_config={"sha256": sha, "flagging": asdict(flagging)},
            signature=signature,
            pip_requirements=_requirements(),
        )
        tags = {
            SHA_TAG: sha,
            "riskflag.family": model.family,
            "riskflag.run_id": run.info.run_id,
            "riskflag.test_window": json.dumps(list(map(str, result.split.test))),
            "riskflag.roc_auc": f"{result.evaluation.roc_auc:.6f}",
            "riskflag.ece": f"{result.evaluation.ece:.6f}",
            # the model alone (judged at promotion), and the capacity policy's effect
            "riskflag.fairness_violations": str(len(result.fairness_model.violations())),
            "riskflag.policy_disparities": str(len(result.fairness.violations())),
            "riskflag.policy_capacity": flagging.capacity_rule,
            "riskflag.compared_champion": json.dumps(comparison),
            # which record corrections the training data honoured (count, sha256)
            "riskflag.corrections": json.dumps(model.provenance.get("corrections")),
            "riskflag.separations": json.dumps(model.provenance.get("separations")),
        }
        version = mlflow.register_model(info.model_uri, MODEL_NAME, tags=tags)
        MlflowClient().set_registered_model_alias(MODEL_NAME, "challenger", version.version)
        reports = folder / "reports"
        reports.mkdir()
        write_reports(result, reports, gates, str(version.version), flagging.capacity_rule)
        mlflow.log_artifacts(str(reports), "reports")
        return Registered(run.info.run_id, str(version.version), sha, uri)


def signature_frame(model: RiskModel, rows: pl.DataFrame) -> pd.DataFrame:
    """The pyfunc's input: keys and the model's features, numbers as floats (a severity may
    be missing) and categories as strings; the label is never an input."""
    keys = [key for key in ("child_id", "as_of", "district") if key in rows.columns]
    features = [spec.name for spec in model.specs]
    plain = rows.select(*keys, *features).with_columns(
        pl.col(name).cast(pl.String)
        if isinstance(dtype, pl.Enum | pl.Categorical)
        else pl.col(name).cast(pl.Float64)
        for name, dtype in rows.select(features).schema.items()
        if isinstance(dtype, pl.Enum | pl.Categorical) or dtype.is_numeric()
    )
    return plain.to_pandas()
