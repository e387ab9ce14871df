"""MLflow: every training run tracked, every model registered, verified and gated.

- Tracking URI: the ``--tracking-uri`` given, else ``MLFLOW_TRACKING_URI``, else
  ``sqlite:///mlflow.db`` in the working directory (artifacts in ./mlartifacts beside it).
- A run logs its parameters, the feature, policy, label and training configuration, the
  metrics, the evaluation and fairness reports with their plots, a model card, and the
  model (an MLflow pyfunc with its signature) holding the joblib artifact.
- Each run registers a version of ``riskflag-urgent`` with alias ``challenger``. The
  joblib file's SHA-256 is recorded on the version at registration and verified before
  every load; a mismatch refuses to load.
- ``promote`` moves alias ``champion`` only when the gates pass, or when forced with a
  reason; who, when, why and every gate's result are recorded on the version.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final

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
from models.flagging import FlaggingPolicy, GatePolicy
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

MODEL_NAME: Final = "riskflag-urgent"
EXPERIMENT: Final = "riskflag"
DEFAULT_TRACKING_URI: Final = "sqlite:///mlflow.db"
ARTIFACT_KEY: Final = "riskmodel"
SHA_TAG: Final = "riskflag.sha256"


class RegistryError(RuntimeError):
    """A model that cannot be found, verified or promoted; says which and why."""


def use_tracking(uri: str | None = None) -> str:
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(chosen)
    mlflow.set_registry_uri(chosen)
    return chosen


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_load(path: Path, expected: str) -> RiskModel:
    """joblib.load only after the file's SHA-256 matches the recorded one."""
    actual = sha256_of(path)
    if actual != expected:
        raise RegistryError(
            f"{path.name}: SHA-256 {actual[:16]}... does not match the {expected[:16]}... "
            "recorded at registration; the artifact was altered: refusing to load it"
        )
    model = joblib.load(path)
    if not isinstance(model, RiskModel):
        raise RegistryError(f"{path.name} does not hold a riskflag model")
    return model


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
    result: TrainResult, folder: Path, gates: GatePolicy, version: str | None = None
) -> ModelCard:
    """Evaluation and fairness reports (Markdown, JSON, PNG) and the model card."""
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
    (folder / "fairness.md").write_text(
        fairness_markdown(result.fairness, gates.tolerance), encoding="utf-8"
    )
    (folder / "evaluation.json").write_text(
        json.dumps(result.evaluation.to_dict(), indent=1), encoding="utf-8"
    )
    (folder / "fairness.json").write_text(
        json.dumps(result.fairness.to_dict(), indent=1), encoding="utf-8"
    )
    if result.model.family == "scorecard":
        table = result.model.pipeline[-1].scorecard_table(
            [column.name for column in result.model.columns]
        )
        (folder / "scorecard.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
    violations = result.fairness.violations()
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
        fairness_summary=(
            "no disparity outside tolerance among judged groups"
            if not violations
            else "; ".join(v.describe() for v in violations[:10])
            + (f"; and {len(violations) - 10} more (fairness.md)" if len(violations) > 10 else "")
        ),
        intended_use=INTENDED_USE,
        not_intended_use=NOT_INTENDED_USE,
        limitations=list(LIMITATIONS),
        features_used=len(result.model.specs),
        policy={
            "feature_config_sha256": result.model.config.digest(),
            "feature_policy_sha256": result.model.policy.digest(),
        },
    )
    (folder / "model_card.md").write_text(model_card_markdown(card), encoding="utf-8")
    return card


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
        _flat("model", settings.model.get(model.family, {}), params)
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
        metrics["fairness_violations"] = float(len(result.fairness.violations()))
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
            "riskflag.fairness_violations": str(len(result.fairness.violations())),
            "riskflag.compared_champion": json.dumps(comparison),
        }
        version = mlflow.register_model(info.model_uri, MODEL_NAME, tags=tags)
        MlflowClient().set_registered_model_alias(MODEL_NAME, "challenger", version.version)
        reports = folder / "reports"
        reports.mkdir()
        write_reports(result, reports, gates, str(version.version))
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


def _version(ref: str) -> Any:
    client = MlflowClient()
    try:
        if ref.isdigit():
            return client.get_model_version(MODEL_NAME, ref)
        return client.get_model_version_by_alias(MODEL_NAME, ref)
    except MlflowException as exc:
        raise RegistryError(f"{MODEL_NAME}: no version or alias {ref!r} ({exc.message})") from exc


