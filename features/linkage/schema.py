"""Source exports (../shared/design/source-exports.md) and linkage outputs: names in one place.

Everything that reads, writes or checks a sources folder or a linkage output takes its
column names and vocabularies from here, as the contract's readers take theirs from
``features.schema``.
"""

from __future__ import annotations

from typing import Final

from features import schema as s

# ---- the sources folder ---------------------------------------------------------------
PERSONS: Final = "persons"
EVENTS: Final = s.EVENTS
SOURCES_DIR: Final = "sources"

# source folder -> the event-type prefix its events carry
KNOWN_SOURCES: Final = {
    "welfare": "welfare",
    "reports": "report",
    "community": "community",
    "social_aid": "social_aid",
    "education": "education",
    "health": "health",
    "police": "police",
    "philanthropy": "philanthropy",  # contract 1.1: charities' aid, through the division
}

SOURCE: Final = "source"
RECORD_ID: Final = "record_id"
NAME: Final = "name"
ID_NUMBER: Final = "id_number"
BIRTH_DATE: Final = s.BIRTH_DATE
SEX: Final = s.SEX
DISTRICT: Final = s.DISTRICT
ADDRESS: Final = "address"
HUKOU: Final = s.HUKOU
ETHNICITY: Final = s.ETHNICITY
GUARDIAN_NAME: Final = "guardian_name"
GUARDIAN_ID_NUMBER: Final = "guardian_id_number"
GUARDIAN_PHONE: Final = "guardian_phone"
FAMILY_REF: Final = "family_ref"

PERSONS_COLUMNS: Final = (
    RECORD_ID,
    NAME,
    ID_NUMBER,
    BIRTH_DATE,
    SEX,
    DISTRICT,
    ADDRESS,
    HUKOU,
    ETHNICITY,
    GUARDIAN_NAME,
    GUARDIAN_ID_NUMBER,
    GUARDIAN_PHONE,
    FAMILY_REF,
)
# a source's events: the contract's events with record_id in place of child_id
SOURCE_EVENTS_COLUMNS: Final = tuple(
    RECORD_ID if column == s.CHILD_ID else column for column in s.EVENTS_COLUMNS
)
# identity data: used to link and to show a child's own caseworker who the child is;
# never in a feature table, a model, MLflow, a log or a notebook output
IDENTITY_COLUMNS: Final = (
    NAME,
    ID_NUMBER,
    ADDRESS,
    GUARDIAN_NAME,
    GUARDIAN_ID_NUMBER,
    GUARDIAN_PHONE,
)
MAX_RECORD_ID_LENGTH: Final = 64

# ---- what linkage writes ----------------------------------------------------------------
LINKS_FILE: Final = "links.parquet"
IDENTITIES_FILE: Final = "identities.parquet"
REVIEW_FILE: Final = "review.parquet"
CHANGES_FILE: Final = "changes.parquet"
EVENT_RECORDS_FILE: Final = "event_records.parquet"  # event_id, source, record_id
LINKAGE_FILE: Final = "linkage.json"
HOW: Final = "how"
MATCH_PROBABILITY: Final = "match_probability"
HOW_ID_NUMBER: Final = "id_number"
HOW_MATCH: Final = "match"
HOW_REVIEW: Final = "review"
HOW_SINGLE: Final = "single"
HOW_VALUES: Final = (HOW_ID_NUMBER, HOW_MATCH, HOW_REVIEW, HOW_SINGLE)
# a `match` on the family's evidence alone: the record's family has one child it can be
FAMILY_ONLY: Final = "family_only"
# identities and resolved children: how precise the birth date is (day, month, year), and a
# child held back from the contract folder for want of a birth date or district
PRECISION: Final = "birth_precision"
HELD_BACK: Final = "held_back"

# ---- the synthetic truth ----------------------------------------------------------------
TRUTH_FILE: Final = "records.parquet"  # source, record_id, child_id (the true child)

# ---- inside a run -------------------------------------------------------------------------
CLUSTER: Final = "cluster"  # a run's cluster number: the smallest record number it holds
