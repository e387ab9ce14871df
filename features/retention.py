"""The retention policy: an unsubstantiated finding, and the reports behind it, stop counting.

A finding with detail ``unsubstantiated`` stops counting N years (policy) after it
occurred. A report is behind the first finding recorded about it: of the child's
findings that occurred on or after the report, within ``report_link_days``, the one
recorded first (ties: the earlier occurrence, then the earlier row). A report behind an
unsubstantiated finding stops counting N years after the report occurred, but never
before the finding was recorded: until then nobody knew the finding was unsubstantiated.

Why the first recorded and not the first to occur: a link must not change with what is
recorded after the date a feature describes. Had the first finding to occur been the
link, a substantiated finding recorded late (occurring before the unsubstantiated one)
would re-link a report that had already expired, and the count of a date before its
recording would change. No finding recorded later can precede the first one recorded,
so each report's expiry is one instant, fixed by what was known when it passed.

Computed on arrays for any number of children at once: findings are sorted by (child,
occurrence), each report finds its candidates' range by binary search, and the ranges
(a few findings at most) are scanned in lockstep.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from features import schema as s
from features.config import Policy
from features.kernel import DAY_US, NEVER, Int
from features.plan import STRIDE

FINDING = s.EVENT_TYPES.index("welfare.finding")
REPORT = s.EVENT_TYPES.index("report.concern")
UNSUBSTANTIATED = FINDING * STRIDE + s.DETAIL_CODES.index("unsubstantiated") + 1


def add_years(instants_us: Int, years: int) -> Int:
    """The same day and time ``years`` later (29 February becomes 28 February)."""
    days = instants_us // DAY_US
    rest = instants_us - days * DAY_US
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    year = day.astype("datetime64[Y]")
    month_of_year = (month - year.astype("datetime64[M]")).astype(np.int64)
    day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    moved = (year + years).astype("datetime64[M]") + month_of_year
    last_day = (moved + 1).astype("datetime64[D]") - 1
    shifted = np.minimum(moved.astype("datetime64[D]") + day_of_month, last_day)
    moved_us: Int = shifted.astype(np.int64) * DAY_US + rest
    return moved_us


def expiries(unit: Int, code: Int, occurred: Int, recorded: Int, policy: Policy) -> Int:
    """When each event stops counting, in µs (NEVER: it never does)."""
    years = policy.unsubstantiated_retention_years
    expires = np.full(code.shape, NEVER, dtype=np.int64)
    unsubstantiated = code == UNSUBSTANTIATED
    expires[unsubstantiated] = add_years(occurred[unsubstantiated], years)
    reports, findings = _linked(unit, code, occurred, recorded, policy.report_link_days)
    behind = code[findings] == UNSUBSTANTIATED
    reports, findings = reports[behind], findings[behind]
    expires[reports] = np.maximum(add_years(occurred[reports], years), recorded[findings])
    return expires


def _linked(unit: Int, code: Int, occurred: Int, recorded: Int, link_days: int) -> tuple[Int, Int]:
    """(report, finding) pairs: for each report, of its child's findings occurring on or
    after it within ``link_days``, the first recorded (ties: occurrence, then row)."""
    kind = code // STRIDE
    reports = np.flatnonzero(kind == REPORT)
    findings = np.flatnonzero(kind == FINDING)
    if reports.size == 0 or findings.size == 0:
        return reports[:0], findings[:0]
    findings = findings[np.lexsort((findings, occurred[findings], unit[findings]))]
    lo, hi = _candidates(unit, occurred, reports, findings, link_days)
    # longest range first, so the reports still scanning at each step are a prefix: the
    # work is the number of (report, candidate) pairs, not reports x the longest range
    order = np.argsort(lo - hi, kind="stable")
    reports, lo, length = reports[order], lo[order], (hi - lo)[order]
    best = np.where(length > 0, findings[np.minimum(lo, findings.size - 1)], -1)
    for step in range(1, int(length.max(initial=0))):
        active = int(np.count_nonzero(length > step))
        candidate = findings[lo[:active] + step]
        better = _earlier(candidate, best[:active], recorded, occurred)
        best[:active] = np.where(better, candidate, best[:active])
    has = best >= 0
    return reports[has], best[has]


def _candidates(
    unit: Int, occurred: Int, reports: Int, findings: Int, link_days: int
) -> tuple[Int, Int]:
    """Each report's range [lo, hi) in ``findings`` (sorted by child, then occurrence):
    its child's findings occurring within ``link_days`` on or after it."""
    moments = np.unique(occurred[findings])
    stride = np.int64(moments.size + 1)
    unit = unit.astype(np.int64, copy=False)
    keys = unit[findings] * stride + np.searchsorted(moments, occurred[findings])
    start = occurred[reports]
    first = unit[reports] * stride + np.searchsorted(moments, start, side="left")
    last = unit[reports] * stride + np.searchsorted(
        moments, start + link_days * DAY_US, side="right"
    )
    return np.searchsorted(keys, first), np.searchsorted(keys, last)


def _earlier(a: Int, b: Int, recorded: Int, occurred: Int) -> npt.NDArray[np.bool_]:
    """Row ``a`` before row ``b`` by (recorded, occurred, row)."""
    same_record = recorded[a] == recorded[b]
    same_time = occurred[a] == occurred[b]
    first: npt.NDArray[np.bool_] = (recorded[a] < recorded[b]) | (
        same_record & ((occurred[a] < occurred[b]) | (same_time & (a < b)))
    )
    return first
