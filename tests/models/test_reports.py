"""PNG plots, Markdown reports and the model card, and the wording they must keep."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from models import evaluation as evaluation_module
from models import fairness as fairness_module
from models import reports
from models.evaluation import Evaluation, evaluate
from models.fairness import FairnessReport, audit
from models.reports import (
    INTENDED_USE,
    LIMITATIONS,
    NOT_INTENDED_USE,
    ModelCard,
    ReportError,
    evaluation_markdown,
    fairness_markdown,
    model_card_markdown,
    plot_calibration,
    plot_factors,
    plot_outcome_by_score,
    plot_roc,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
PNG = b"\x89PNG\r\n\x1a\n"
IMAGES = {"ROC curve": "roc.png", "Calibration": "calibration.png"}


def _data(n: int = 1500, seed: int = 3) -> tuple[IntArray, FloatArray, Evaluation]:
    rng = np.random.default_rng(seed)
    probability = rng.beta(1, 5, n)
    y = (rng.random(n) < probability).astype(int)
    score = np.clip((probability * 40).astype(int) + 1, 1, 20)
    as_of = [date(2025, 1, 6), date(2025, 1, 13)] * (n // 2)
    result = evaluate(y, probability, score, probability > 0.45, as_of, oracle=probability)
    return y, probability, result


def _fairness() -> FairnessReport:
    def group(name: str, n: int, flags: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "y": [i % 2 for i in range(n)],
                "probability": [0.4] * n,
                "flagged": [i < flags for i in range(n)],
                "area": [name] * n,
            }
        )

    frame = pl.concat([group("urban", 100, 20), group("rural", 100, 10), group("island", 10, 9)])
    return audit(frame, ["area"], reference={"area": "urban"})


def _harm_is_only_negated(text: str) -> None:
    """The rule: "probability of harm" is only ever said to be what the number is not."""
    for match in re.finditer("probability of harm", text, flags=re.IGNORECASE):
        assert text[: match.start()].lower().endswith("not a "), text[match.start() - 40 :]


def test_plots_write_pngs_and_close_their_figures(tmp_path: Path) -> None:
    y, probability, result = _data()
    written = [
        plot_roc(y, probability, tmp_path / "roc.png"),
        plot_calibration(y, probability, str(tmp_path / "calibration.png")),
        plot_outcome_by_score(result, tmp_path / "by_score.png"),
        plot_factors(
            [("prior referrals", 0.8), ("age", 0.2), ("school absence", 0.45)],
            tmp_path / "nested" / "factors.png",
            "Top factors",
            top=2,
        ),
    ]
    assert [path.name for path in written] == [
        "roc.png",
        "calibration.png",
        "by_score.png",
        "factors.png",
    ]
    for path in written:
        assert path.read_bytes()[:8] == PNG
        assert path.stat().st_size > 2000
    assert plt.get_fignums() == []


def test_plots_refuse_what_they_cannot_draw(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="single class"):
        plot_roc([0, 0, 0], [0.1, 0.2, 0.3], tmp_path / "roc.png")
    with pytest.raises(ReportError, match="one length"):
        plot_calibration([0, 1], [0.1, 0.2, 0.3], tmp_path / "calibration.png")
    with pytest.raises(ReportError, match=r"\[0, 1\]"):
        plot_calibration([0, 1], [0.1, 1.2], tmp_path / "calibration.png")
    with pytest.raises(ReportError, match="nothing to plot"):
        plot_factors([], tmp_path / "factors.png", "Top factors")
    with pytest.raises(ReportError, match=">= 0"):
        plot_factors([("age", -0.1)], tmp_path / "factors.png", "Top factors")
    assert not list(tmp_path.glob("*.png"))
    assert plt.get_fignums() == []


def test_evaluation_markdown_holds_the_numbers_and_the_image_links() -> None:
    _, _, result = _data()
    text = evaluation_markdown(result, IMAGES, "Test block evaluation")
    assert text.startswith("# Test block evaluation\n")
    assert "calibrated rate of the recorded outcome" in text
    assert "not a probability of harm" in text
    _harm_is_only_negated(text)
    assert f"| ROC AUC | {result.roc_auc:.3f} |" in text
    assert f"| average precision | {result.average_precision:.3f} |" in text
    assert f"| Brier score | {result.brier:.4f} |" in text
    assert f"| {result.ece:.4f} |" in text
    assert f"| rows (children at test as-of dates) | {result.n:,} |" in text
    assert f"| {result.oracle_auc:.3f} |" in text
    assert f"| lift ratio (AUC - 0.5) / (oracle AUC - 0.5) | {result.lift_ratio:.3f} |" in text
    for row in result.at_k:
        assert (
            f"| {row.name} | {row.k:.1%} | {row.flagged:,} | {row.positives:,} | "
            f"{row.precision:.3f} | {row.recall:.3f} |" in text
        )
    for score in result.by_score:
        rate = "n/a" if score.outcome_rate is None else f"{score.outcome_rate:.3f}"
        assert f"| {score.score} | {score.n:,} | {score.positives:,} | {rate} |" in text
    for day in result.by_as_of:
        assert f"| {day.as_of} | {day.n:,} | {day.positives:,} | {day.base_rate:.3f} |" in text
    assert "![ROC curve](roc.png)" in text
    assert "![Calibration](calibration.png)" in text


def test_evaluation_markdown_without_oracle_or_images() -> None:
    y, probability, _ = _data()
    n = y.size
    result = evaluate(y, probability, np.ones(n, dtype=int), np.zeros(n, bool), ["2025-01-06"] * n)
    text = evaluation_markdown(result, {}, "Without the true risk")
    assert "oracle" not in text
    assert "## Plots" not in text
    assert "| policy capacity | 0.0% | 0 | 0 | n/a | 0.000 |" in text
    with pytest.raises(ReportError, match="not a relative file name"):
        evaluation_markdown(result, {"ROC": "/tmp/roc.png"}, "Absolute")


def test_fairness_markdown_shows_counts_marks_and_a_summary() -> None:
    report = _fairness()
    text = fairness_markdown(report, (0.8, 1.25))
    assert "## area (reference: urban)" in text
    assert "| urban (reference) | 100 | 0.500 (50/100) |" in text
    rural = "| rural | 100 | 0.500 (50/100) | 0.400 vs 0.500 | 0.100 (10/100) | **0.50 outside** |"
    assert rural in text
    assert "0.100 (5/50) | **0.50 outside**" in text  # FPR of rural
    assert "| island | 10 |" in text
    assert "0.900 (9/10) | 4.50 (too few to judge)" in text
    assert "Outside tolerance (2):" in text
    assert "- area=rural: flag_rate 0.100 vs 0.200 for urban (10 of 100 vs 20 of 100)" in text
    assert "Too few to judge (fewer than 50 rows): area=island." in text
    _harm_is_only_negated(text)

    lenient = fairness_markdown(report, (0.4, 2.5))
    assert "outside**" not in lenient
    assert "No judged group is outside the tolerance 0.40-2.50." in lenient
    assert fairness_markdown(report) == text


def _card(**changes: object) -> ModelCard:
    fields: dict[str, Any] = {
        "model_name": "riskflag-ebm",
        "version": "3",
        "family": "ebm",
        "trained_at": "2026-11-29T10:00:00+00:00",
        "data_window": {
            "train": "2023-08-01..2024-06-01 (11 dates)",
            "calibration": "2024-07-01..2024-09-01 (3 dates)",
            "test": "2025-01-01..2025-07-01 (7 dates)",
        },
        "label": "urgent_intervention: an urgent intervention recorded",
        "horizon_days": 180,
        "n_train": 120_000,
        "n_calibration": 31_000,
        "n_test": 70_500,
        "headline": {"roc_auc": 0.78125, "ece": 0.01234},
        "fairness_summary": "No judged group is outside the tolerance 0.80-1.25.",
        "features_used": 57,
        "policy": {"flagging policy": "sha256:1f2e3d"},
    }
    return ModelCard(**(fields | changes))


def test_model_card_has_every_section() -> None:
    text = model_card_markdown(_card())
    sections = [
        "# Model card: riskflag-ebm",
        "## Model details",
        "## Intended use",
        "## Not intended use",
        "## Label",
        "## Data",
        "## Metrics (test block)",
        "## Fairness",
        "## Limitations",
        "## Policy",
    ]
    positions = [text.index(section) for section in sections]
    assert positions == sorted(positions)
    assert "- Version: 3" in text
    assert "- Features used: 57" in text
    assert "(horizon: 180 days after each as-of date)" in text
    assert "| train | 2023-08-01..2024-06-01 (11 dates) | 120,000 |" in text
    assert "| test | 2025-01-01..2025-07-01 (7 dates) | 70,500 |" in text
    assert "| roc_auc | 0.7812 |" in text
    assert "| ece | 0.0123 |" in text
    assert "No judged group is outside the tolerance 0.80-1.25." in text
    assert "- flagging policy: sha256:1f2e3d" in text
    assert INTENDED_USE in text
    assert NOT_INTENDED_USE in text
    assert all(f"- {limitation}" in text for limitation in LIMITATIONS)
    assert "not a probability of harm" in text
    _harm_is_only_negated(text)
    assert "- Version: not registered" in model_card_markdown(_card(version=None))
    custom = model_card_markdown(_card(limitations=["Only one district."]))
    assert "- Only one district." in custom
    assert LIMITATIONS[0] not in custom


def test_default_texts_say_what_the_model_is_not_for() -> None:
    assert "caseworker" in INTENDED_USE
    assert "prioritise" in INTENDED_USE
    assert "automatic" in NOT_INTENDED_USE
    assert "remove a child" in NOT_INTENDED_USE
    joined = " ".join(LIMITATIONS)
    for phrase in (
        "agency decisions",
        "surveillance",
        "not harm itself",
        "public services",
        "poorer families",
        "data window",
        "synthetic data",
    ):
        assert phrase in joined


def test_model_card_refuses_an_incomplete_window() -> None:
    with pytest.raises(ReportError, match="'calibration'"):
        _card(data_window={"train": "a", "test": "b"})
    with pytest.raises(ReportError, match="horizon_days"):
        _card(horizon_days=0)
    with pytest.raises(ReportError, match="negative"):
        _card(n_test=-1)


def test_no_text_calls_the_number_a_probability_of_harm() -> None:
    texts = [
        reports.PROBABILITY_MEANING,
        INTENDED_USE,
        NOT_INTENDED_USE,
        *LIMITATIONS,
        *(module.__doc__ or "" for module in (evaluation_module, fairness_module, reports)),
    ]
    for text in texts:
        _harm_is_only_negated(" ".join(text.split()))
    _harm_is_only_negated("It is not a probability of harm.")
    with pytest.raises(AssertionError):
        _harm_is_only_negated("the probability of harm is 0.3")


def test_model_card_says_how_well_its_data_was_linked() -> None:
    unlinked = model_card_markdown(_card())
    assert "## Linkage" in unlinked
    assert "not linked by riskflag" in unlinked
    linkage = {
        "records": 348_749,
        "children": 100_120,
        "held_back_children": 120,
        "share_by_how": {"id_number": 0.68, "match": 0.3, "single": 0.02},
        "family_only_records": 2_785,
        "review_pairs_open": 9_000,
        "policy_sha256": "f5393354d953166b2dafabac",
        "quality_against_truth": {"pairwise_precision": 0.9994, "pairwise_recall": 0.9814},
        "recall_by_hukou": {"local": 0.9866, "nonlocal": 0.9721},
        "share_by_how_by_hukou": {
            "local": {"id_number": 0.8, "match": 0.19, "review": 0.0, "single": 0.01},
            "nonlocal": {"id_number": 0.5, "match": 0.45, "review": 0.01, "single": 0.04},
        },
        "share_by_how_by_area": {"core": {"id_number": 0.7, "match": 0.3}},
    }
    text = model_card_markdown(_card(linkage=linkage))
    assert text.index("## Data") < text.index("## Linkage") < text.index("## Metrics")
    assert "348,749 source records linked into 100,120 children" in text
    assert "| id_number | 0.6800 |" in text
    assert "| pairwise_recall | 0.9814 |" in text
    assert "Pairwise recall by hukou: local 0.9866, nonlocal 0.9721." in text
    # by group: the share of each group's records joined each way (a missing way: none)
    assert "| hukou | id_number | match | review | single |" in text
    assert "| nonlocal | 0.5000 | 0.4500 | 0.0100 | 0.0400 |" in text
    assert "| area | id_number | match | review | single |" in text
    assert "| core | 0.7000 | 0.3000 | 0.0000 | 0.0000 |" in text
    # a folder linked before the linker counted by group: the overall shares only
    older = {k: v for k, v in linkage.items() if not k.startswith("share_by_how_by_")}
    assert "| hukou |" not in model_card_markdown(_card(linkage=older))
