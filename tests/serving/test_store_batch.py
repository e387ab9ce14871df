"""serving.store.batch.write_batch: the queue scored the one way (models.batch.score_batch),
row for row what score_batch gives for the store's children, all or nothing, within
capacity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

import serving.store.batch as store_batch
from features.deployment import Deployment
from models.batch import score_batch
from models.flagging import FlaggingPolicy, load_flagging_policy
from serving.champion import Champion, Served
from serving.errors import ConflictError, InvalidError
from serving.explain import store_histories
from serving.store import load_folder, make_engine, read_frames, upgrade
from serving.store.batch import write_batch
from serving.store.tables import Batch, BatchScore, Load
from tests.serving.conftest import Trained

pytestmark = pytest.mark.slow  # the trained champion, and scoring 2,500 children

AS_OF = date(2025, 12, 1)


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """A migrated, empty store on SQLite or PostgreSQL."""
    made = make_engine(url)
    upgrade(made)
    yield made
    made.dispose()


@pytest.fixture(scope="module")
def served(trained: Trained) -> Served:
    champion = Champion(trained.tracking_uri)
    assert champion.refresh(), champion.last_error
    return champion.current()


def _batch(engine: Engine, batch_id: int) -> tuple[dict[str, Any], pl.DataFrame]:
    """A batch's row and its scores (without batch_id, by child), as stored."""
    with engine.connect() as connection:
        batch = connection.execute(select(Batch).where(Batch.id == batch_id)).mappings().one()
        scores = connection.execute(
            select(BatchScore).where(BatchScore.batch_id == batch_id).order_by(BatchScore.child_id)
        ).mappings()
        frame = pl.DataFrame([dict(row) for row in scores], infer_schema_length=None)
    return dict(batch), frame.drop("batch_id")


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        batches = connection.execute(select(func.count()).select_from(Batch)).scalar_one()
        scores = connection.execute(select(func.count()).select_from(BatchScore)).scalar_one()
    return batches, scores


POLICIES = {
    "per_district": load_flagging_policy(None),
    "top_percent": FlaggingPolicy(capacity="top_percent", top_percent=3.0, flag_from="moderate"),
}
CAPACITIES = {
    "per_district": FlaggingPolicy(per_district=4, flag_from="moderate"),
    "top_percent": FlaggingPolicy(capacity="top_percent", top_percent=2.5, flag_from="moderate"),
    "the_tier_binds": FlaggingPolicy(capacity="top_percent", top_percent=50.0, flag_from="urgent"),
}


def _load(engine: Engine, trained: Trained) -> Engine:
    """The trained model's synthetic export loaded into the store (the slow part: one load
    per test and store)."""
    load_folder(engine, trained.data, Deployment())
    return engine


def _expected(engine: Engine, served: Served, policy: FlaggingPolicy) -> list[dict[str, Any]]:
    """What the store's batch must hold: score_batch on the store's own case histories,
    its top three reasons written out as the queue keeps them (an independent reading of
    score_batch's columns, not the writer's)."""
    with engine.connect() as connection:
        until = connection.execute(select(func.max(Load.exported_at))).scalar_one()
    children, events = read_frames(engine)
    histories = store_histories(children, events, until, Deployment())
    scored = score_batch(histories, served.model, policy, AS_OF, top=3)
    rows = []
    for row in scored.sort("child_id").iter_rows(named=True):
        reasons = [
            {
                "factor": row[f"factor_{i}"],
                "log_odds": row[f"factor_{i}_log_odds"],
                "points": row[f"factor_{i}_points"],
                "value": None
                if row[f"factor_{i}_value"] is None
                else json.loads(row[f"factor_{i}_value"]),
            }
            for i in (1, 2, 3)
            if row.get(f"factor_{i}") is not None
        ]
        rows.append(
            {
                "child_id": row["child_id"],
                "district": row["district"],
                "probability": float(row["probability"]),
                "score_1_20": int(row["score_1_20"]),
                "tier": str(row["tier"]),
                "flagged": bool(row["flagged"]),
                "reasons": reasons,
            }
        )
    return rows


