"""The compiled (numpy) form of a model equals the scikit-learn / interpret / polars path:
per-term contributions, explanations, the design matrix and its errors, on a small
feature table built from synthetic histories; and a compiled model still pickles."""

from __future__ import annotations

import copy
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn.pipeline import Pipeline

from features.config import load_feature_config, load_policy
from features.contract import load_case_histories
from features.registry import Registry
from features.synth import SynthConfig, generate
from models import compiled as compiled_module
from models import families
from models.compiled import FEW_ROWS, BinnedTerms, LibraryTerms, compile_terms
from models.design import DesignError, design_matrix
from models.families import FAMILIES, as_frame, make_pipeline, raw_terms
from models.riskmodel import RiskModel
from models.settings import TrainingSettings, plan_split
from models.train import build_blocks, fit_model

pytestmark = pytest.mark.slow

ADDITIVE = ("scorecard", "logistic", "ebm", "baseline")
# parameters that change a family's form: each compiles too
VARIANTS = {"logistic log": {"transform": "log"}, "scorecard mode": {"placement": "mode"}}
EXACT = ("scorecard", "baseline")  # integer points, one log1p: bit for bit
SEVERITY = "report_concern__max_severity_365d"
COUNT = "report_concern__count_all"


@dataclass(frozen=True)
class Trained:
    models: dict[str, RiskModel]
    train: pl.DataFrame
    test: pl.DataFrame
    registry: Registry


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    folder = tmp_path_factory.mktemp("compiled") / "data"
    generate(SynthConfig(children=1500, seed=31, workers=1), folder)
    histories = load_case_histories(folder)
    config, policy = load_feature_config(), load_policy()
    settings = TrainingSettings(
        train_dates=3,
        calibration_dates=1,
        test_dates=1,
        model={"ebm": {"interactions": 3, "outer_bags": 1, "max_rounds": 200}},
    )
    split = plan_split(settings, histories.exported_at, config.label.horizon_days)
    blocks = build_blocks(histories, config, policy, split)
    models = {family: fit_model(family, blocks, config, policy, settings) for family in FAMILIES}
    for family, params in VARIANTS.items():
        varied = dataclasses.replace(settings, model={family.split()[0]: params})
        models[family] = fit_model(family.split()[0], blocks, config, policy, varied)
    return Trained(models, blocks.train, blocks.test, blocks.registry)


def _names(model: RiskModel) -> list[str]:
    return [column.name for column in model.columns]


def _matrices(trained: Trained) -> list[np.ndarray]:
    """One row, three rows (one search for all columns) and the whole test block (column
    by column), as serving and batch scoring send them."""
    matrix = trained.models["ebm"].matrix(trained.test)
    assert matrix.shape[0] > FEW_ROWS
    return [matrix[:1], matrix[1:4], matrix]


