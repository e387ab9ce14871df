"""The service's closed vocabularies, each defined once: roles, decision actions,
override reasons, the records officers' pair decisions, caseworkers' link requests and
the words a pair's evidence is weighed in (tiers are the models' own,
models.flagging.Tier; audit actions are serving.audit.Action). The API's schemas, the
pages' forms and their message catalogue, the store's checks and the commands all take
their values from here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal

from models.flagging import Tier


class Role(StrEnum):
    """What a user may do. Caseworkers and supervisors act within their districts;
    analysts see model metrics and de-identified aggregates; admins manage users,
    batches and the model, and read the audit log. None of those two sees a child.
    Records officers decide which records are one child (the linkage review queue),
    city-wide or within their districts; they see records' identity data, not scores."""

    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    ADMIN = "admin"
    RECORDS_OFFICER = "records_officer"


DISTRICT_ROLES: Final = (Role.CASEWORKER, Role.SUPERVISOR)  # scoped by district
# scoped by district when given districts, city-wide when given none
OPTIONAL_DISTRICT_ROLES: Final = (Role.RECORDS_OFFICER,)
MODEL_PAGE_ROLES: Final = (Role.SUPERVISOR, Role.ANALYST)
MONITORING_ROLES: Final = (Role.SUPERVISOR, Role.ANALYST, Role.ADMIN)  # no child's data
STATISTICS_ROLES: Final = (Role.SUPERVISOR, Role.ANALYST)  # the division's statistics
REVIEW_ROLES: Final = (Role.RECORDS_OFFICER,)  # the linkage review queue


class DecisionAction(StrEnum):
    """What was done about a flagged child (words: the pages' message catalogue)."""

    HOME_VISIT = "home_visit"
    REFERRAL_TO_SERVICES = "referral_to_services"
    INVESTIGATION_REQUESTED = "investigation_requested"
    NO_ACTION = "no_action"


class OverrideReason(StrEnum):
    """Why a decision did not follow the flag."""

    KNOWLEDGE_NOT_IN_RECORDS = "knowledge_not_in_records"
    RECORDS_OUTDATED = "records_outdated"
    RECORDS_WRONG = "records_wrong"
    ALREADY_SERVED = "already_served"
    SITUATION_CHANGED = "situation_changed"
    OTHER = "other"


class PairDecision(StrEnum):
    """A records officer's decision on a pair of records (what `riskflag link
    --decisions` reads: features.linkage.edges.DECISIONS): never linked again when
    ``different``, always linked when ``same``; ``unsure`` takes the pair off the queue
    and changes no link."""

    SAME = "same"
    DIFFERENT = "different"
    UNSURE = "unsure"


class LinkRequestKind(StrEnum):
    """What a caseworker or supervisor asks of the records officers: two children are one
    child (``merge``, naming the other child), or one child is two (``split``)."""

    MERGE = "merge"
    SPLIT = "split"


class Evidence(StrEnum):
    """How far one compared field moved a pair, from its level's weight (log2 of the
    Bayes factor, in bits): towards one child (``agrees_*``), towards two
    (``disagrees_*``), neither, or missing on a side (serving.review.evidence)."""

    AGREES_STRONGLY = "agrees_strongly"
    AGREES = "agrees"
    AGREES_WEAKLY = "agrees_weakly"
    NEUTRAL = "neutral"
    DISAGREES_WEAKLY = "disagrees_weakly"
    DISAGREES = "disagrees"
    DISAGREES_STRONGLY = "disagrees_strongly"
    MISSING = "missing"


def codes(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """A vocabulary's codes, in their order of definition."""
    return tuple(member.value for member in vocabulary)


def literal(vocabulary: type[StrEnum]) -> Any:
    """``Literal[...]`` of a vocabulary's codes, for pydantic fields and FastAPI
    parameters (validated, and shown inline in OpenAPI as an enum of strings)."""
    return Literal[codes(vocabulary)]


__all__ = [
    "DISTRICT_ROLES",
    "MODEL_PAGE_ROLES",
    "MONITORING_ROLES",
    "OPTIONAL_DISTRICT_ROLES",
    "REVIEW_ROLES",
    "STATISTICS_ROLES",
    "DecisionAction",
    "Evidence",
    "LinkRequestKind",
    "OverrideReason",
    "PairDecision",
    "Role",
    "Tier",
    "codes",
    "literal",
]
