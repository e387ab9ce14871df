"""Statuses on an as-of date, derived from the event stream (never taken as given).

A status decided by "the latest of" some events (left-behind registered vs. ended, dibao
started vs. ended, ...) is a running maximum of ``(occurrence, code)`` packed into one
integer over the events of its group (features.kernel); the others come from counts
(parents deceased, away and returned). See docs/features.md for each definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from features import schema as s
from features.kernel import NONE, Int, packed_code
from features.status_specs import AWAY_STATUSES

# status groups for running maxima: name -> {(event_type, detail or None): code}
LATEST_OF: dict[str, dict[tuple[str, str | None], int]] = {
    "__left_behind": {
        ("community.left_behind_registered", None): 1,
        ("community.left_behind_ended", None): 0,
    },
    "__dibao": {("social_aid.dibao_start", None): 1, ("social_aid.dibao_end", None): 0},
    "__open_case": {("welfare.case_opened", None): 1, ("welfare.case_closed", None): 0},
    "__school": {("education.enrolled", None): 1, ("education.dropout", None): 2},
    "__guardian": {
        ("welfare.guardianship_change", code): i + 1 for i, code in enumerate(s.GUARDIANS)
    },
    "__placed": {
        ("welfare.emergency_removal", None): 1,
        ("welfare.foster_placement", None): 1,
        ("welfare.institution_placement", None): 1,
        ("welfare.reunification", None): 0,
        ("welfare.adoption", None): 0,
    },
    **{
        f"__parent_{code}": {
            ("community.parent_status", code): 1,
            ("community.parent_status", "returned"): 0,
        }
        for code in AWAY_STATUSES
    },
}
SCHOOL: tuple[str, ...] = ("none", "enrolled", "dropped_out")


class Categorical(NamedTuple):
    """Category indices into ``categories``."""

    codes: Int
    categories: tuple[str, ...]

    def categories_at(self, rows: Sequence[int]) -> npt.NDArray[np.object_]:
        """The categories at ``rows`` as text (an object array)."""
        return np.array(self.categories, dtype=object)[self.codes[list(rows)]]


def status_code(packed: Int, none: int = -1) -> Int:
    """The code of the latest event of a group, or ``none`` where there is none."""
    return np.where(packed == NONE, none, packed_code(packed))


def latest_is(packed: Int, code: int) -> Any:
    return (packed != NONE) & (packed_code(packed) == code)


def status_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every status feature from the kernels' columns (counts and packed maxima)."""
    deceased = np.minimum(values["__parents_deceased"], 2)
    away = np.maximum(values["__parents_left"] - values["__parents_returned"], 0)
    guardian = status_code(values["__guardian"], 0)  # 0: no change recorded: "parent"
    return {
        "status__left_behind": latest_is(values["__left_behind"], 1),
        "status__unattended": values["__unattended"] > 0,
        "status__parents_deceased": deceased.astype(np.int8),
        "status__orphan": deceased >= 2,
        "status__parents_away": np.minimum(away, 2 - deceased).astype(np.int8),
        **{f"status__parent_{c}": latest_is(values[f"__parent_{c}"], 1) for c in AWAY_STATUSES},
        "status__dibao": latest_is(values["__dibao"], 1),
        "status__disabled": values["__disabled"] > 0,
        "status__disability_level": status_code(values["__disability_level"], 0),
        "status__school": Categorical(status_code(values["__school"], 0), SCHOOL),
        "status__open_case": latest_is(values["__open_case"], 1),
        "status__guardian": Categorical(np.maximum(guardian - 1, 0), s.GUARDIANS),
    }