def _decoded(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def test_write_batch_stores_what_the_one_way_to_score_gives(
    engine: Engine, trained: Trained, served: Served
) -> None:
    _load(engine, trained)
    for name, policy in POLICIES.items():
        after = write_batch(engine, served, policy, Deployment(), AS_OF, "tests")
        _, stored = _batch(engine, after.id)
        expected = _expected(engine, served, policy)
        assert stored.height == len(expected) == after.children > 1000
        # the same children, rates, scores, tiers, flags and reasons
        decoded = [
            {
                **{key: row[key] for key in expected[0] if key != "reasons"},
                "reasons": json.loads(row["reasons"]),
            }
            for row in stored.iter_rows(named=True)
        ]
        assert decoded == expected, name
        assert (after.as_of, after.model_version, after.flagged, after.created_by) == (
            AS_OF, served.version, int(stored["flagged"].sum()), "tests",
        )  # fmt: skip
        assert after.flagged > 0
        reasons = [reason for text in stored["reasons"] for reason in json.loads(text)]
        assert len(reasons) == 3 * after.children
        kinds = {type(reason["value"]) for reason in reasons}
        assert {bool, int, str} <= kinds, kinds  # yes/no, counts, categories kept their types


def test_each_failure_raises_its_domain_error_and_writes_nothing(
    engine: Engine, trained: Trained, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = load_flagging_policy(None)
    with pytest.raises(ConflictError) as conflict:
        write_batch(engine, served, policy, Deployment(), AS_OF, "tests")
    assert conflict.value.code == "no_data"
    assert conflict.value.message == (
        "the store holds no loaded export: run `riskflag db load DIR` first"
    )
    assert _counts(engine) == (0, 0)

    _load(engine, trained)
    with pytest.raises(InvalidError) as late:
        write_batch(engine, served, policy, Deployment(), date(2030, 1, 1), "tests")
    assert (late.value.problems[0].field, late.value.rule, late.value.code) == (
        "body.as_of", "within_export", "invalid_request",
    )  # fmt: skip
    assert late.value.message.startswith("as_of 2030-01-01 is after the latest export (")
    assert _counts(engine) == (0, 0)

    before_anyone_was_born = date(1990, 1, 1)
    with pytest.raises(InvalidError) as nobody:
        write_batch(engine, served, policy, Deployment(), before_anyone_was_born, "tests")
    assert (nobody.value.field, nobody.value.rule) == (None, "population")
    assert nobody.value.message == (
        "no child in the store is in the model's population on 1990-01-01"
    )
    assert _counts(engine) == (0, 0)

    # the last chunk fails (a child twice): the batch row and the chunks before it go too
    real = store_batch.score_rows

    def twice(scored: pl.DataFrame, batch_id: int) -> list[dict[str, Any]]:
        rows = real(scored, batch_id)
        return [*rows, rows[0]]

    monkeypatch.setattr(store_batch, "score_rows", twice)
    monkeypatch.setattr(store_batch, "CHUNK_ROWS", 500)
    with pytest.raises(IntegrityError):
        write_batch(engine, served, policy, Deployment(), AS_OF, "tests")
    assert _counts(engine) == (0, 0)


def test_flags_respect_the_policy_capacity(
    engine: Engine, trained: Trained, served: Served
) -> None:
    _load(engine, trained)
    for name, policy in CAPACITIES.items():
        summary = write_batch(engine, served, policy, Deployment(), AS_OF, "tests")
        batch, scores = _batch(engine, summary.id)
        assert batch["flagged"] == summary.flagged == int(scores["flagged"].sum()) > 0, name
        lowest = {"moderate": policy.moderate, "urgent": policy.urgent}[policy.flag_from]
        scores = scores.with_columns((pl.col("score_1_20") >= lowest).alias("eligible"))
        assert scores.filter(pl.col("flagged") & ~pl.col("eligible")).is_empty(), name
        groups = scores.partition_by("district") if policy.by_district else [scores]
        for group in groups:
            flagged = group.filter("flagged")
            allowed = policy.flags_allowed(group.height)
            assert flagged.height == min(allowed, int(group["eligible"].sum())), name
            passed = group.filter(pl.col("eligible") & ~pl.col("flagged"))
            if flagged.height and passed.height:  # the highest rates first
                assert flagged["probability"].min() >= passed["probability"].max(), name
