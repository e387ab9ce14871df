"""A rule's condition compiled to Python says what its polars expression says, row by row:
for each kind of term over every awkward value (null, NaN, infinities, unicode), and for
every rule of the contract over random rows typed both ways (``load.coerce_table`` and
``small``, whose helper columns must agree too)."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import schema as s
from features.contract import load, small
from features.contract.compiled import Check, Columns, NotCompilableError, compile_check
from features.contract.files import RawTable
from features.contract.rules import CHILD_IDS, Limits, Rule, children_rules, events_rules
from features.contract.terms import Term, col, lit, lookup, opaque, param, to_expr
from features.deployment import Deployment

NAN, INF = float("nan"), float("inf")


def _agree(term: Term, data: dict[str, pl.Series], columns: Columns | None = None) -> None:
    """``term`` compiled gives, on each row alone, what polars gives on the whole frame."""
    frame = pl.DataFrame(list(data.values()))
    expected = frame.select(to_expr(term).fill_null(False)).to_series().to_list()
    check = compile_check([term], columns or Columns(floats=frozenset({"f", "g"})))
    params = {"ids": frozenset({"a", "😀"})}
    for row, want in enumerate(expected):
        values = {name: [series[row]] for name, series in data.items()}
        assert check.broken(values, params) is want, (row, values, check.source)


def _grid(**columns: tuple[pl.DataType, list[Any]]) -> dict[str, pl.Series]:
    """Every combination of the columns' values, one row each."""
    rows = list(itertools.product(*(values for _, values in columns.values())))
    return {
        name: pl.Series(name, [row[i] for row in rows], dtype)
        for i, (name, (dtype, _)) in enumerate(columns.items())
    }


BOOLS = (pl.Boolean(), [True, False, None])
FLOATS = (pl.Float64(), [None, NAN, INF, -INF, 0.0, -0.0, -1.5, 2.0])
INTS = (pl.Int64(), [None, -1, 0, 1, 2])
TEXTS = (pl.String(), [None, "", "a", "é", "😀", "\x00", "儿童", "x" * 300])
a, b, f, g, i, j, t = (col(name) for name in ("a", "b", "f", "g", "i", "j", "t"))

LOGIC = [a & b, a | b, ~a, ~(a & b), ~(a | b), (a & b).is_null(), (a | b).is_null()]
LOGIC += [~a.is_null() & b, a.is_null() | b, (a & ~b) | (~a & b), a.fill_null(True)]
NUMBERS = [f < g, f > g, f == g, ~(f < g), (f < g).is_null(), (f == g).is_null()]
NUMBERS += [f < 0, ~f.is_finite(), f.is_finite().is_null(), (f * 2.0 + g) > 1]
INTEGERS = [i < j, i > j, i == j, (i * 256 + j).is_in((1, 258, 0)), (i + j).is_null()]
INTEGERS += [lookup([5, None, 7, 1, 2], i + 1) > 4, lookup([True, False, None], j).is_null()]
INTEGERS += [(i.as_int64() * 3).is_in((3, -3)).fill_null(False), ~lookup([1, 2, 3], j).is_null()]
TEXT = [t.len_bytes() == 0, t.len_chars() > 1, t.len_bytes() > 2, t.is_in(("a", "")).is_null()]
TEXT += [~t.is_in(("a", "", "儿童")), t.is_in(param("ids", pl.Series(["a", "😀"]))), t == "é"]


@pytest.mark.parametrize("term", LOGIC, ids=str)
def test_three_valued_logic(term: Term) -> None:
    _agree(term, _grid(a=BOOLS, b=BOOLS))


@pytest.mark.parametrize("term", NUMBERS, ids=str)
def test_floats_order_nan_last_and_propagate_null(term: Term) -> None:
    _agree(term, _grid(f=FLOATS, g=FLOATS))


@pytest.mark.parametrize("term", INTEGERS, ids=str)
def test_integers_lookups_and_membership(term: Term) -> None:
    _agree(term, _grid(i=(pl.Int64(), [None, -1, 0, 1, 2, 3]), j=(pl.Int64(), [None, 0, 1, 2])))


@pytest.mark.parametrize("term", TEXT, ids=str)
def test_text_lengths_and_membership(term: Term) -> None:
    _agree(term, _grid(t=TEXTS))


def test_a_column_declared_never_null_is_read_as_plain_booleans() -> None:
    data = _grid(m=(pl.Boolean(), [True, False]), a=BOOLS)
    columns = Columns(non_null=frozenset({"m"}))
    for term in (col("m") & a, a & col("m"), col("m") | a, ~col("m"), col("m") & ~a.is_null()):
        _agree(term, data, columns)


def test_an_opaque_polars_expression_is_not_compiled() -> None:
    with pytest.raises(NotCompilableError):
        compile_check([opaque(pl.col("a")) & a], Columns())


def test_no_value_of_the_data_or_the_deployment_enters_the_source() -> None:
    """Constants and params are read by position: a district named like code is inert."""
    evil = "x') or True or ('"
    check = compile_check([~col("d").is_in((evil,)), col("d") == lit(evil + "!")], Columns())
    assert evil not in check.source
    assert check.broken({"d": [evil]}, {}) is False
    assert check.broken({"d": [evil + "!"]}, {}) is True


# ---- the contract's rules ------------------------------------------------------------------
LIMITS = Limits(exported_at=datetime(2024, 6, 30, 12), now=datetime(2024, 12, 31))


def _checks(rules: list[Rule], table: str) -> list[Check]:
    conditions = [rule.broken for rule in rules]
    assert all(isinstance(condition, Term) for condition in conditions)
    return [compile_check([c], small._columns(table)) for c in conditions if isinstance(c, Term)]


