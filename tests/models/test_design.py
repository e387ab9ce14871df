"""The design matrix: columns fixed by the registry, values encoded, bad input refused."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from features.build import build_features, month_grid
from features.config import Policy, load_feature_config, load_policy
from features.contract import load_case_histories
from features.registry import build_registry
from models.design import DesignError, design_columns, design_matrix
from tests.features.contract_cases import NOW, write_folder


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    folder = write_folder(tmp_path_factory.mktemp("data"))
    histories = load_case_histories(folder, now=NOW)
    grid = month_grid(date(2024, 1, 1), date(2024, 12, 1))
    return build_features(histories, load_feature_config(), load_policy(), grid).frame.collect()


def test_columns_depend_on_the_registry_only(table: pl.DataFrame) -> None:
    reg = build_registry(load_feature_config(), load_policy())
    matrix, columns = design_matrix(table, reg)
    _, again = design_matrix(table.head(1), reg)
    assert columns == again == design_columns(reg)
    assert matrix.shape == (table.height, len(columns))
    assert {column.feature for column in columns} == set(reg.names)
    names = [column.name for column in columns]
    assert len(set(names)) == len(names)
    assert {"sex=F", "sex=M", "sex=U", "status__guardian=parent"} <= set(names)
    assert "report_concern__max_severity_90d__none" in names


def test_values_are_encoded(table: pl.DataFrame) -> None:
    reg = build_registry(load_feature_config(), load_policy())
    matrix, columns = design_matrix(table, reg)
    index = {column.name: i for i, column in enumerate(columns)}
    rows = table.with_row_index("row")
    first_injury = rows.filter(pl.col("health_injury__max_severity_all").is_not_null()).row(
        0, named=True
    )
    i = first_injury["row"]
    assert matrix[i, index["health_injury__max_severity_all"]] == 3
    assert matrix[i, index["health_injury__max_severity_all__none"]] == 0
    no_injury = rows.filter(pl.col("health_injury__max_severity_all").is_null()).row(0, named=True)
    assert matrix[no_injury["row"], index["health_injury__max_severity_all"]] == 0
    assert matrix[no_injury["row"], index["health_injury__max_severity_all__none"]] == 1
    sexes = matrix[:, [index["sex=F"], index["sex=M"], index["sex=U"]]]
    np.testing.assert_array_equal(sexes.sum(axis=1), np.ones(table.height))
    assert matrix[:, index["status__open_case"]].max() == 1
    np.testing.assert_array_equal(
        matrix[:, index["report_concern__count_all"]],
        table["report_concern__count_all"].to_numpy().astype(float),
    )


def test_excluded_families_leave_no_column(table: pl.DataFrame) -> None:
    reg = build_registry(load_feature_config(), Policy(exclude=("sex", "hukou")))
    _, columns = design_matrix(table, reg)
    assert not [c for c in columns if c.feature in ("sex", "hukou")]


def test_unknown_category_and_nulls_are_refused(table: pl.DataFrame) -> None:
    reg = build_registry(load_feature_config(), load_policy())
    odd = table.with_columns(pl.lit("X").alias("sex"))
    with pytest.raises(DesignError, match=r"sex: value\(s\) \['X'\] not among"):
        design_matrix(odd, reg)
    holes = table.with_columns(pl.lit(None, pl.UInt16).alias("report_concern__count_all"))
    with pytest.raises(DesignError, match=r"report_concern__count_all: \d+ null"):
        design_matrix(holes, reg)
    with pytest.raises(DesignError, match="lacks registry feature"):
        design_matrix(table.drop("age_years"), reg)


def test_float32_on_request(table: pl.DataFrame) -> None:
    reg = build_registry(load_feature_config(), load_policy())
    matrix, _ = design_matrix(table, reg, dtype=np.float32)
    assert matrix.dtype == np.float32
