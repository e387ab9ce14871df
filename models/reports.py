"""What a reviewer reads about a model: Markdown reports, PNG plots and a model card.

Numbers alone mislead in two ways this module guards against. A rate without its count
hides how little evidence may stand behind it, so every rate of the fairness tables sits
beside its "count/denominator". And a "probability" invites a reading it does not bear:
it is a calibrated rate of the recorded outcome among children like this in the past, not
a probability of harm, and the outcome is an agency's recorded intervention. Every
evaluation report and model card says so in words.

Plots are written with matplotlib's Agg backend (no display needed), one figure per file,
closed once written. Image links in the Markdown are relative file names, so a report
directory can be moved or published as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Final

import matplotlib
import numpy as np
import numpy.typing as npt

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from models.evaluation import (
    CALIBRATION_BINS,
    Evaluation,
    calibration_bins,
)
from models.fairness import JUDGED_METRICS, Disparity, FairnessReport, GroupRow
from models.linkage_card import linkage_lines
from models.markdown import count as _count
from models.markdown import num as _num
from models.markdown import table as _table

PROBABILITY_MEANING: Final = (
    "The probability is a calibrated rate of the recorded outcome: among children like "
    "this one in the past, the share for whom the outcome was recorded within the horizon. "
    "It is not a probability of harm. The outcome is a recorded intervention, which "
    "reflects agency decisions and how closely a family is watched as well as what "
    "happened to the child; the 1-20 score ranks children by this rate."
)

INTENDED_USE: Final = (
    "Decision support: to help caseworkers and supervisors prioritise which children's "
    "case histories to review first, within the team's capacity. Every flag is reviewed by "
    "a caseworker, who sees the factors behind it and decides what, if anything, to do."
)

NOT_INTENDED_USE: Final = (
    "Never automatic action: not to open, screen out or close a case, remove a child from "
    "a family, or start an investigation without a caseworker's own review. Not a "
    "judgement of a family, not a diagnosis and not a probability of harm. Not for "
    "children, places or periods outside the data window shown."
)

LIMITATIONS: Final = (
    "The outcome is a recorded intervention, which reflects agency decisions, resources "
    "and surveillance, not harm itself; a model that predicts it well reproduces those "
    "decisions, including their biases.",
    "Features record contact with public services, so poorer families and families "
    "registered locally (hukou) are more visible to the model than others with the same "
    "needs.",
    "Validated only on the data window shown; performance on later periods, other "
    "districts or after a change of practice is unknown until measured.",
    "Numbers from synthetic data describe the pipeline, not field performance.",
)

_METRIC_LABELS: Final = {
    "flag_rate": "flag rate",
    "fpr": "FPR",
    "fnr": "FNR",
    "precision": "precision",
}


class ReportError(ValueError):
    """A report or plot that cannot be made from what was given; says why."""


def _target(path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _save(figure: Figure, path: str | Path) -> Path:
    target = _target(path)
    try:
        figure.tight_layout()
        figure.savefig(target, format="png", dpi=120)
    finally:
        plt.close(figure)
    return target


def _outcomes(
    y: npt.ArrayLike, probability: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    outcome = np.asarray(y)
    prob = np.asarray(probability, dtype=np.float64)
    if outcome.ndim != 1 or outcome.shape != prob.shape or outcome.size == 0:
        raise ReportError("y and probability: two non-empty one-dimensional arrays of one length")
    if not np.isin(outcome, (0, 1)).all():
        raise ReportError("y: every value must be 0 or 1")
    if not (np.isfinite(prob).all() and ((prob >= 0) & (prob <= 1)).all()):
        raise ReportError("probability: values must lie in [0, 1]")
    return outcome.astype(np.int64), prob


def plot_roc(y: npt.ArrayLike, probability: npt.ArrayLike, path: str | Path) -> Path:
    """ROC curve with its AUC and the diagonal of a ranking by chance."""
    outcome, prob = _outcomes(y, probability)
    if outcome.min() == outcome.max():
        raise ReportError("y: a single class; the ROC curve is undefined")
    fpr, tpr, _ = roc_curve(outcome, prob)
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot(fpr, tpr, label=f"model (AUC {roc_auc_score(outcome, prob):.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC curve",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    axes.legend(loc="lower right")
    return _save(figure, path)


def plot_calibration(y: npt.ArrayLike, probability: npt.ArrayLike, path: str | Path) -> Path:
    """Mean predicted against observed outcome rate in 20 equal-count bins, and the diagonal."""
    outcome, prob = _outcomes(y, probability)
    bins = calibration_bins(outcome, prob, CALIBRATION_BINS)
    figure, axes = plt.subplots(figsize=(5, 5))
    top = max(0.01, *(b.mean_probability for b in bins), *(b.outcome_rate for b in bins))
    limit = min(1.0, top * 1.1)
    axes.plot([0, limit], [0, limit], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(
        [b.mean_probability for b in bins],
        [b.outcome_rate for b in bins],
        marker="o",
        label=f"{len(bins)} equal-count bins",
    )
    axes.set(
        xlabel="mean predicted rate of the recorded outcome",
        ylabel="observed outcome rate",
        title="Calibration",
        xlim=(0, limit),
        ylim=(0, limit),
    )
    axes.legend(loc="upper left")
    return _save(figure, path)


def plot_outcome_by_score(evaluation: Evaluation, path: str | Path) -> Path:
    """Observed outcome rate per 1-20 score (bars, labelled with counts) and mean predicted."""
    rows = [row for row in evaluation.by_score if row.n]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    scores = [row.score for row in rows]
    rates = [row.outcome_rate or 0.0 for row in rows]
    bars = axes.bar(scores, rates, color="tab:blue", label="observed outcome rate")
    axes.bar_label(bars, labels=[f"n={row.n}" for row in rows], fontsize=7, rotation=90)
    axes.plot(
        scores,
        [row.mean_probability or 0.0 for row in rows],
        color="tab:orange",
        marker="o",
        linestyle="none",
        label="mean predicted rate",
    )
    axes.set(
        xlabel="score (1-20)",
        ylabel="outcome rate",
        title="Outcome rate by score",
        xticks=range(1, 21),
        ylim=(0, min(1.0, max([*rates, 0.01]) * 1.3)),
    )
    axes.legend(loc="upper left")
    return _save(figure, path)


def plot_factors(
    factors: Sequence[tuple[str, float]], path: str | Path, title: str, top: int = 15
) -> Path:
    """Horizontal bars of the ``top`` factors by mean absolute contribution (log-odds)."""
    if not factors:
        raise ReportError("factors: nothing to plot")
    values = np.asarray([value for _, value in factors], dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ReportError("factors: mean absolute contributions must be finite and >= 0")
    if top < 1:
        raise ReportError(f"top: at least 1, got {top}")
    chosen = sorted(factors, key=lambda item: (-item[1], item[0]))[:top]
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(chosen) + 1.2))
    axes.barh([name for name, _ in reversed(chosen)], [value for _, value in reversed(chosen)])
    axes.set(xlabel="mean |contribution| (log-odds)", title=title)
    return _save(figure, path)


def evaluation_markdown(evaluation: Evaluation, images: Mapping[str, str], title: str) -> str:
    """The evaluation as Markdown; ``images`` maps a caption to a relative PNG file name."""
    for caption, name in images.items():
        if PurePath(name).is_absolute() or "://" in name:
            raise ReportError(f"image {caption!r}: {name!r} is not a relative file name")
    e = evaluation
    lines = [f"# {title}", "", PROBABILITY_MEANING, "", "## Headline", ""]
    headline: list[tuple[str, str]] = [
        ("rows (children at test as-of dates)", _count(e.n)),
        ("recorded outcomes", _count(e.positives)),
        ("base rate", _num(e.base_rate)),
        ("ROC AUC", _num(e.roc_auc)),
        ("average precision", _num(e.average_precision)),
        ("Brier score", _num(e.brier, 4)),
        (f"expected calibration error ({CALIBRATION_BINS} equal-count bins)", _num(e.ece, 4)),
    ]
    if e.oracle_auc is not None:
        headline.append(("oracle ROC AUC (true risk, synthetic data)", _num(e.oracle_auc)))
        headline.append(("lift ratio (AUC - 0.5) / (oracle AUC - 0.5)", _num(e.lift_ratio)))
    lines += _table(("metric", "value"), headline)
    lines += ["", "## Precision and recall at capacity", ""]
    lines += _table(
        ("flagged", "share of rows", "rows flagged", "outcomes among them", "precision", "recall"),
        [
            (
                row.name,
                f"{row.k:.1%}",
                _count(row.flagged),
                _count(row.positives),
                _num(row.precision),
                _num(row.recall),
            )
            for row in e.at_k
        ],
    )
    lines += ["", "## Outcome rate by score", ""]
    lines += _table(
        ("score", "rows", "outcomes", "outcome rate", "mean predicted rate"),
        [
            (
                row.score,
                _count(row.n),
                _count(row.positives),
                _num(row.outcome_rate),
                _num(row.mean_probability),
            )
            for row in e.by_score
        ],
    )
    lines += ["", "## Stability across test as-of dates", ""]
    lines += _table(
        ("as-of", "rows", "outcomes", "base rate", "ROC AUC", "average precision", "Brier", "ECE"),
        [
            (
                row.as_of,
                _count(row.n),
                _count(row.positives),
                _num(row.base_rate),
                _num(row.roc_auc),
                _num(row.average_precision),
                _num(row.brier, 4),
                _num(row.ece, 4),
            )
            for row in e.by_as_of
        ],
    )
    if images:
        lines += ["", "## Plots", ""]
        for caption, name in images.items():
            lines += [f"![{caption}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _rate_cell(value: float | None, count: int, denominator: int) -> str:
    return f"{_num(value)} ({_count(count)}/{_count(denominator)})"


def _disparity_cell(item: Disparity) -> str:
    if item.ratio is None:
        return "n/a"
    if item.too_few:
        return f"{item.ratio:.2f} (too few to judge)"
    if item.within_tolerance is False:
        return f"**{item.ratio:.2f} outside**"
    return f"{item.ratio:.2f}"


def _group_cells(row: GroupRow) -> list[str]:
    name = f"{row.group} (reference)" if row.is_reference else row.group
    cells = [
        name,
        _count(row.n),
        _rate_cell(row.outcome_rate, row.positives, row.n),
        f"{_num(row.mean_probability)} vs {_num(row.outcome_rate)}",
    ]
    for metric in JUDGED_METRICS:
        item = row.disparity(metric)
        cells += [_rate_cell(item.value, item.count, item.denominator), _disparity_cell(item)]
    return cells


def fairness_markdown(
    report: FairnessReport,
    tolerance: tuple[float, float] | None = None,
    title: str = "Fairness audit",
) -> str:
    """One table per attribute, every rate beside its count; judged with ``tolerance``.

    ``tolerance`` defaults to the one the audit was run with; another re-judges the ratios.
    """
    judged = report if tolerance is None else report.with_tolerance(tolerance)
    low, high = judged.tolerance
    lines = [
        f"# {title}",
        "",
        f"Each rate is shown with its count/denominator. A disparity is the group's rate "
        f"divided by the reference group's; it is outside tolerance below {low:.2f} or above "
        f"{high:.2f}. A group or reference with fewer than {judged.min_count} rows is too few "
        "to judge. FPR: flagged among children without the recorded outcome; FNR: not "
        "flagged among children with it; precision: the recorded outcome among the flagged.",
    ]
    header = ["group", "rows", "outcome rate", "mean predicted vs observed"]
    for metric in JUDGED_METRICS:
        header += [_METRIC_LABELS[metric], "disparity"]
    for attribute, reference in judged.references.items():
        rows = [row for row in judged.rows if row.attribute == attribute]
        lines += ["", f"## {attribute} (reference: {reference})", ""]
        lines += _table(header, [_group_cells(row) for row in rows])
    violations = judged.violations()
    too_few = sorted(
        {(row.attribute, row.group) for row in judged.rows if row.n < judged.min_count}
    )
    lines += ["", "## Summary", ""]
    if violations:
        lines.append(f"Outside tolerance ({len(violations)}):")
        lines.append("")
        lines += [f"- {violation.describe()}" for violation in violations]
    else:
        lines.append(f"No judged group is outside the tolerance {low:.2f}-{high:.2f}.")
    if too_few:
        listed = ", ".join(f"{attribute}={group}" for attribute, group in too_few)
        lines += ["", f"Too few to judge (fewer than {judged.min_count} rows): {listed}."]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ModelCard:
    """What a model is, what it was validated on, and what it must not be used for."""

    model_name: str
    version: str | None
    family: str
    trained_at: str
    data_window: Mapping[str, str]
    label: str
    horizon_days: int
    n_train: int
    n_calibration: int
    n_test: int
    headline: Mapping[str, float]
    fairness_summary: str
    features_used: int
    policy: Mapping[str, str] = field(default_factory=dict)
    linkage: Mapping[str, Any] | None = None  # features.linkage.output.linkage_summary
    intended_use: str = INTENDED_USE
    not_intended_use: str = NOT_INTENDED_USE
    limitations: Sequence[str] = LIMITATIONS
    # per feature family used: its legal basis and necessity statement (the policy's)
    necessity: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        blocks = ("train", "calibration", "test")
        missing = [block for block in blocks if block not in self.data_window]
        if missing:
            raise ReportError(f"data_window: no span for {missing[0]!r}")
        if self.horizon_days <= 0:
            raise ReportError(f"horizon_days must be positive, got {self.horizon_days}")
        counts = (self.n_train, self.n_calibration, self.n_test, self.features_used)
        if min(counts) < 0:
            raise ReportError("row and feature counts cannot be negative")


def model_card_markdown(card: ModelCard) -> str:
    version = card.version if card.version is not None else "not registered"
    lines = [
        f"# Model card: {card.model_name}",
        "",
        "## Model details",
        "",
        f"- Version: {version}",
        f"- Family: {card.family}",
        f"- Trained at: {card.trained_at}",
        f"- Features used: {_count(card.features_used)}",
        "",
        "## Intended use",
        "",
        card.intended_use,
        "",
        "## Not intended use",
        "",
        card.not_intended_use,
        "",
        "## Label",
        "",
        f"{card.label} (horizon: {card.horizon_days} days after each as-of date).",
        "",
        PROBABILITY_MEANING,
        "",
        "## Data",
        "",
    ]
    counts = {"train": card.n_train, "calibration": card.n_calibration, "test": card.n_test}
    lines += _table(
        ("block", "as-of dates", "rows"),
        [(block, card.data_window[block], _count(rows)) for block, rows in counts.items()],
    )
    lines += ["", "## Linkage", "", *linkage_lines(card.linkage)]
    lines += ["", "## Metrics (test block)", ""]
    if card.headline:
        lines += _table(("metric", "value"), [(k, _num(v, 4)) for k, v in card.headline.items()])
    else:
        lines.append("No metrics recorded.")
    lines += ["", "## Fairness", "", card.fairness_summary, "", "## Limitations", ""]
    lines += [f"- {limitation}" for limitation in card.limitations]
    lines += ["", "## Necessity", ""]
    if card.necessity:
        lines += _table(
            ("family", "legal basis", "why necessary"),
            [(f, n["basis"], n["statement"]) for f, n in sorted(card.necessity.items())],
        )
    else:
        lines.append("No necessity statement recorded.")
    lines += ["", "## Policy", ""]
    if card.policy:
        lines += [f"- {name}: {digest}" for name, digest in card.policy.items()]
    else:
        lines.append("No policy recorded.")
    return "\n".join(lines) + "\n"
