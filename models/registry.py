"""The model registry: which model is the champion, and loading it safely.

- Tracking and registry URI: the one given, else ``sqlite:///mlflow.db`` in the working
  directory. No environment variable is read here: the `riskflag` command supplies
  ``RISKFLAG_TRACKING_URI`` as ``--tracking-uri``'s default.
- Registered model ``riskflag-urgent``: each training run adds a version with alias
  ``challenger`` (models.tracking); the joblib artifact's SHA-256 is recorded on the
  version and verified before every load: a mismatch refuses to load.
- ``promote`` moves alias ``champion`` only when the gates pass, or when forced with a
  reason; who, when, why and every gate's result are recorded on the version.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import joblib
import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from models.flagging import GatePolicy
from models.riskmodel import RiskModel

MODEL_NAME: Final = "riskflag-urgent"
EXPERIMENT: Final = "riskflag"
DEFAULT_TRACKING_URI: Final = "sqlite:///mlflow.db"
ARTIFACT_KEY: Final = "riskmodel"
SHA_TAG: Final = "riskflag.sha256"
POLICY_GATE: Final = "policy accepted"  # the capacity rule's effect, accepted once


class RegistryError(RuntimeError):
    """A model that cannot be found, verified or promoted; says which and why."""


def use_tracking(uri: str | None = None) -> str:
    """Point MLflow's tracking and registry at ``uri`` (None: ``DEFAULT_TRACKING_URI``);
    return the URI used."""
    chosen = uri or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(chosen)
    mlflow.set_registry_uri(chosen)
    return chosen


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_load(path: Path, expected: str) -> RiskModel:
    """joblib.load only after the file's SHA-256 matches the recorded one."""
    return load_payload(path.read_bytes(), expected, path.name)


def load_payload(payload: bytes, expected: str, name: str = "riskmodel.joblib") -> RiskModel:
    """A model from its joblib bytes, only after their SHA-256 matches ``expected`` (how a
    model shipped to Spark's workers is loaded, as one read from the registry is)."""
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise RegistryError(
            f"{name}: SHA-256 {actual[:16]}... does not match the {expected[:16]}... "
            "recorded at registration; the artifact was altered: refusing to load it"
        )
    model = joblib.load(io.BytesIO(payload))
    if not isinstance(model, RiskModel):
        raise RegistryError(f"{name} does not hold a riskflag model")
    return model


def find_version(ref: str) -> Any:
    client = MlflowClient()
    try:
        if ref.isdigit():
            return client.get_model_version(MODEL_NAME, ref)
        return client.get_model_version_by_alias(MODEL_NAME, ref)
    except MlflowException as exc:
        raise RegistryError(f"{MODEL_NAME}: no version or alias {ref!r} ({exc.message})") from exc


def load_version(ref: str = "champion") -> RiskModel:
    """A registered model by version number or alias, verified against its SHA-256."""
    return load_payload(*version_payload(ref))


def version_payload(ref: str = "champion") -> tuple[bytes, str]:
    """A registered model's joblib bytes and the SHA-256 recorded at registration (checked
    by ``load_payload`` wherever the bytes are loaded)."""
    version = find_version(ref)
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
        return found[0].read_bytes(), str(expected)


def load_uri(uri: str) -> RiskModel:
    """``models:/riskflag-urgent/<version or @alias>``, verified against its SHA-256."""
    return load_version(version_ref(uri))


def version_ref(uri: str) -> str:
    """The version number or alias of ``models:/riskflag-urgent/<version or @alias>``."""
    if uri.startswith(f"models:/{MODEL_NAME}/"):
        return uri.removeprefix(f"models:/{MODEL_NAME}/").lstrip("@")
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
    results.append(_fairness_gate(tags, justification))
    results.append(_policy_gate(tags, gates))
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


def _fairness_gate(tags: Mapping[str, str], justification: str | None) -> Gate:
    """The model alone's disparities outside tolerance (models.fairness_split): none, or a
    recorded justification."""
    violations = int(tags.get("riskflag.fairness_violations", "-1"))
    fair = violations == 0 or (violations > 0 and bool(justification))
    return Gate(
        "fairness",
        fair,
        f"the model alone: {violations} disparity(ies) outside tolerance"
        + (f"; justified: {justification}" if violations > 0 and justification else ""),
    )


def _policy_gate(tags: Mapping[str, str], gates: GatePolicy) -> Gate:
    """The capacity policy's effect on flag rates: none outside tolerance, or the rule in
    force is the one the agency accepted (``[fairness.policy_accepted]``). A version with
    no record of that effect (trained before the audit was split) is not passed blind."""
    recorded = tags.get("riskflag.policy_disparities")
    rule = tags.get("riskflag.policy_capacity", "?")
    if recorded is None:
        return Gate(POLICY_GATE, False, "no record of the capacity policy's effect: train it again")
    disparities, accepted = int(recorded), gates.policy_accepted
    if disparities == 0:
        return Gate(POLICY_GATE, True, "the capacity policy makes no disparity outside tolerance")
    made = f"the capacity rule {rule} makes {disparities} flag-rate disparity(ies)"
    if accepted is not None and accepted.covers(rule):
        return Gate(POLICY_GATE, True, f"{made}, accepted by {accepted.by} on {accepted.on}")
    said = f"the acceptance on record is for {accepted.capacity}" if accepted else "not accepted"
    return Gate(
        POLICY_GATE,
        False,
        f"{made}, {said}: record the agency's acceptance in [fairness.policy_accepted]",
    )


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
    version = find_version(ref)
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
