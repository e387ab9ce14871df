"""A newly trained model beside the current champion, on the same test rows.

The champion is loaded from the registry (its SHA-256 verified) and judged by the same
``judge`` as the new model, on the new run's test rows: the same children, dates and
labels, so every difference in the tables is the models'. Used by the retraining
notebook; ``riskflag train`` records the champion's AUC on the same window likewise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import polars as pl

from features.config import FeatureConfig, Policy
from features.contract import CaseHistories
from models.design import DesignError
from models.evaluation import Evaluation
from models.flagging import FlaggingPolicy, GatePolicy
from models.registry import RegistryError, load_version
from models.settings import TrainingSettings
from models.train import TrainResult, factor_importance, judge, train


@dataclass(frozen=True)
class Side:
    """One model judged on the test rows."""

    name: str
    family: str
    evaluation: Evaluation
    fairness_violations: int
    factors: list[tuple[str, float]]
    scored: pl.DataFrame


def challenger_side(result: TrainResult, name: str = "challenger") -> Side:
    return Side(
        name,
        result.model.family,
        result.evaluation,
        len(result.fairness_model.violations()),
        result.factor_importance,
        result.scored_test,
    )


def champion_side(
    result: TrainResult,
    histories: CaseHistories,
    flagging: FlaggingPolicy,
    gates: GatePolicy,
    ref: str = "champion",
) -> Side | str:
    """The registry's ``ref`` judged on ``result``'s test rows, or why it cannot be (no
    champion yet; features the new run's rows do not have)."""
    try:
        model = load_version(ref)
        scored, evaluation, _, alone = judge(model, histories, result.test_rows, flagging, gates)
        factors = factor_importance(model, result.test_rows)
    except RegistryError as exc:
        return f"no {ref} to compare with: {exc}"
    except (DesignError, KeyError, pl.exceptions.PolarsError) as exc:
        return f"the {ref} cannot score these rows ({type(exc).__name__}: {exc})"
    return Side(ref, model.family, evaluation, len(alone.violations()), factors, scored)


def metrics_table(sides: list[Side]) -> pl.DataFrame:
    """Headline metrics, one column per model."""
    names = list(sides[0].evaluation.headline())
    return pl.DataFrame(
        {"metric": [*names, "fairness_violations"]}
        | {
            side.name: [*(side.evaluation.headline()[n] for n in names), side.fairness_violations]
            for side in sides
        }
    )


def outcome_by_score(sides: list[Side]) -> pl.DataFrame:
    """Per 1-20 score: children and observed outcome rate, per model (long format)."""
    return pl.DataFrame(
        [
            {
                "model": side.name,
                "score": row.score,
                "children": row.n,
                "outcome_rate": row.outcome_rate,
                "mean_rate": row.mean_probability,
            }
            for side in sides
            for row in side.evaluation.by_score
        ]
    )


def top_factors(sides: list[Side], top: int = 10) -> pl.DataFrame:
    """The ``top`` factors of each model by mean absolute contribution, side by side."""
    return pl.DataFrame(
        {
            f"{side.name} ({side.family})": [
                f"{name} ({weight:.3f})" for name, weight in side.factors[:top]
            ]
            + [""] * (top - len(side.factors[:top]))
            for side in sides
        }
    )


@dataclass(frozen=True)
class Variant:
    """One feature policy trained and judged: what excluding a family changes."""

    name: str
    policy: Policy
    result: TrainResult


def policy_variants(
    histories: CaseHistories,
    family: str,
    config: FeatureConfig,
    variants: dict[str, Policy],
    flagging: FlaggingPolicy,
    gates: GatePolicy,
    settings: TrainingSettings,
) -> list[Variant]:
    """Train ``family`` once per feature policy (each builds its own features) on the same
    split: the difference between two variants is what the policy changed."""
    return [
        Variant(name, policy, train(histories, family, config, policy, flagging, gates, settings))
        for name, policy in variants.items()
    ]


def variants_table(variants: list[Variant], attributes: tuple[str, ...]) -> pl.DataFrame:
    """Per variant: features used, AUC, calibration error, the model's disparities outside
    tolerance (the model alone, models.fairness_split), and for each attribute the
    flag-rate disparity furthest from parity (min and max ratio over judged groups, with
    the groups' counts in the fairness tables)."""
    rows = []
    for variant in variants:
        frame = variant.result.fairness.to_frame()
        row: dict[str, object] = {
            "variant": variant.name,
            "features": len(variant.result.model.specs),
            "roc_auc": variant.result.evaluation.roc_auc,
            "ece": variant.result.evaluation.ece,
            "violations": len(variant.result.fairness_model.violations()),
        }
        for attribute in attributes:
            ratios = frame.filter(
                (pl.col("attribute") == attribute) & pl.col("flag_rate_disparity").is_not_null()
            )["flag_rate_disparity"]
            row[f"{attribute}_flag_rate_min"] = ratios.min() if ratios.len() else None
            row[f"{attribute}_flag_rate_max"] = ratios.max() if ratios.len() else None
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def within_group_calibration(result: TrainResult, attribute: str) -> pl.DataFrame:
    """Mean calibrated rate against observed outcome rate per group of ``attribute``."""
    frame = result.fairness.to_frame().filter(pl.col("attribute") == attribute)
    wanted = ["group", "n", "positives", "outcome_rate", "mean_probability", "calibration_ratio"]
    return frame.select([c for c in wanted if c in frame.columns])


SENSITIVE: Final = ("disability", "mental_health", "poverty", "hukou", "association")


def sensitive_variants(policy: Policy) -> dict[str, Policy]:
    """The policy, and per sensitive family the policy without it (association: with it
    turned on, when the policy has it off): what each family is weighed against."""
    variants = {"policy": policy}
    for family in SENSITIVE:
        if family == "association":
            if policy.association:
                variants["without association"] = replace(policy, association=False)
            else:
                variants["with association"] = replace(policy, association=True)
        elif family not in policy.exclude:
            variants[f"without {family}"] = replace(policy, exclude=(*policy.exclude, family))
    return variants


def family_value(variants: list[Variant], base_name: str = "policy") -> pl.DataFrame:
    """What each family buys, from ``policy_variants`` of ``sensitive_variants`` (or any
    variants named "without FAMILY" or "with FAMILY" beside ``base_name``): per family,
    the test AUC with and without it, the difference, and how many test rows' flags
    change (flagged in one and not the other), beside the flags given."""
    base = next(v for v in variants if v.name == base_name)
    flags = _flags(base)
    rows = []
    for variant in variants:
        if variant is base:
            continue
        turned_on = variant.name.startswith("with ")
        family = variant.name.split(" ", 1)[1]
        with_it, without = (variant, base) if turned_on else (base, variant)
        changed = _flags(variant).join(flags, on=["child_id", "as_of"], suffix="_base")
        rows.append({
            "family": family,
            "auc_with": with_it.result.evaluation.roc_auc,
            "auc_without": without.result.evaluation.roc_auc,
            "auc_bought": with_it.result.evaluation.roc_auc - without.result.evaluation.roc_auc,
            "flags": int(flags["flagged"].sum()),
            "flags_changed": int((changed["flagged"] != changed["flagged_base"]).sum()),
        })  # fmt: skip
    return pl.DataFrame(rows)


def _flags(variant: Variant) -> pl.DataFrame:
    return variant.result.scored_test.select("child_id", "as_of", "flagged")