def load_version(ref: str = "champion") -> RiskModel:
    """A registered model by version number or alias, verified against its SHA-256."""
    version = _version(ref)
    expected = version.tags.get(SHA_TAG)
    if not expected:
        raise RegistryError(f"{MODEL_NAME} version {version.version} has no recorded SHA-256")
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{MODEL_NAME}/{version.version}", dst_path=tmp
        )
        found = list(Path(local).rglob("riskmodel.joblib"))
        if not found:
            raise RegistryError(f"version {version.version}: riskmodel.joblib not in its model")
        return verified_load(found[0], expected)


def load_uri(uri: str) -> RiskModel:
    """``models:/riskflag-urgent/<version or @alias>`` or a local joblib path with its hash
    (``path#sha256=...``)."""
    if uri.startswith(f"models:/{MODEL_NAME}/"):
        ref = uri.removeprefix(f"models:/{MODEL_NAME}/").lstrip("@")
        return load_version(ref)
    raise RegistryError(f"--model-uri: expected models:/{MODEL_NAME}/<version|@alias>, got {uri!r}")


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


def gates_for(version: Any, gates: GatePolicy, justification: str | None) -> list[Gate]:
    tags = version.tags
    results = []
    family = tags.get("riskflag.family", "?")
    results.append(
        Gate(
            "interpretable",
            family != "gbm",
            f"family {family}"
            + (": the black-box benchmark is never promoted" if family == "gbm" else ""),
        )
    )
    ece = float(tags.get("riskflag.ece", "nan"))
    results.append(
        Gate(
            "calibration",
            bool(ece <= gates.max_calibration_error),
            f"expected calibration error {ece:.4f} (policy at most {gates.max_calibration_error})",
        )
    )
    violations = int(tags.get("riskflag.fairness_violations", "-1"))
    fair = violations == 0 or (violations > 0 and bool(justification))
    results.append(
        Gate(
            "fairness",
            fair,
            f"{violations} disparity(ies) outside tolerance"
            + (f"; justified: {justification}" if violations > 0 and justification else ""),
        )
    )
    client = MlflowClient()
    try:
        champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    except MlflowException:
        champion = None
    if champion is None:
        results.append(Gate("auc", True, "no champion yet"))
    elif str(champion.version) == str(version.version):
        results.append(Gate("auc", True, "already the champion"))
    else:
        compared = json.loads(tags.get("riskflag.compared_champion", "{}"))
        auc = float(tags.get("riskflag.roc_auc", "nan"))
        if compared.get("champion_version") != str(champion.version):
            results.append(
                Gate(
                    "auc",
                    False,
                    f"this version was compared with champion {compared.get('champion_version')}, "
                    f"but the champion is now {champion.version}: retrain to compare on the "
                    "same test window",
                )
            )
        elif "champion_roc_auc" not in compared:
            results.append(
                Gate("auc", False, f"champion not comparable: {compared.get('champion_error')}")
            )
        else:
            theirs = float(compared["champion_roc_auc"])
            results.append(
                Gate(
                    "auc",
                    auc >= theirs - gates.max_auc_drop,
                    f"AUC {auc:.4f} vs champion {champion.version}'s {theirs:.4f} on the same "
                    f"test window (at most {gates.max_auc_drop} lower)",
                )
            )
    return results


def promote(
    ref: str,
    gates: GatePolicy,
    force: bool = False,
    reason: str | None = None,
    justification: str | None = None,
    user: str | None = None,
) -> tuple[bool, list[Gate]]:
    """Move alias ``champion`` to a version when its gates pass, or when forced."""
    if force and not (reason and reason.strip()):
        raise RegistryError("--force needs --reason TEXT: who forces a model must say why")
    version = _version(ref)
    results = gates_for(version, gates, justification)
    passed = all(gate.passed for gate in results)
    if not passed and not force:
        return False, results
    client = MlflowClient()
    record = {
        "promoted_by": user or getpass.getuser(),
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "forced": force and not passed,
        "reason": reason or "",
        "disparity_justification": justification or "",
        "gates": [asdict(gate) for gate in results],
    }
    client.set_model_version_tag(
        MODEL_NAME, version.version, "riskflag.promotion", json.dumps(record)
    )
    client.set_registered_model_alias(MODEL_NAME, "champion", version.version)
    return True, results


__all__ = [
    "MODEL_NAME",
    "Gate",
    "Registered",
    "RegistryError",
    "load_uri",
    "load_version",
    "log_and_register",
    "promote",
    "use_tracking",
]
