"""The retention policy: an unsubstantiated finding, and the reports behind it, stop counting.

A finding with detail ``unsubstantiated`` stops counting N years (policy) after it
occurred. A report is behind a finding when that finding is the child's first finding
to occur on or after the report, within ``report_link_days``; a report behind an
unsubstantiated finding stops counting N years after the report occurred, but never
before the finding was recorded: until then nobody knew the finding was unsubstantiated,
so the expiry itself cannot leak what was recorded later.

Computed on arrays for any number of children at once: reports and findings are sorted
together by (child, occurrence), and each report looks forward to the next finding.
"""

from __future__ import annotations

import numpy as np

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
    reports, findings = _linked(unit, code, occurred, policy.report_link_days)
    behind = code[findings] == UNSUBSTANTIATED
    reports, findings = reports[behind], findings[behind]
    expires[reports] = np.maximum(add_years(occurred[reports], years), recorded[findings])
    return expires


def _linked(unit: Int, code: Int, occurred: Int, link_days: int) -> tuple[Int, Int]:
    """(report, finding) pairs: each report's child's first finding occurring on or
    after it, within ``link_days`` (ties: the earlier row)."""
    kind = code // STRIDE
    reports = np.flatnonzero(kind == REPORT)
    findings = np.flatnonzero(kind == FINDING)
    rows = np.concatenate([reports, findings])
    is_finding = np.concatenate([np.zeros(reports.size, bool), np.ones(findings.size, bool)])
    order = np.lexsort((rows, is_finding, occurred[rows], unit[rows]))
    rows, is_finding = rows[order], is_finding[order]
    position = np.where(is_finding, np.arange(rows.size), rows.size)
    following = np.minimum.accumulate(position[::-1])[::-1]
    report_at = np.flatnonzero(~is_finding)
    found = following[report_at]
    has = found < rows.size
    report_rows = rows[report_at[has]]
    finding_rows = rows[found[has]]
    near = (unit[finding_rows] == unit[report_rows]) & (
        occurred[finding_rows] - occurred[report_rows] <= link_days * DAY_US
    )
    return report_rows[near], finding_rows[near]
