"""The pairwise model: Splink's Fellegi-Sunter comparisons, blocking and training.

Splink scores pairs; what is specific to Chinese identity data is in the columns it is
given (features/linkage/records.py) and in the comparisons below. Every SQL condition
is plain enough (=, OR, abs, levenshtein, substr) to run unchanged on DuckDB and Spark.

Comparisons, each with levels from strongest to weakest (docs/linkage.md):

- name: exact (with term-frequency adjustment: 王伟 agrees less than 欧阳子涵), same
  pinyin (homophones), a nickname on the last character, pinyin within two edits;
- birth date: exact, day and month swapped, within a few days, same year and month, same
  year (partial dates reach only the levels their precision allows);
- sex, district, address (exact or within two edits), the ID number (exact, or one
  digit apart: a mistyped digit);
- the family, as ONE comparison (guardian ID number, else phone, else guardian name):
  siblings share all three, so counting them as three independent agreements would
  outvote a differing name; one comparison counts the family once.

Blocking: pairs sharing an ID number; the name's pinyin and birth year; the full birth
date and district; the last nine ID characters (a mistyped digit early in the number);
the guardian's phone or ID number with the birth year (names too noisy for the others);
the name's pinyin and district (birth dates missing or partial); the guardian's phone or
ID number alone where one record has no birth year and no name or a nickname only.

Training: the prior from the pairs the same ID number links (with the recall the policy
believes it has), u from random pairs, m by expectation maximisation in three sessions
blocked on the ID number, on name and birth year, and on birth date and district, so
that every comparison is estimated in a session that does not block on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import polars as pl
from splink import Linker, SettingsCreator, block_on

from features.linkage import records as r
from features.linkage.policy import LinkagePolicy

MATCH_WEIGHT = "match_weight"


def _null(*columns: str) -> dict[str, Any]:
    either = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in columns)
    return {"sql_condition": either, "label_for_charts": "missing", "is_null_level": True}


def _level(condition: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": condition, "label_for_charts": label, **extra}


_ELSE = _level("ELSE", "different")


def _comparisons() -> list[dict[str, Any]]:
    n, p = r.NAME, r.NAME_PINYIN
    y, m, d, dn = r.BIRTH_YEAR, r.BIRTH_MONTH, r.BIRTH_DAY, r.BIRTH_DAYNO
    return [
        _comparison("name", [
            _null(n),
            _level(f"{n}_l = {n}_r", "same name", tf_adjustment_column=n,
                   tf_adjustment_weight=1.0),
            _level(f"{p}_l = {p}_r", "same pinyin"),
            _level(f"({r.NICKNAME}_l OR {r.NICKNAME}_r) AND "
                   f"{r.LAST_PINYIN}_l = {r.LAST_PINYIN}_r", "nickname"),
            _level(f"levenshtein({p}_l, {p}_r) <= 2", "pinyin within 2 edits"),
            _ELSE,
        ]),
        _comparison("birth_date", [
            _null(y),
            _level(f"{dn}_l = {dn}_r", "same date"),
            _level(f"{y}_l = {y}_r AND {m}_l = {d}_r AND {d}_l = {m}_r", "day and month swapped"),
            _level(f"abs({dn}_l - {dn}_r) <= 3", "within 3 days"),
            _level(f"{y}_l = {y}_r AND {m}_l = {m}_r", "same year and month"),
            _level(f"{y}_l = {y}_r", "same year"),
            _ELSE,
        ]),
        _exact("sex", r.SEX),
        _exact("district", r.DISTRICT),
        _comparison("address", [
            _null(r.ADDRESS),
            _level(f"{r.ADDRESS}_l = {r.ADDRESS}_r", "same address"),
            _level(f"levenshtein({r.ADDRESS}_l, {r.ADDRESS}_r) <= 2", "address within 2 edits"),
            _ELSE,
        ]),
        _comparison("id_number", [
            _null(r.ID),
            _level(f"{r.ID}_l = {r.ID}_r", "same ID number"),
            _level(f"levenshtein({r.ID}_l, {r.ID}_r) <= 1", "one character apart"),
            _ELSE,
        ]),
        _comparison("family", [
            _null_all(r.GUARDIAN_ID, r.PHONE, r.GUARDIAN_PINYIN),
            _level(f"{r.GUARDIAN_ID}_l = {r.GUARDIAN_ID}_r", "same guardian ID number"),
            _level(f"{r.PHONE}_l = {r.PHONE}_r", "same guardian phone"),
            _level(f"{r.GUARDIAN_PINYIN}_l = {r.GUARDIAN_PINYIN}_r", "same guardian name"),
            _ELSE,
        ]),
    ]  # fmt: skip


def _null_all(*columns: str) -> dict[str, Any]:
    """Missing when no column is present on both sides."""
    present = " OR ".join(f"({c}_l IS NOT NULL AND {c}_r IS NOT NULL)" for c in columns)
    return {"sql_condition": f"NOT ({present})", "label_for_charts": "missing",
            "is_null_level": True}  # fmt: skip


def _exact(name: str, column: str) -> dict[str, Any]:
    return _comparison(name, [_null(column), _level(f"{column}_l = {column}_r", "same"), _ELSE])


def _comparison(name: str, levels: list[dict[str, Any]]) -> dict[str, Any]:
    return {"output_column_name": name, "comparison_levels": levels}


COMPARISONS = ("name", "birth_date", "sex", "district", "address", "id_number", "family")


def blocking_rules() -> list[Any]:
    """The rules that generate candidate pairs (each pair once, whichever rule finds it)."""
    return [
        block_on(r.ID),
        block_on(r.NAME_PINYIN, r.BIRTH_YEAR),
        block_on(r.BIRTH_DAYNO, r.DISTRICT),
        block_on(f"substr({r.ID}, 10, 9)"),
        block_on(r.PHONE, r.BIRTH_YEAR),
        block_on(r.GUARDIAN_ID, r.BIRTH_YEAR),
        block_on(r.NAME_PINYIN, r.DISTRICT),
        # a record with no name or only a nickname, and no birth year, meets its family
        *[
            f"l.{key} = r.{key} AND (l.{r.NAME} IS NULL OR r.{r.NAME} IS NULL "
            f"OR l.{r.NICKNAME} OR r.{r.NICKNAME}) "
            f"AND (l.{r.BIRTH_YEAR} IS NULL OR r.{r.BIRTH_YEAR} IS NULL)"
            for key in (r.PHONE, r.GUARDIAN_ID)
        ],
    ]


def settings(
    policy: LinkagePolicy, trained: dict[str, Any] | None = None
) -> SettingsCreator | dict[str, Any]:
    """The model's settings: new, or a trained model's saved JSON (``trained``)."""
    if trained is not None:
        return trained
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=r.UID,
        comparisons=_comparisons(),  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=True,  # brings the gamma_ levels the rules read
        retain_intermediate_calculation_columns=False,
        max_iterations=policy.em_max_iterations,
    )


def train(linker: Linker, policy: LinkagePolicy) -> None:
    """Estimate the prior, u and m (see the module's docstring)."""
    linker.training.estimate_probability_two_random_records_match(
        [block_on(r.ID)], recall=policy.id_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=policy.u_max_pairs, seed=policy.seed)
    for rule in (
        block_on(r.ID),
        block_on(r.NAME_PINYIN, r.BIRTH_YEAR),
        block_on(r.BIRTH_DAYNO, r.DISTRICT),
    ):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )


def predict(
    records: pl.DataFrame,
    policy: LinkagePolicy,
    register: Callable[[pl.DataFrame], Any],
    trained: dict[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Score the candidate pairs of ``records`` at or above the review threshold.

    Parameters
    ----------
    records
        The records table (``uid`` and the compared columns).
    policy
        Thresholds and training settings.
    register
        The engine's way to hand a polars frame to Splink (a SplinkDataFrame).
    trained
        A trained model (Splink's JSON) to use instead of training on these records.

    Returns
    -------
    (pl.DataFrame, dict)
        The pairs (``uid_l``, ``uid_r``, ``match_probability``, ``match_weight`` and a
        ``gamma_<comparison>`` level per comparison), and the model as Splink's JSON.
    """
    table = register(records.select(r.UID, *r.COMPARED))
    linker = Linker(table, settings(policy, trained), log_level=logging.WARNING)
    if trained is None:
        train(linker, policy)
    scored = linker.inference.predict(
        threshold_match_probability=policy.review_threshold, warning_mode="never"
    )
    gammas = [f"gamma_{name}" for name in COMPARISONS]
    # only what the rules and the review read leaves the engine (not the compared values)
    wanted = ", ".join([f"{r.UID}_l", f"{r.UID}_r", "match_probability", MATCH_WEIGHT, *gammas])
    narrow = linker.misc.query_sql(f"SELECT {wanted} FROM {scored.physical_name}")  # type: ignore[no-untyped-call]
    frame = pl.from_arrow(narrow.as_pyarrow_table())
    scored.drop_table_from_database_and_remove_from_cache()
    assert isinstance(frame, pl.DataFrame)
    pairs = frame.select(
        pl.col(f"{r.UID}_l").cast(pl.Int64).alias("uid_l"),
        pl.col(f"{r.UID}_r").cast(pl.Int64).alias("uid_r"),
        pl.col("match_probability").cast(pl.Float64),
        pl.col(MATCH_WEIGHT).cast(pl.Float64),
        *[pl.col(c).cast(pl.Int8) for c in gammas],
    )
    model = linker.misc.save_model_to_json(out_path=None)
    return pairs, model
