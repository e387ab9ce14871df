"""Every feature's value said as a fact (serving.facts): the words, the value and the
records agree, in both languages, for every feature the registry can build.

Caseworkers found "At least one record of welfare cases opened ... Value: no" above the
record itself, and "Age in whole years on the as-of date" as the reason for a
one-year-old: these properties would have caught both."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from features import schema as s
from features.config import Policy, load_feature_config
from features.registry import FeatureSpec, build_registry
from features.vocabulary import CATEGORY_LABELS, CATEGORY_NAMES
from serving.facts import fact, retention_note
from serving.i18n import Formats
from tests.serving.conftest import Api
from tests.serving.test_provenance import _scored_child

CAP = 1095
EXTENDED = resources.files("features") / "extended_features.toml"


def _every_spec() -> list[FeatureSpec]:
    """Every feature of the default and the extended configuration (association on)."""
    policy = Policy(association=True)
    found: dict[str, FeatureSpec] = {}
    for path in (None, EXTENDED):
        config = load_feature_config(path)  # type: ignore[arg-type]
        found.update((spec.name, spec) for spec in build_registry(config, policy).specs)
    return list(found.values())


SPECS = _every_spec()


def _values(spec: FeatureSpec) -> list[Any]:
    """Representative values of the feature's kind."""
    if spec.categories:
        return list(spec.categories)
    if spec.kind == "never" or spec.name in _BOOLEAN_STATUSES:
        return [True, False]
    if spec.kind in ("days_since", "status_days"):
        return [0, 12, CAP]
    if spec.kind == "trend":
        return [-2.5, 0.0, 3.0]
    if spec.kind == "max_severity":
        low, high = s.CATALOGUE[spec.sources[0]].severity or (0, 3)
        return [low, high]
    return [0, 1, 37, 1150.5]


_BOOLEAN_STATUSES = {
    spec.name for spec in SPECS if spec.kind == "status" and spec.unit_en == "yes/no"
}


def test_the_registry_gives_every_kind_to_check() -> None:
    kinds = {spec.kind for spec in SPECS}
    assert {"count", "never", "days_since", "static", "status", "household"} <= kinds
    assert len(SPECS) > 100


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_fact_says_its_value(spec: FeatureSpec, language: Any) -> None:
    fmt = Formats(language)
    for value in _values(spec):
        said = fact(spec, value, language, CAP)
        assert said.strip(), (spec.name, value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = fmt.number(abs(value), 0 if float(value).is_integer() else 1)
            at_cap = spec.kind in ("days_since", "status_days") and value >= CAP
            assert shown in said or at_cap or (spec.kind == "trend" and value == 0), said
        if language == "zh-CN":
            assert not re.search(r"[A-Za-z]{2,}", said), f"English in a Chinese fact: {said}"
            assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff\d]", said), said
            assert ": " not in said, f"ASCII punctuation: {said}"
            assert "(" not in said, f"ASCII punctuation: {said}"


@pytest.mark.parametrize("spec", [x for x in SPECS if x.kind == "never"], ids=lambda x: x.name)
def test_a_never_fact_agrees_with_its_value(spec: FeatureSpec) -> None:
    # value False: the child HAS such a record, and the words must say so
    for language, some, none in (("en", "at least one", "no "), ("zh-CN", "曾有", "从未")):
        with_records = fact(spec, False, language, CAP).lower()
        without = fact(spec, True, language, CAP).lower()
        assert some in with_records, with_records
        assert not with_records.startswith(none), with_records
        assert without.startswith(none), without
        assert some not in without, without


def test_age_is_said_as_an_age() -> None:
    (age,) = [spec for spec in SPECS if spec.name == "age_years"]
    assert fact(age, 1, "en", CAP) == "Aged 1"
    assert fact(age, 1, "zh-CN", CAP) == "1岁"


def test_units_and_scales_are_said() -> None:
    by_name = {spec.name: spec for spec in SPECS}
    aid = next(x for x in SPECS if x.kind == "sum_amount" and "temporary" in x.name)
    assert fact(aid, 1150, "en", CAP).endswith("1,150 yuan")
    assert fact(aid, 1150, "zh-CN", CAP).endswith("共1,150元")
    severity = next(x for x in SPECS if x.kind == "max_severity" and "finding" in x.name)
    assert "on a scale of 0 to 3" in fact(severity, 0, "en", CAP)
    assert fact(by_name["status__guardian"], "grandparent", "zh-CN", CAP) == "现监护人：祖父母"


@pytest.mark.parametrize("spec", [x for x in SPECS if x.categories], ids=lambda x: x.name)
def test_every_category_has_words_in_both_languages(spec: FeatureSpec) -> None:
    assert spec.name in CATEGORY_NAMES
    assert set(spec.categories or ()) <= set(CATEGORY_LABELS[spec.name])


def test_the_retention_note_is_where_the_policy_applies() -> None:
    policy = Policy()
    reports = next(x for x in SPECS if x.kind == "count" and x.sources == ("report.concern",))
    visits = next(x for x in SPECS if x.kind == "count" and x.sources == ("community.home_visit",))
    note = retention_note(reports, policy, "en")
    assert note is not None
    assert str(policy.unsubstantiated_retention_years) in note
    assert retention_note(visits, policy, "en") is None


def test_each_served_factor_says_what_its_records_show(api: Api) -> None:
    child = _scored_child(api)
    for language in ("en", "zh-CN"):
        answer = api.client.get(
            f"/v1/children/{child}/risk?top=500&lang={language}", headers=api.headers("cw")
        )
        assert answer.status_code == 200, answer.text
        for factor in answer.json()["factors"]:
            assert factor["fact"], factor
            if factor["factor"].endswith("__never"):
                some = "At least one" if language == "en" else "曾有"
                assert (some in factor["fact"]) == bool(factor["event_ids"]), factor
            if factor["factor"] == "age_years":
                assert str(factor["value"]) in factor["fact"]