@cache
def _events_checks() -> list[Check]:
    return _checks(events_rules(LIMITS, pl.Series([], dtype=pl.String)), s.EVENTS)


@cache
def _children_checks() -> list[Check]:
    return _checks(children_rules(LIMITS, Deployment().districts), s.CHILDREN)


def test_every_contract_rule_compiles_and_the_code_serves_any_limits() -> None:
    """Limits and child ids enter as params: the same code and constants for any of them
    (what lets ``small`` compile once per process)."""
    other = Limits(exported_at=datetime(2031, 2, 28), now=datetime(2032, 2, 29))
    for table, rules in (
        (s.CHILDREN, lambda limits, _: children_rules(limits, Deployment().districts)),
        (s.EVENTS, lambda limits, ids: events_rules(limits, pl.Series(ids, dtype=pl.String))),
    ):
        first = _checks(rules(LIMITS, []), table)
        second = _checks(rules(other, ["C1", "C2"]), table)
        assert [(c.source, c.constants) for c in first] == [(c.source, c.constants) for c in second]
    assert small._compiled(tuple(Deployment().districts)) is not None


def _same(left: list[Any], right: list[Any]) -> bool:
    """Equal lists, NaN equal to NaN."""

    def key(value: Any) -> Any:
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    return [key(v) for v in left] == [key(v) for v in right]


def _rows_agree(frame: pl.DataFrame, table: str, rules: list[Rule], checks: list[Check]) -> None:
    """Helper columns alike both ways, then every rule alike on every row."""
    deployment = Deployment()
    typed = load.coerce_table(RawTable(table, Path(table), frame, ()), deployment)
    read = small._read(frame, table, deployment.timezone)
    for column in typed.frame.columns:
        assert _same(read.values[column], typed.frame[column].to_list()), column
    masks = typed.frame.select(rule.expr.fill_null(False).alias(rule.rule) for rule in rules)
    params = {**LIMITS.values(), CHILD_IDS: frozenset(["C001", "儿童-003", ""])}
    for rule, check, mask in zip(rules, checks, masks.iter_columns(), strict=True):
        for row, want in enumerate(mask):
            values = {name: [column[row]] for name, column in read.values.items()}
            assert check.broken(values, params) is want, (rule.rule, frame.row(row))


def _moments() -> st.SearchStrategy[str]:
    start = datetime(2024, 6, 1)
    instants = st.integers(0, 400 * 24).map(lambda h: start + timedelta(hours=h))
    return st.one_of(
        instants.map(lambda at: at.isoformat(sep=" ")),
        instants.map(lambda at: at.strftime("%Y-%m-%dT%H:%M:%S+00:00")),
        instants.map(lambda at: at.date().isoformat()),
        st.sampled_from(["2024-06-30 12:00:00", "2024-06-30T12:00:00.000001", "2024-02-30"]),
    )


def _texts(*known: str) -> st.SearchStrategy[str | None]:
    """Mostly ``known`` values, else null, blank, NUL or any short text."""
    awkward = st.one_of(st.none(), st.sampled_from(["", " ", "\x00"]), st.text(max_size=3))
    return st.one_of(st.sampled_from(known), st.sampled_from(known), awkward)


EVENT_FIELDS = {
    s.EVENT_ID: _texts("E1", "E2", "e"),
    s.CHILD_ID: _texts("C001", "儿童-003", "C999"),
    s.EVENT_TYPE: _texts(*s.EVENT_TYPES[::3], "health.injury", "welfare.finding", "police.found."),
    s.OCCURRED_AT: st.one_of(_moments(), _texts("yesterday")),
    s.RECORDED_AT: st.one_of(_moments(), _texts("2024-13-01")),
    s.SEVERITY: _texts("-1", "0", "1", "3", "4", "5", "2.0", "９", "99999999999"),
    s.AMOUNT: _texts("0", "-0", "-1", "1.5", "NaN", "inf", "-inf", "1e400", "1,5"),
    s.DETAIL: _texts(*s.DETAIL_CODES[::3], "school", "suspicious", "School"),
}
CHILD_FIELDS = {
    s.CHILD_ID: _texts("C001", "C002", "x" * 65, "儿童-003"),
    s.BIRTH_DATE: _texts("1999-06-29", "1999-06-30", "2000-02-29", "2024-06-30", "2024-07-01"),
    s.SEX: _texts(*s.SEX_VALUES, "f"),
    s.DISTRICT: _texts("Haidian", "Pudong", "haidian"),
    s.HUKOU: _texts(*s.HUKOU_VALUES),
    s.ETHNICITY: _texts(*s.ETHNICITY_VALUES),
    s.HOUSEHOLD_ID: _texts("H1"),
}


def _table(fields: dict[str, st.SearchStrategy[str | None]]) -> st.SearchStrategy[pl.DataFrame]:
    rows = st.lists(st.fixed_dictionaries(fields), min_size=1, max_size=6)
    return rows.map(lambda rows: pl.DataFrame(rows, schema=dict.fromkeys(fields, pl.String)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_table(EVENT_FIELDS))
def test_every_event_rule_agrees_row_by_row(frame: pl.DataFrame) -> None:
    rules = events_rules(LIMITS, pl.Series(["C001", "儿童-003", ""]))
    _rows_agree(frame, s.EVENTS, rules, _events_checks())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_table(CHILD_FIELDS))
def test_every_child_rule_agrees_row_by_row(frame: pl.DataFrame) -> None:
    rules = children_rules(LIMITS, Deployment().districts)
    _rows_agree(frame, s.CHILDREN, rules, _children_checks())


def test_the_limits_hold_their_values_for_polars() -> None:
    assert LIMITS.values()["earliest_birth_date"] == date(1999, 6, 30)
