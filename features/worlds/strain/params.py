"""Every rate and coefficient of the strain world, in one frozen dataclass.

Why: the strain world exists to judge models on a process unlike our own generator, so
its habits must be explicit and movable in one place. How: ``StrainParams`` holds the
population mix, the strain ladder, the outcome hazard, the observation sources and
the recording lags; the small records ``ShockKind`` and ``SignalKind`` describe one
kind of household shock and one kind of observed signal. Rates are per week unless a
name says otherwise, delays in days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from features.synth.params import district_populations

GENERATOR: Final = "strain"
GENERATOR_VERSION: Final = "1"

# Age bands (age at the start of a week, or at birth in the week of birth): under 1,
# 1-4, 5-12, 13-17; band 4 = the week does not overlap the child's life before 18.
BAND_NAMES: Final = ("0", "1-4", "5-12", "13-17")
BAND_EDGE_YEARS: Final = (1, 5, 13)
N_BANDS: Final = 4
INACTIVE: Final = 4

Band4 = tuple[float, float, float, float]


@dataclass(frozen=True)
class ShockKind:
    """One kind of household shock: how often it is the one, how far it lifts strain,
    and the status it gives a parent (None: no parent status).

    ``jumps`` are the probabilities of lifting strain by 1, 2, 3 or 4 levels; a parent
    status ends with the parent's return (``returns``) after ``away_years``.
    """

    name: str
    share: float
    jumps: Band4
    status: str | None = None
    father_share: float = 0.5
    returns: float = 0.0
    away_years: tuple[float, float] = (0.5, 3.0)


def _shock_kinds() -> tuple[ShockKind, ...]:
    return (
        ShockKind("job_loss", 0.30, (0.70, 0.25, 0.05, 0.0)),
        ShockKind("illness", 0.17, (0.55, 0.35, 0.10, 0.0), "ill_or_disabled", 0.5, 0.5),
        ShockKind("migration", 0.20, (0.80, 0.20, 0.0, 0.0), "migrated", 0.65, 0.65, (0.5, 4.0)),
        ShockKind("violence", 0.13, (0.20, 0.40, 0.30, 0.10)),
        ShockKind("incarceration", 0.06, (0.15, 0.40, 0.35, 0.10), "incarcerated", 0.88, 0.85,
                  (0.5, 4.0)),
        ShockKind("drugs", 0.06, (0.20, 0.40, 0.30, 0.10), "drug_rehab", 0.75, 0.85, (0.5, 2.0)),
        ShockKind("contact_lost", 0.05, (0.30, 0.40, 0.20, 0.10), "contact_lost", 0.6, 0.25),
        ShockKind("death", 0.03, (0.10, 0.30, 0.40, 0.20), "deceased", 0.6, 0.0),
    )  # fmt: skip


@dataclass(frozen=True)
class SignalKind:
    """One kind of observed signal drawn from a weekly rate.

    rate = per_week x age_rr[band] x exp(strain_coef x strain) x visibility**vis_power,
    where strain counts only while the child lives at home (0 in care), and only in the
    weeks the ``where`` mask allows: ``any``, ``school`` (term weeks while enrolled in a
    school) or ``kinder`` (term weeks while in kindergarten).
    """

    name: str
    event_type: str
    detail: str | None
    per_week: float
    age_rr: Band4
    strain_coef: float
    vis_power: float
    where: str = "any"


def _signal_kinds() -> tuple[SignalKind, ...]:
    flat: Band4 = (1.0, 1.0, 1.0, 1.0)
    young: Band4 = (3.0, 2.0, 0.7, 0.5)
    return (
        SignalKind("health_visit", "health.visit", None, 1 / 52, (6.0, 2.0, 0.6, 0.4), 0.03, 0.5),
        SignalKind("injury_accidental", "health.injury", "accidental", 2e-3, (0.5, 1.4, 1, 1.1),
                   0.05, 0.5),
        SignalKind("injury_unknown", "health.injury", "unknown", 6e-5, young, 0.30, 0.7),
        SignalKind("injury_minor", "health.injury", "suspicious", 1.5e-5, young, 0.42, 0.7),
        SignalKind("malnutrition", "health.malnutrition", None, 1e-5, (3, 2.5, 0.8, 0.2), 0.38,
                   0.7),
        SignalKind("mental_health", "health.mental_health", None, 4e-5, (0, 0, 0.5, 2.5), 0.25,
                   0.7),
        SignalKind("report_school", "report.concern", "school", 1.2e-4, flat, 0.38, 0.8,
                   "school"),
        SignalKind("report_kinder", "report.concern", "kindergarten", 1.2e-4, flat, 0.38, 0.8,
                   "kinder"),
        SignalKind("report_hospital", "report.concern", "hospital", 3e-5, young, 0.40, 0.7),
        SignalKind("report_police", "report.concern", "police", 2e-5, (0.5, 0.5, 0.8, 2.0), 0.42,
                   1.0),
        SignalKind("report_neighbor", "report.concern", "neighbor", 3e-5, flat, 0.35, 1.0),
        SignalKind("report_family", "report.concern", "family", 1.5e-5, flat, 0.30, 1.0),
        SignalKind("report_community", "report.concern", "community", 2e-5, flat, 0.35, 1.0),
        SignalKind("report_hotline", "report.concern", "hotline", 2e-5, (0.5, 0.7, 1.0, 1.6),
                   0.35, 1.0),
        SignalKind("report_other", "report.concern", "other", 1e-5, flat, 0.30, 1.0),
        SignalKind("runaway", "police.missing_report", None, 2e-5, (0, 0, 0.3, 3.0), 0.35, 1.0),
        SignalKind("street_child", "police.street_child_found", None, 3e-6, (0, 0, 0.3, 2.0),
                   0.40, 1.0),
    )  # fmt: skip


def _lags() -> tuple[tuple[str, float, float], ...]:
    # (source, median days, log-normal sigma) of the recording lag.
    return (
        ("report", 0.3, 1.3), ("police", 0.2, 1.0), ("welfare", 2.0, 0.9),
        ("community", 5.0, 1.2), ("status", 30.0, 1.0), ("registration", 20.0, 0.8),
        ("social_aid", 7.0, 0.8), ("education", 4.0, 1.0), ("health", 0.5, 1.3),
        ("disability", 20.0, 0.8), ("outcome", 0.5, 1.0), ("philanthropy", 14.0, 0.8),
    )  # fmt: skip


@dataclass(frozen=True)
class StrainParams:
    """Every rate and coefficient of the strain world (defaults: a 1-3% base rate)."""

    # ---- population ---------------------------------------------------------------------
    districts: tuple[tuple[str, float], ...] = field(default_factory=district_populations)
    household_sizes: tuple[float, float, float] = (0.55, 0.33, 0.12)  # 1, 2, 3 children
    sibling_gap_years: tuple[float, float] = (1.0, 7.0)
    # hukou (local, nonlocal, none, unknown) by area: core, inner, outlying
    hukou_by_area: tuple[tuple[float, float, float, float], ...] = (
        (0.78, 0.19, 0.02, 0.01),
        (0.62, 0.33, 0.03, 0.02),
        (0.55, 0.38, 0.05, 0.02),
    )
    ethnicity: tuple[float, float, float] = (0.95, 0.045, 0.005)
    sex: tuple[float, float, float] = (0.48, 0.515, 0.005)
    null_household_share: float = 0.02

    # ---- household types and the strain ladder ------------------------------------------
    levels: int = 12  # strain levels 0 .. levels - 1
    type_shares: tuple[float, float, float] = (0.70, 0.22, 0.08)  # stable, episodic, chronic
    type_rr_no_hukou: float = 1.6  # odds of the troubled types for unregistered families
    type_rr_outlying: float = 1.25  # ... in outlying districts
    shock_rate: tuple[float, float, float] = (0.0015, 0.010, 0.010)  # shocks per week by type
    shock_gamma_shape: float = 2.0  # household multiplier of the shock rate, mean 1
    drift: tuple[float, float, float] = (0.0, 0.0, 0.03)  # silent +1 per week by type
    recovery: tuple[float, float, float] = (0.10, 0.035, 0.015)  # -1 per week at level 0+
    recovery_slope: float = 0.12  # recovery x (1 + slope x level)
    initial_mean: tuple[float, float, float] = (0.3, 1.5, 3.0)  # Poisson mean of week 0 level
    pandemic_rr: float = 1.3  # shock rate multiplier in the pandemic weeks
    pandemic: tuple[str, str] = ("2020-02-01", "2023-01-01")
    shock_kinds: tuple[ShockKind, ...] = field(default_factory=_shock_kinds)

    # ---- outcome hazard ---------------------------------------------------------------
    outcome_per_week: float = 1.1e-2  # base (frailty 1, band 1-4, saturated strain, seen)
    frailty_shape: float = 0.8  # gamma frailty, mean 1
    frailty_shared: float = 0.35  # share of the frailty's shape common to siblings
    age_rr: Band4 = (2.5, 1.0, 0.45, 1.6)
    threshold: Band4 = (4.0, 5.0, 5.5, 5.0)  # strain at which f reaches half its height
    steepness: float = 1.4  # logistic slope of f in strain levels
    floor: float = 0.03  # f's floor (relative to its height)
    away_level: float = 0.04  # f while in care after a removal (or adopted)
    visibility_power: float = 0.5  # outcome rate x visibility**power
    disability_rr: float = 1.5
    disability: float = 0.015  # children with a disability (certified at some age)
    disability_age_years: tuple[float, float] = (0.5, 10.0)
    disability_levels: Band4 = (0.15, 0.25, 0.30, 0.30)
    disability_kinds: tuple[float, ...] = (0.25, 0.25, 0.08, 0.10, 0.07, 0.10, 0.15)
    # outcome kind by band: removal, substantiated severity-3 finding, rescue, injury
    outcome_mix: tuple[Band4, ...] = (
        (0.40, 0.10, 0.02, 0.48),
        (0.35, 0.25, 0.03, 0.37),
        (0.25, 0.55, 0.05, 0.15),
        (0.15, 0.45, 0.30, 0.10),
    )
    removal_severity: tuple[float, float, float] = (0.25, 0.40, 0.35)
    injury_severe_share: float = 0.35  # outcome injuries of severity 3 (else 2)
    foster_share: float = 0.6
    reunify_share: float = 0.8
    reunify_median_months: float = 9.0  # log-normal time in care before reunification
    reunify_sigma: float = 0.6
    adoption_share_under_4: float = 0.35  # of removals not reunified, under 4
    adoption_months: tuple[float, float] = (9.0, 30.0)
    state_guardian_share: float = 0.2

    # ---- visibility, noise reporters ---------------------------------------------------
    visibility_logit: float = 1.6
    visibility_sd: float = 0.6
    visibility_hukou: Band4 = (0.0, -0.5, -1.1, -0.4)  # local, nonlocal, none, unknown
    visibility_area: tuple[float, float, float] = (0.0, -0.2, -0.6)
    noise_share: float = 0.06  # households with a reporter unrelated to strain
    noise_per_week: float = 0.02

    # ---- observed signals --------------------------------------------------------------
    signal_kinds: tuple[SignalKind, ...] = field(default_factory=_signal_kinds)
    visit_per_week: float = 1 / 52  # child director's home visit, per household
    visit_strain_coef: float = 0.1
    visit_registered: float = 0.08  # extra visits while registered (dibao, left-behind)
    dv_per_week: float = 8e-5
    dv_strain_coef: float = 0.42
    assistance_per_week: float = 2e-4
    assistance_strain_coef: float = 0.25
    assistance_registered: float = 0.01
    assistance_yuan: tuple[float, float] = (1200.0, 0.7)  # median, log sigma
    report_noise_sd: float = 1.8  # severity = 1 + floor((strain + N(0, sd)) / 4), 1-3
    visit_concern: tuple[float, float, float] = (2.0, 3.0, 0.7)  # (strain - a) / b + N(0, c)
    missing_mark_share: float = 0.02  # severities not recorded

    # ---- shock consequences ------------------------------------------------------------
    dibao_share: float = 0.25  # job loss or illness in an eligible family starts dibao
    dibao_mean_years: float = 2.5
    shock_assistance_share: float = 0.3
    violence_call_share: float = 0.7  # violence shocks that bring a police call (x visibility)
    left_behind_max_age: float = 16.0
    orphan_guardians: tuple[float, ...] = (0.0, 0.6, 0.3, 0.0, 0.1)  # GUARDIANS

    # ---- follow-ups -----------------------------------------------------------------------
    investigate: tuple[float, float, float] = (0.08, 0.30, 0.65)  # by report severity
    substantiate: tuple[float, float] = (-3.0, 0.5)  # logit = a + b x strain at the report
    noise_substantiated: float = 0.04
    inconclusive_share: float = 0.3
    case_share: float = 0.5
    case_months: tuple[float, float] = (3.0, 15.0)
    dv_report_share: float = 0.3
    visit_report_share: float = 0.6
    injury_report_share: float = 0.6
    street_report_share: float = 0.7
    found_share: float = 0.95

    # ---- school ---------------------------------------------------------------------------
    kindergarten_share: float = 0.85
    upper_secondary: tuple[float, float, float] = (0.60, 0.28, 0.12)  # secondary, voc., none
    dropout_per_week: float = 4e-5
    dropout_strain_coef: float = 0.35
    absence_days: float = 1.0  # mean days absent per term at strain 0
    absence_strain_coef: float = 0.22  # per level of mean strain over the term
    absence_min_days: int = 3

    # ---- recording --------------------------------------------------------------------
    lags: tuple[tuple[str, float, float], ...] = field(default_factory=_lags)
    urgent_max_days: float = 10.0  # outcome events are recorded within this
    finding_days: tuple[float, float] = (10.0, 30.0)  # outcome finding entered after
    backlog_per_year: float = 0.25  # backlog periods per source and district
    backlog_days: tuple[float, float] = (30.0, 120.0)
    backlog_late_days: float = 60.0  # everything occurring in a backlog: at least this late

    def lag(self, source: str) -> tuple[float, float]:
        """(median days, sigma) of a source's log-normal recording lag."""
        for name, median, sigma in self.lags:
            if name == source:
                return median, sigma
        raise KeyError(f"no recording lag for source {source!r}")
