"""The division's statistics: counts equal counts made independently from the events,
and suppression leaves no small count and no way to compute one."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features import schema as s
from features.contract import CaseHistories, load_case_histories
from features.statistics.counts import (
    CITY,
    COLUMNS,
    COUNT,
    Counts,
    _with_margins,
    count_all,
    months_of,
)
from features.statistics.definitions import (
    Definitions,
    StatisticsConfigError,
    load_definitions,
)
from features.statistics.suppression import SUPPRESSED, suppress
from features.synth.config import SynthConfig
from features.synth.generator import generate


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> CaseHistories:
    folder = tmp_path_factory.mktemp("stats") / "data"
    generate(SynthConfig(children=1500, seed=21, workers=1), folder)
    return load_case_histories(folder)


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return load_definitions()


# ---- an independent count: plain Python over each child's events ----------------------
def _status(events: list[dict[str, Any]], day: datetime, birth: date) -> dict[str, bool]:
    """Each population on ``day`` from the events recorded by then, as docs/features.md
    and docs/statistics.md define them (written apart from the pipeline)."""
    known = [e for e in events if e[s.RECORDED_AT] <= day]

    def latest(codes: dict[tuple[str, str | None], int]) -> int | None:
        found = [
            (e[s.OCCURRED_AT], codes[key])
            for e in known
            for key in ((e[s.EVENT_TYPE], e[s.DETAIL]), (e[s.EVENT_TYPE], None))
            if key in codes
        ]
        return max(found)[1] if found else None

    def within(kind: str, days: int) -> bool:
        start = day - timedelta(days=days)
        return any(e[s.EVENT_TYPE] == kind and start < e[s.OCCURRED_AT] <= day for e in known)

    deceased = sum(
        e[s.EVENT_TYPE] == "community.parent_status" and e[s.DETAIL] == "deceased" for e in known
    )
    guardians = {("welfare.guardianship_change", g): i for i, g in enumerate(s.GUARDIANS)}
    return {
        "orphans_abandoned": deceased >= 2 or latest(guardians) == s.GUARDIANS.index("state"),
        "disabled": any(e[s.EVENT_TYPE] == "health.disability_certified" for e in known),
        "dibao": latest({("social_aid.dibao_start", None): 1, ("social_aid.dibao_end", None): 0})
        == 1,
        "left_behind": latest(
            {
                ("community.left_behind_registered", None): 1,
                ("community.left_behind_ended", None): 0,
            }
        )
        == 1,
        "unattended": any(e[s.EVENT_TYPE] == "community.unattended_registered" for e in known),
        "street": within("police.street_child_found", 365),
        "rescued": within("police.rescue", 365),
    }


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _independent(histories: CaseHistories, months: tuple[date, ...]) -> dict[tuple, float]:
    children = histories.children.collect()
    events = histories.events.with_columns(
        pl.col(s.EVENT_TYPE).cast(pl.String), pl.col(s.DETAIL).cast(pl.String)
    ).collect()
    by_child: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events.iter_rows(named=True):
        by_child[event[s.CHILD_ID]].append(event)
    days = [*months, _next(months[-1])]
    counts: dict[tuple, float] = defaultdict(float)
    for child in children.iter_rows(named=True):
        birth, mine = child[s.BIRTH_DATE], by_child[child[s.CHILD_ID]]
        states = []
        for day in days:
            counted = birth <= day and 0 <= _age(birth, day) <= 17
            at = datetime(day.year, day.month, day.day)
            states.append(_status(mine, at, birth) if counted else defaultdict(bool))
        for i, month in enumerate(months):
            before, after = states[i], states[i + 1]
            for key in after.keys() | before.keys():
                place = (month, key, child[s.DISTRICT])
                counts[(*place, "total")] += after[key]
                counts[(*place, "new")] += after[key] and not before[key]
                counts[(*place, "ended")] += before[key] and not after[key]
        for event in mine:
            day = event[s.OCCURRED_AT].date()
            month = day.replace(day=1)
            area = _support_area(event)
            if area is None or month not in months or not 0 <= _age(birth, day) <= 17:
                continue
            counts[(month, area, child[s.DISTRICT], "records")] += 1
            counts[(month, area, child[s.DISTRICT], "yuan")] += event[s.AMOUNT] or 0.0
            counts[(month, area, child[s.DISTRICT], "child", child[s.CHILD_ID])] = 1
    for key in [k for k in counts if len(k) == 5]:
        counts[(*key[:3], "children")] += 1
        del counts[key]
    return counts


SUPPORT = {
    ("social_aid.dibao_start", None): "basic_living",
    ("social_aid.temporary_assistance", None): "basic_living",
    ("philanthropy.aid", "basic_living"): "basic_living",
    ("philanthropy.aid", "medical"): "medical",
    ("philanthropy.aid", "education"): "education",
    ("social_aid.employment_support", "vocational_training"): "education",
    ("welfare.foster_placement", None): "accommodation_employment",
    ("welfare.institution_placement", None): "accommodation_employment",
    ("social_aid.employment_support", "job_referral"): "accommodation_employment",
    ("social_aid.employment_support", "wage_subsidy"): "accommodation_employment",
    ("philanthropy.aid", "employment"): "accommodation_employment",
    ("social_aid.housing_support", None): "housing",
    ("philanthropy.aid", "housing"): "housing",
}


def _support_area(event: dict[str, Any]) -> str | None:
    kind = event[s.EVENT_TYPE]
    return SUPPORT.get((kind, event[s.DETAIL])) or SUPPORT.get((kind, None))


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def test_counts_equal_counts_made_independently_from_the_events(
    histories: CaseHistories, definitions: Definitions
) -> None:
    counts = count_all(histories, definitions)
    expected = _independent(histories, counts.months)
    for frame in (counts.populations, counts.support):
        districts = frame.filter(pl.col("level") == "district")
        got = {
            (r["month"], r["group"], r["place"], r["measure"]): r[COUNT]
            for r in districts.iter_rows(named=True)
        }
        for key, value in got.items():
            assert value == pytest.approx(expected.get(key, 0.0)), key
    populated = counts.populations.filter((pl.col("level") == "city") & (pl.col(COUNT) > 0))
    assert set(populated["group"]) == {p.key for p in definitions.populations}
    supported = counts.support.filter((pl.col("level") == "city") & (pl.col(COUNT) > 0))
    assert set(supported["group"]) == {a.key for a in definitions.support}


def test_margins_are_the_sums_of_their_districts(
    histories: CaseHistories, definitions: Definitions
) -> None:
    frame = count_all(histories, definitions).populations
    keys = ["month", "group", "measure"]
    districts = frame.filter(pl.col("level") == "district")
    by_area = districts.group_by(*keys, "area").agg(pl.col(COUNT).sum().alias("sum"))
    areas = frame.filter(pl.col("level") == "area").join(by_area, on=[*keys, "area"])
    assert (areas[COUNT] == areas["sum"]).all()
    city = frame.filter(pl.col("level") == "city").join(
        districts.group_by(keys).agg(pl.col(COUNT).sum().alias("sum")), on=keys
    )
    assert (city[COUNT] == city["sum"]).all()
    assert city.height > 0


def test_the_months_are_whole_months_before_the_export() -> None:
    assert months_of(date(2025, 12, 31), 3) == (
        date(2025, 9, 1),
        date(2025, 10, 1),
        date(2025, 11, 1),
    )
    assert months_of(date(2026, 1, 1), 2) == (date(2025, 11, 1), date(2025, 12, 1))


# ---- suppression --------------------------------------------------------------------
def _cannot_be_derived(frame: pl.DataFrame, below: int, flows: bool) -> None:
    people = frame.filter(~pl.col("measure").is_in(["records", "yuan"]))
    shown = people.filter(~pl.col(SUPPRESSED))
    assert (shown[COUNT] >= below).all(), "a small count is shown"
    hidden = {
        (r["month"], r["group"], r["measure"], r["place"])
        for r in people.filter(pl.col(SUPPRESSED)).iter_rows(named=True)
    }
    parts: dict[tuple, list[tuple]] = defaultdict(list)
    for r in people.iter_rows(named=True):
        key = (r["month"], r["group"], r["measure"], r["place"])
        if r["level"] == "district":
            parts[(r["month"], r["group"], r["measure"], r["area"])].append(key)
        elif r["level"] == "area":
            parts[(r["month"], r["group"], r["measure"], CITY)].append(key)
    for total, members in parts.items():
        unknown = sum(k in hidden for k in (total, *members))
        assert unknown != 1, f"{total} and its parts leave one unknown"
    if not flows:
        return
    months = sorted(set(people["month"]))
    for r in people.filter(pl.col("measure") == "total").iter_rows(named=True):
        m, g, p = r["month"], r["group"], r["place"]
        linked = [(m, g, "total", p), (m, g, "new", p), (m, g, "ended", p)]
        i = months.index(m)
        if i > 0:
            linked.append((months[i - 1], g, "total", p))
        assert sum(k in hidden for k in linked) != 1, f"{linked} leave one unknown"
    support = frame.filter(pl.col("measure").is_in(["records", "yuan"]))
    assert support.height == 0 or support.filter(pl.col(SUPPRESSED))[COUNT].is_null().all()


def test_suppression_leaves_no_small_count_and_no_way_to_compute_one(
    histories: CaseHistories, definitions: Definitions
) -> None:
    figures = suppress(count_all(histories, definitions), 10)
    assert figures.populations[SUPPRESSED].any()
    assert not figures.populations[SUPPRESSED].all()
    assert figures.populations.filter(pl.col(SUPPRESSED))[COUNT].is_null().all()
    _cannot_be_derived(figures.populations, 10, flows=True)
    _cannot_be_derived(figures.support, 10, flows=False)
    children = figures.support.filter(pl.col("measure") == "children")
    for measure in ("records", "yuan"):
        other = figures.support.filter(pl.col("measure") == measure)
        joined = children.join(other, on=["month", "group", "place"], suffix="_other")
        assert (joined[SUPPRESSED] == joined[f"{SUPPRESSED}_other"]).all()


PLACES = pl.DataFrame({"place": ["A1", "A2", "A3", "B1", "B2"], "area": ["a", "a", "a", "b", "b"]})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=30, max_size=30),
    st.lists(st.integers(0, 15), min_size=30, max_size=30),
)
def test_suppression_holds_on_any_counts(totals: list[int], flows: list[int]) -> None:
    months = (date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1))
    rows = []
    for i, month in enumerate(months):
        for j, place in enumerate(PLACES["place"]):
            n = i * 5 + j
            for measure, value in (
                ("total", totals[n]), ("new", flows[n]), ("ended", flows[(n + 7) % 30])
            ):  # fmt: skip
                rows.append({"month": month, "place": place, "group": "g", "measure": measure,
                             COUNT: float(value)})  # fmt: skip
    frame = _with_margins(pl.DataFrame(rows), PLACES)
    empty = pl.DataFrame(schema=frame.select(COLUMNS).schema)
    figures = suppress(Counts(months, "2025-04-01T00:00:00", frame, empty), 10)
    _cannot_be_derived(figures.populations, 10, flows=True)


POPULATION = '[[population]]\nkey = "x"\nen = "x"\nzh = "x"\n'
SUPPORT_AREA = '[[support]]\nkey = "x"\nen = "x"\nzh = "x"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f'{POPULATION}any = [{{ feature = "age" }}]', "not a status feature"),
        (f'{POPULATION}any = [{{ event_type = "no.such", within = 9 }}]', "not an event type"),
        (f'{SUPPORT_AREA}kinds = [{{ event_type = "philanthropy.aid", detail = "cake" }}]',
         "not a detail code"),
        ('[counting]\nsuppress_below = 0', "suppress_below"),
        ('[counting]\nmonths = "all"', "months"),
    ],
)  # fmt: skip
def test_a_bad_definition_is_an_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "statistics.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StatisticsConfigError, match=message):
        load_definitions(path)


def test_a_status_the_pipeline_does_not_have_is_named(
    tmp_path: Path, histories: CaseHistories
) -> None:
    path = tmp_path / "statistics.toml"
    path.write_text(
        '[[population]]\nkey = "x"\nen = "x"\nzh = "x"\nany = [{ feature = "status__nothing" }]',
        encoding="utf-8",
    )
    with pytest.raises(StatisticsConfigError, match="status__nothing"):
        count_all(histories, load_definitions(path))