def _assert_terms_equal(family: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    if family in EXACT:
        np.testing.assert_array_equal(ours, theirs)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", [*ADDITIVE, *VARIANTS])
def test_compiled_terms_equal_the_libraries(name: str, trained: Trained) -> None:
    model, family = trained.models[name], name.split(maxsplit=1)[0]
    assert not isinstance(model.compiled.terms_of, LibraryTerms)
    for matrix in _matrices(trained):
        ours, intercept = model.compiled.terms(matrix)
        theirs, expected = raw_terms(model.pipeline, family, as_frame(matrix, _names(model)))
        _assert_terms_equal(family, ours, theirs)
        assert intercept == expected


def test_the_log_transform_is_in_the_terms_and_the_decision(trained: Trained) -> None:
    """The logistic's terms add up to its decision function with the transform, and the
    transform changed the model (a count's terms are no longer linear in the count)."""
    model = trained.models["logistic log"]
    assert "log" in model.pipeline.named_steps
    matrix = model.matrix(trained.test)
    frame = as_frame(matrix, _names(model))
    terms, intercept = raw_terms(model.pipeline, "logistic", frame)
    np.testing.assert_allclose(
        terms.sum(axis=1) + intercept, model.pipeline.decision_function(frame), atol=1e-9
    )
    j = _names(model).index(COUNT)
    values, contributions = matrix[:, j], terms[:, j]
    if model.pipeline[-1].coef_[0][j] != 0:
        seen = np.unique(values)
        assert seen.shape[0] >= 3
        steps = np.diff([contributions[values == v][0] for v in seen[:3]])
        assert steps[0] > steps[1] > 0  # concave in the count, and rising


def _scrambled(pipeline: Pipeline, family: str) -> Pipeline:
    """A copy whose every bin scores differently, so that a value binned wrong shows."""
    rng = np.random.default_rng(5)
    pipeline = copy.deepcopy(pipeline)
    last = pipeline[-1]
    if family == "scorecard":
        last.points_ = [rng.permutation(100)[: len(points)] for points in last.points_]
    else:
        last.term_scores_ = [rng.normal(size=scores.shape) for scores in last.term_scores_]
    return pipeline


@pytest.mark.parametrize("family", ["scorecard", "ebm"])
def test_values_on_the_cuts_and_beyond_fall_into_the_same_bins(
    family: str, trained: Trained
) -> None:
    """Every cut itself, its neighbours and extremes (EBM: +-inf and NaN, the missing
    bin): bins are closed below, as in the scorecard's searchsorted and interpret's
    Discretize."""
    names = _names(trained.models[family])
    pipeline = _scrambled(trained.models[family].pipeline, family)
    compiled, last = compile_terms(pipeline, family, names), pipeline[-1]
    cuts = last.bin_edges_ if family == "scorecard" else [levels[0] for levels in last.bins_]
    depth = max(len(c) for c in cuts)
    probes = [np.inf, -np.inf, np.nan] if family == "ebm" else [1e300, -1e300]
    matrix = np.zeros((3 * depth + len(probes), len(cuts)))
    for j, cut in enumerate(cuts):
        values = np.concatenate([cut, np.nextafter(cut, -np.inf), np.nextafter(cut, np.inf)])
        matrix[: len(values), j] = values
        matrix[-len(probes) :, j] = probes
    for rows in (matrix[:2], matrix[-len(probes) :], matrix):
        ours, _ = compiled(rows)
        theirs, _ = raw_terms(pipeline, family, as_frame(rows, names))
        np.testing.assert_array_equal(ours, theirs)
    if family == "scorecard":  # scikit-learn's validation refuses NaN and inf: so do we
        for value in (np.nan, np.inf):
            with pytest.raises(ValueError, match="NaN or infinity"):
                compiled(np.full((1, len(cuts)), value))
            with pytest.raises(ValueError, match=r"NaN|infinity"):
                raw_terms(pipeline, family, as_frame(np.full((1, len(cuts)), value), names))


def test_ebm_interactions_read_their_coarser_bins(trained: Trained) -> None:
    model = trained.models["ebm"]
    terms = model.compiled.terms_of
    assert isinstance(terms, BinnedTerms)
    assert terms.joint, "the EBM kept no interaction"
    pipeline = _scrambled(model.pipeline, "ebm")
    compiled = compile_terms(pipeline, "ebm", _names(model))
    for matrix in _matrices(trained):
        ours, _ = compiled(matrix)
        theirs, _ = raw_terms(pipeline, "ebm", as_frame(matrix, _names(model)))
        np.testing.assert_array_equal(ours, theirs)


def test_ebm_categorical_features_unknown_and_missing_values(trained: Trained) -> None:
    """interpret reads a nominal feature's value by its text: unseen values score in the
    unknown bin, NaN in the missing one, also inside an interaction."""
    names = [COUNT, "sex=F", "age_years", SEVERITY, f"{SEVERITY}__none", "status__open_case"]
    x_train, _ = design_matrix(trained.train, trained.registry)
    columns = [c.name for c in trained.models["ebm"].columns]
    x = x_train[:, [columns.index(name) for name in names]]
    params = {"outer_bags": 1, "max_rounds": 100, "interactions": [(0, 2), (1, 3)]}
    params["feature_types"] = ["nominal", "nominal", "continuous", "nominal", "nominal", "nominal"]
    fitted = make_pipeline("ebm", names, params)
    fitted.fit(as_frame(x, names), trained.train[trained.models["ebm"].label].to_numpy())
    pipeline = _scrambled(fitted, "ebm")
    compiled = compile_terms(pipeline, "ebm", names)
    assert isinstance(compiled, BinnedTerms)
    assert len(compiled.nominal) == 5
    assert len(compiled.joint) == 2
    odd = np.array([[0.5, 2.0, np.nan, 99.0, np.nan, -0.0], [np.nan, -1.0, 7.0, np.nan, 1.0, 1.0]])
    for rows in (odd, np.vstack([x[:100], odd]), np.vstack([x, odd])):
        ours, intercept = compiled(rows)
        theirs, expected = raw_terms(pipeline, "ebm", as_frame(rows, names))
        np.testing.assert_array_equal(ours, theirs)
        assert intercept == expected


@pytest.mark.parametrize("family", FAMILIES)
def test_explanations_add_up_to_the_calibrated_decision_function(
    family: str, trained: Trained
) -> None:
    model = trained.models[family]
    for matrix in _matrices(trained):
        explanation = model.explain(matrix)
        total = explanation.log_odds.sum(axis=1) + explanation.intercept
        raw = model.pipeline.decision_function(as_frame(matrix, _names(model)))
        expected = model.platt.slope * np.asarray(raw) + model.platt.offset
        atol = 1e-6 if family == "gbm" else 1e-9  # gbm: shap's tree values
        np.testing.assert_allclose(total, expected, rtol=0, atol=atol)
        assert explanation.factors == model.factors()[0]
    none = model.explain(matrix[:0])
    assert none.log_odds.shape == (0, len(explanation.factors))
    assert none.intercept == explanation.intercept


@pytest.mark.parametrize("family", ADDITIVE)
def test_explain_no_longer_asks_the_libraries(
    family: str, trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = copy.copy(trained.models[family])  # a fresh compiled form
    matrix = _matrices(trained)[1]
    expected = model.explain(matrix)

    def refuse(*_: object) -> None:
        raise AssertionError("explain went through raw_terms")

    monkeypatch.setattr(compiled_module, "raw_terms", refuse)
    monkeypatch.setattr(families, "raw_terms", refuse)
    explanation = model.explain(matrix)
    np.testing.assert_array_equal(explanation.log_odds, expected.log_odds)


def _with_every_category(frame: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    rows = [
        frame.head(1).with_columns(pl.lit(category).cast(frame.schema[spec.name]).alias(spec.name))
        for spec in registry.specs
        for category in spec.categories or ()
    ]
    return pl.concat([frame, *rows])


def _values(frame: pl.DataFrame, registry: Registry) -> dict[str, np.ndarray]:
    return {name: frame[name].to_numpy() for name in registry.names}


def test_the_numpy_design_equals_design_matrix(trained: Trained) -> None:
    registry = trained.registry
    table = _with_every_category(trained.test, registry)
    assert table[SEVERITY].null_count() > 0  # "none recorded" rows
    assert table[SEVERITY].drop_nulls().len() > 0
    model = trained.models["scorecard"]
    expected, _ = design_matrix(table, registry)
    np.testing.assert_array_equal(model.matrix_of(_values(table, registry)), expected)
    for i in [0, table[SEVERITY].is_null().arg_max(), table.height - 1]:
        row = table.slice(i, 1)
        np.testing.assert_array_equal(model.matrix_of(_values(row, registry)), expected[i : i + 1])
    texts = _values(table, registry) | {"sex": table["sex"].to_numpy().astype(str)}
    np.testing.assert_array_equal(model.matrix_of(texts), expected)


def _errors(trained: Trained, name: str, value: object, dtype: object) -> tuple[str, str]:
    """The numpy design's error and design_matrix's, with row 2 of ``name`` replaced."""
    table, registry = trained.test.head(5), trained.registry
    values = _values(table, registry)
    changed = values[name].astype(dtype)
    changed[2] = value
    with pytest.raises(DesignError) as ours:
        trained.models["ebm"].matrix_of(values | {name: changed})
    column = pl.Series(name, changed, nan_to_null=True)  # a category stays a String
    frame = table.with_columns(column if dtype is object else column.cast(table.schema[name]))
    with pytest.raises(DesignError) as theirs:
        design_matrix(frame, registry)
    return str(ours.value), str(theirs.value)


def test_the_numpy_design_refuses_what_design_matrix_refuses(trained: Trained) -> None:
    ours, theirs = _errors(trained, COUNT, np.nan, np.float64)
    assert ours == theirs == f"{COUNT}: 1 null value(s)"
    ours, theirs = _errors(trained, "sex", None, object)
    assert ours == theirs == "sex: 1 null value(s)"
    ours, theirs = _errors(trained, "sex", "X", object)
    assert ours == theirs
    assert ours.startswith("sex: value(s) ['X'] not among the registry's categories")
    values = _values(trained.test.head(3), trained.registry)
    model = trained.models["ebm"]
    with pytest.raises(DesignError, match=f"lacks registry feature.*{COUNT}"):
        model.matrix_of({k: v for k, v in values.items() if k != COUNT})
    masked = np.ma.masked_array(values[SEVERITY], mask=[True, False, False])
    with pytest.raises(DesignError, match=f"{SEVERITY}: a masked array"):
        model.matrix_of(values | {SEVERITY: masked})
    with pytest.raises(DesignError, match="do not fit"):
        model.matrix_of(values | {COUNT: values[COUNT][:2]})
    severity = values[SEVERITY].astype(np.float64)
    severity[:] = np.nan  # a max_severity's NaN is "none recorded", never an error
    assert model.matrix_of(values | {SEVERITY: severity}).shape[0] == 3


def test_a_compiled_model_pickles_without_its_compiled_form(trained: Trained) -> None:
    model = copy.copy(trained.models["ebm"])
    matrix = _matrices(trained)[1]
    before = model.explain(matrix)
    assert "compiled" in vars(model)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    assert b"models.compiled" not in buffer.getvalue()  # older code still loads it
    loaded = joblib.load(io.BytesIO(buffer.getvalue()))
    assert "compiled" not in vars(loaded)  # as from a pickle made before this module
    after = loaded.explain(matrix)
    np.testing.assert_array_equal(after.log_odds, before.log_odds)
    assert after.intercept == before.intercept
    assert "compiled" in vars(loaded)
    assert "compiled" not in vars(copy.deepcopy(loaded))


def test_the_scorecard_file_round_trip(trained: Trained, tmp_path: Path) -> None:
    model = trained.models["scorecard"]
    model.compiled  # noqa: B018 - compiled before saving
    joblib.dump(model, tmp_path / "riskmodel.joblib")
    loaded = joblib.load(tmp_path / "riskmodel.joblib")
    matrix = _matrices(trained)[0]
    np.testing.assert_array_equal(loaded.explain(matrix).points, model.explain(matrix).points)
