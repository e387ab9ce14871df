"""Case-history data contract, version 1.1: names, vocabularies and typed schemas.

Everything that reads, writes or checks a data folder takes its column names, code
lists and dtypes from here, so the contract lives in exactly one place
(see docs/data-contract.md for the prose).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

CONTRACT_VERSION: Final = "1.1"
CONTRACT_VERSIONS: Final = ("1", "1.1")  # what export.json's contract_version may say

# ---- tables and columns -------------------------------------------------------------
CHILDREN: Final = "children"
EVENTS: Final = "events"
EXPORT_FILE: Final = "export.json"

CHILD_ID: Final = "child_id"
BIRTH_DATE: Final = "birth_date"
SEX: Final = "sex"
DISTRICT: Final = "district"
HUKOU: Final = "hukou"
ETHNICITY: Final = "ethnicity"
HOUSEHOLD_ID: Final = "household_id"

EVENT_ID: Final = "event_id"
EVENT_TYPE: Final = "event_type"
OCCURRED_AT: Final = "occurred_at"
RECORDED_AT: Final = "recorded_at"
SEVERITY: Final = "severity"
AMOUNT: Final = "amount"
DETAIL: Final = "detail"

CHILDREN_COLUMNS: Final = (CHILD_ID, BIRTH_DATE, SEX, DISTRICT, HUKOU, ETHNICITY, HOUSEHOLD_ID)
EVENTS_COLUMNS: Final = (
    EVENT_ID,
    CHILD_ID,
    EVENT_TYPE,
    OCCURRED_AT,
    RECORDED_AT,
    SEVERITY,
    AMOUNT,
    DETAIL,
)
TABLE_COLUMNS: Final = {CHILDREN: CHILDREN_COLUMNS, EVENTS: EVENTS_COLUMNS}

MAX_CHILD_ID_LENGTH: Final = 64
MAX_AGE_YEARS_AT_EXPORT: Final = 25

# ---- vocabularies -------------------------------------------------------------------
SEX_VALUES: Final = ("F", "M", "U")
HUKOU_VALUES: Final = ("local", "nonlocal", "none", "unknown")
ETHNICITY_VALUES: Final = ("han", "minority", "unknown")

REPORTERS: Final = (
    "school",
    "kindergarten",
    "hospital",
    "police",
    "neighbor",
    "family",
    "community",
    "hotline",
    "other",
)
ALLEGATIONS: Final = ("neglect", "physical", "sexual", "emotional", "abandonment", "exploitation")
FINDINGS: Final = ("substantiated", "unsubstantiated", "inconclusive")
GUARDIANS: Final = ("parent", "grandparent", "relative", "state", "other")
PARENT_STATUSES: Final = (
    "migrated",
    "returned",
    "deceased",
    "incarcerated",
    "ill_or_disabled",
    "drug_rehab",
    "contact_lost",
)
SCHOOL_LEVELS: Final = ("kindergarten", "primary", "secondary", "vocational")
INJURY_KINDS: Final = ("accidental", "suspicious", "unknown")
EMPLOYMENT_SUPPORT: Final = ("job_referral", "vocational_training", "wage_subsidy")
HOUSING_SUPPORT: Final = ("rent_subsidy", "public_rental", "repair")
PHILANTHROPY_AID: Final = ("basic_living", "medical", "education", "employment", "housing")
DISABILITY_KINDS: Final = (
    "physical",
    "intellectual",
    "visual",
    "hearing",
    "speech",
    "mental",
    "multiple",
)


@dataclass(frozen=True)
class EventKind:
    """One row of the event catalogue: which of severity, amount and detail a kind uses.

    ``severity`` is the inclusive (low, high) range or None when the kind does not use
    it; ``details`` is the code list or None when the kind does not use detail.
    """

    event_type: str
    severity: tuple[int, int] | None = None
    uses_amount: bool = False
    details: tuple[str, ...] | None = None
    since: str = "1"

    @property
    def source(self) -> str:
        return self.event_type.split(".", 1)[0]


_KINDS: Final = (
    EventKind("report.concern", severity=(1, 3), details=REPORTERS),
    EventKind("welfare.investigation_opened", details=ALLEGATIONS),
    EventKind("welfare.finding", severity=(0, 3), details=FINDINGS),
    EventKind("welfare.case_opened"),
    EventKind("welfare.case_closed"),
    EventKind("welfare.emergency_removal", severity=(1, 3)),
    EventKind("welfare.foster_placement"),
    EventKind("welfare.institution_placement"),
    EventKind("welfare.reunification"),
    EventKind("welfare.adoption"),
    EventKind("welfare.guardianship_change", details=GUARDIANS),
    EventKind("community.home_visit", severity=(0, 3)),
    EventKind("community.parent_status", details=PARENT_STATUSES),
    EventKind("community.left_behind_registered"),
    EventKind("community.left_behind_ended"),
    EventKind("community.unattended_registered"),
    EventKind("social_aid.dibao_start"),
    EventKind("social_aid.dibao_end"),
    EventKind("social_aid.temporary_assistance", uses_amount=True),
    EventKind("education.enrolled", details=SCHOOL_LEVELS),
    EventKind("education.absence", uses_amount=True),
    EventKind("education.dropout"),
    EventKind("health.visit"),
    EventKind("health.injury", severity=(1, 3), details=INJURY_KINDS),
    EventKind("health.malnutrition", severity=(1, 3)),
    EventKind("health.disability_certified", severity=(1, 4), details=DISABILITY_KINDS),
    EventKind("health.mental_health"),
    EventKind("police.missing_report"),
    EventKind("police.found"),
    EventKind("police.street_child_found"),
    EventKind("police.domestic_violence_call", severity=(1, 3)),
    EventKind("police.rescue"),
    # version 1.1 (appended, so version 1's kinds keep their positions)
    EventKind(
        "social_aid.employment_support", uses_amount=True, details=EMPLOYMENT_SUPPORT, since="1.1"
    ),
    EventKind("social_aid.housing_support", uses_amount=True, details=HOUSING_SUPPORT, since="1.1"),
    EventKind("philanthropy.aid", uses_amount=True, details=PHILANTHROPY_AID, since="1.1"),
)
CATALOGUE: Final[dict[str, EventKind]] = {kind.event_type: kind for kind in _KINDS}
EVENT_TYPES: Final = tuple(CATALOGUE)
SOURCES: Final = tuple(dict.fromkeys(kind.source for kind in _KINDS))
DETAIL_CODES: Final = tuple(dict.fromkeys(code for kind in _KINDS for code in (kind.details or ())))

# ---- typed schemas of loaded tables ---------------------------------------------------
# Timestamps are naive wall-clock times of the deployment's time zone: an as-of date D
# means D 00:00 local time, so comparing naive local datetimes is the contract's rule.
TIMESTAMP_DTYPE: Final = pl.Datetime("us")
SEX_DTYPE: Final = pl.Enum(SEX_VALUES)
HUKOU_DTYPE: Final = pl.Enum(HUKOU_VALUES)
ETHNICITY_DTYPE: Final = pl.Enum(ETHNICITY_VALUES)
EVENT_TYPE_DTYPE: Final = pl.Enum(EVENT_TYPES)
DETAIL_DTYPE: Final = pl.Enum(DETAIL_CODES)

CHILDREN_SCHEMA: Final = pl.Schema(
    {  # type: ignore[arg-type]
        CHILD_ID: pl.String,
        BIRTH_DATE: pl.Date,
        SEX: SEX_DTYPE,
        DISTRICT: pl.String,
        HUKOU: HUKOU_DTYPE,
        ETHNICITY: ETHNICITY_DTYPE,
        HOUSEHOLD_ID: pl.String,
    }
)
EVENTS_SCHEMA: Final = pl.Schema(
    {  # type: ignore[arg-type]
        EVENT_ID: pl.String,
        CHILD_ID: pl.String,
        EVENT_TYPE: EVENT_TYPE_DTYPE,
        OCCURRED_AT: TIMESTAMP_DTYPE,
        RECORDED_AT: TIMESTAMP_DTYPE,
        SEVERITY: pl.Int8,
        AMOUNT: pl.Float64,
        DETAIL: DETAIL_DTYPE,
    }
)
TABLE_SCHEMAS: Final = {CHILDREN: CHILDREN_SCHEMA, EVENTS: EVENTS_SCHEMA}

# ---- the default outcome (documented in the contract; configurable downstream) --------
URGENT_OUTCOME_HORIZON_DAYS: Final = 180
