"""Every rate and coefficient of the synthetic generator, in one frozen dataclass.

Rates are per child-week unless a name says otherwise; delays are in days; log rate
ratios are natural logs. ``docs/synthetic-data.md`` explains what each one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from features import schema as s

GENERATOR_VERSION: Final = "1"

# Age bands (years at the start of a week): 0, 1-2, 3-5, 6-11, 12-17; band 5 = not
# alive yet or already 18 (every rate is 0 there).
AGE_BAND_NAMES: Final = ("0", "1-2", "3-5", "6-11", "12-17")
AGE_BAND_EDGE_DAYS: Final = (365, 1096, 2192, 4383)
N_BANDS: Final = 5
INACTIVE_BAND: Final = 5

# Parent episode codes used inside the script: 0 = no episode, i + 1 = PARENT_STATUSES[i].
PARENT_EPISODES: Final = tuple(code for code in s.PARENT_STATUSES if code != "returned")
UNAVAILABLE: Final = ("deceased", "incarcerated", "ill_or_disabled", "drug_rehab", "contact_lost")

Band5 = tuple[float, float, float, float, float]


@dataclass(frozen=True)
class OrdinaryKind:
    """One kind of ordinary (non-outcome) event drawn from a weekly rate.

    rate = per_week x age_rr[band] x crisis_rr**in_crisis x exp(risk_coef x child risk)
    x reporting bias (when ``biased``) x the group's modulator: ``routine`` 1,
    ``trouble`` exp(trouble_stress_coef x family stress), ``registered`` 1 while the
    child is registered left-behind, unattended or on dibao, else 0.
    """

    name: str  # short label used in code and docs
    event_type: str  # catalogue event type
    detail: str | None  # fixed detail code (the reporter of a report), or None
    group: str  # "routine", "trouble" or "registered"
    per_week: float  # base rate per child-week
    age_rr: Band5  # rate ratio per age band
    crisis_rr: float  # rate ratio while the family is in crisis
    risk_coef: float  # log rate ratio per standard deviation of child risk
    biased: bool  # seen less in outlying districts and nonlocal families


def _kind(
    name: str,
    event_type: str,
    group: str,
    per_week: float,
    age_rr: Band5 = (1.0, 1.0, 1.0, 1.0, 1.0),
    crisis_rr: float = 1.0,
    risk_coef: float = 0.0,
    biased: bool = False,
    detail: str | None = None,
) -> OrdinaryKind:
    return OrdinaryKind(
        name, event_type, detail, group, per_week, age_rr, crisis_rr, risk_coef, biased
    )


_REPORT_AGE: Final[dict[str, Band5]] = {
    "school": (0.0, 0.0, 0.0, 1.0, 1.0),
    "kindergarten": (0.0, 0.0, 1.0, 0.0, 0.0),
    "hospital": (2.0, 1.3, 1.0, 0.8, 0.8),
    "police": (0.5, 0.5, 0.7, 1.0, 1.5),
    "hotline": (0.5, 0.5, 0.8, 1.0, 1.6),
}
_REPORT_RATE: Final = {
    "school": 2.5e-4,
    "kindergarten": 2.5e-4,
    "hospital": 1.5e-4,
    "police": 1.0e-4,
    "neighbor": 1.0e-4,
    "family": 6.0e-5,
    "community": 1.0e-4,
    "hotline": 8.0e-5,
    "other": 4.0e-5,
}
BIASED_REPORTERS: Final = ("school", "kindergarten", "hospital")


def _report_kinds() -> tuple[OrdinaryKind, ...]:
    return tuple(
        _kind(
            f"report_{who}",
            "report.concern",
            "trouble",
            _REPORT_RATE[who],
            _REPORT_AGE.get(who, (1.0, 1.0, 1.0, 1.0, 1.0)),
            crisis_rr=25.0,
            risk_coef=1.0,
            biased=who in BIASED_REPORTERS,
            detail=who,
        )
        for who in s.REPORTERS
    )


def default_ordinary_kinds() -> tuple[OrdinaryKind, ...]:
    """The ordinary event kinds and their rates (see OrdinaryKind for the formula)."""
    young: Band5 = (2.0, 1.5, 1.0, 0.6, 0.5)
    return (
        *_report_kinds(),
        _kind("health_visit", "health.visit", "routine", 1 / 52, (4, 2, 1, 0.6, 0.5), biased=True),
        _kind("home_visit", "community.home_visit", "routine", 0.2 / 52),
        _kind("injury_accidental", "health.injury", "routine", 2.5e-3, (0.6, 1.3, 1, 0.8, 0.9),
              crisis_rr=1.5, biased=True),
        _kind("home_visit_concern", "community.home_visit", "trouble", 2e-4, crisis_rr=8.0,
              risk_coef=0.6),
        _kind("dv_call", "police.domestic_violence_call", "trouble", 1.2e-4, crisis_rr=10.0,
              risk_coef=0.6),
        _kind("injury_unknown", "health.injury", "trouble", 2e-4, young, 3.0, 0.3, True),
        _kind("injury_suspicious_minor", "health.injury", "trouble", 1e-4, young, 8.0, 0.7),
        _kind("malnutrition", "health.malnutrition", "trouble", 5e-5, (2, 2, 1, 0.4, 0.3),
              4.0, 0.5),
        _kind("mental_health", "health.mental_health", "trouble", 1.5e-4, (0, 0, 0.1, 0.5, 1.5),
              3.0, 0.4),
        _kind("missing_runaway", "police.missing_report", "trouble", 6e-5, (0, 0.3, 0.8, 0.8, 3),
              5.0, 0.5),
        _kind("street_child", "police.street_child_found", "trouble", 1.5e-5, (0, 0, 0, 0.3, 1),
              5.0, 1.0),
        _kind("dropout", "education.dropout", "trouble", 1.5e-4, (0, 0, 0, 0, 1), 4.0, 0.8),
        _kind("assistance_emergency", "social_aid.temporary_assistance", "trouble", 3e-5,
              crisis_rr=5.0, risk_coef=0.3),
        _kind("home_visit_registered", "community.home_visit", "registered", 0.12),
        _kind("assistance_registered", "social_aid.temporary_assistance", "registered", 6e-3,
              crisis_rr=2.0),
    )  # fmt: skip


# contract 1.1's support: (kind name, event type, detail, group, per week, crisis RR,
# median yuan or None when no amount is recorded). Support follows registration (dibao,
# left-behind, unattended) and, for charities' medical aid, a family's trouble.
_EMPLOY, _HOUSE, _CHARITY = (
    "social_aid.employment_support",
    "social_aid.housing_support",
    ("philanthropy.aid"),
)
_SUPPORT: Final = (
    ("job_referral", _EMPLOY, "job_referral", "registered", 0.006, 1.0, None),
    ("vocational_training", _EMPLOY, "vocational_training", "registered", 0.0045, 1.0, 2000.0),
    ("wage_subsidy", _EMPLOY, "wage_subsidy", "registered", 0.0045, 1.0, 1500.0),
    ("rent_subsidy", _HOUSE, "rent_subsidy", "registered", 0.009, 1.5, 1200.0),
    ("public_rental", _HOUSE, "public_rental", "registered", 0.0015, 1.5, None),
    ("repair", _HOUSE, "repair", "registered", 0.0015, 1.0, 8000.0),
    ("charity_basic_living", _CHARITY, "basic_living", "registered", 0.015, 2.0, 800.0),
    ("charity_medical", _CHARITY, "medical", "trouble", 3e-5, 3.0, 3000.0),
    ("charity_education", _CHARITY, "education", "registered", 0.009, 1.0, 1000.0),
    ("charity_employment", _CHARITY, "employment", "registered", 0.0015, 1.0, 1000.0),
    ("charity_housing", _CHARITY, "housing", "registered", 0.0015, 1.5, 3000.0),
)  # fmt: skip
SUPPORT_YUAN: Final = {name: median for name, *_, median in _SUPPORT}  # None: no amount


def default_support_kinds() -> tuple[OrdinaryKind, ...]:
    """Contract 1.1's support kinds, drawn like ordinary events from their own stream."""
    older: Band5 = (0.6, 0.8, 1.0, 1.2, 1.5)  # families of older children ask more often
    return tuple(
        _kind(name, event_type, group, per_week, older, crisis_rr, detail=detail)
        for name, event_type, detail, group, per_week, crisis_rr, _ in _SUPPORT
    )


def district_populations() -> tuple[tuple[str, float], ...]:
    """Beijing's 16 districts with their 2020 census resident population, in 10 000s: the
    district weights of both generators."""
    return (
        ("Dongcheng", 70.9), ("Xicheng", 110.6), ("Chaoyang", 345.2), ("Fengtai", 201.9),
        ("Shijingshan", 56.8), ("Haidian", 313.3), ("Mentougou", 39.3), ("Fangshan", 131.3),
        ("Tongzhou", 184.0), ("Shunyi", 132.4), ("Changping", 226.9), ("Daxing", 199.4),
        ("Huairou", 44.1), ("Pinggu", 45.7), ("Miyun", 52.8), ("Yanqing", 34.5),
    )  # fmt: skip


def _delays() -> tuple[tuple[str, float, float], ...]:
    # (source, shortest, longest) recording delay in days; drawn as low + (high-low) u^2.
    return (
        ("report", 0.0, 2.0), ("police", 0.0, 1.0), ("welfare", 1.0, 10.0),
        ("home_visit", 0.0, 30.0), ("parent_status", 14.0, 240.0),
        ("registration", 7.0, 60.0), ("social_aid", 3.0, 30.0), ("education", 0.0, 14.0),
        ("health", 0.0, 3.0), ("disability", 7.0, 60.0), ("outcome", 0.0, 2.0),
        ("philanthropy", 7.0, 45.0),
    )  # fmt: skip


@dataclass(frozen=True)
class SynthParams:
    """Every rate and coefficient of the generator (defaults give a 1-3% base rate)."""

    # ---- population -------------------------------------------------------------------
    districts: tuple[tuple[str, float], ...] = field(default_factory=district_populations)
    household_sizes: tuple[float, float, float] = (0.65, 0.30, 0.05)  # 1, 2, 3 children
    sibling_gap_years: tuple[float, float] = (1.5, 6.0)  # gap between siblings' births
    hukou_core: tuple[float, float, float, float] = (0.75, 0.22, 0.015, 0.015)  # HUKOU_VALUES
    hukou_inner: tuple[float, float, float, float] = (0.60, 0.37, 0.015, 0.015)
    hukou_outlying: tuple[float, float, float, float] = (0.58, 0.39, 0.015, 0.015)
    ethnicity: tuple[float, float, float] = (0.955, 0.043, 0.002)  # han, minority, unknown
    sex: tuple[float, float, float] = (0.484, 0.513, 0.003)  # F, M, U
    null_household_share: float = 0.03  # household_id unknown to the source systems
    family_risk_share: float = 0.75  # child risk = a x family risk + sqrt(1-a^2) x own noise

    # ---- latent weekly crisis chain (one per household) -----------------------------
    crisis_onset_logit: float = -5.9  # logit P(calm -> crisis) per week at risk 0, stress 0
    crisis_onset_risk: float = 0.9  # per SD of family risk
    crisis_onset_stress: float = 0.6  # per unit of family stress
    crisis_exit_logit: float = -2.71  # logit P(crisis -> calm) per week (mean ~16 weeks)
    crisis_exit_stress: float = -0.3  # stress makes crises last longer

    # ---- outcome hazard (urgent intervention) -----------------------------------------
    outcome_per_week: float = 1.65e-4  # base rate per week (risk 0, stress 0, calm, age 6-11)
    outcome_risk_coef: float = 1.0  # log rate ratio per SD of child risk
    outcome_age_log_rr: Band5 = (0.8, 0.4, 0.0, -0.2, 0.1)  # by age band
    outcome_stress_coef: float = 0.3  # per unit of family stress
    outcome_disability_log_rr: float = 0.4  # children with a certified disability
    crisis_multiplier: float = 20.0  # rate ratio while the family is in crisis
    crisis_young_log_rr: float = 0.5  # extra log rate ratio in crisis for children under 3
    away_multiplier: float = 0.25  # rate ratio while in foster/institution care or adopted
    # mix of outcome kinds by age band: removal, substantiated severity-3 finding, rescue,
    # suspicious injury of severity >= 2
    outcome_mix: tuple[tuple[float, float, float, float], ...] = (
        (0.35, 0.25, 0.05, 0.35),
        (0.30, 0.30, 0.04, 0.36),
        (0.30, 0.36, 0.03, 0.31),
        (0.25, 0.45, 0.03, 0.27),
        (0.22, 0.48, 0.08, 0.22),
    )
    removal_severity: tuple[float, float, float] = (0.2, 0.4, 0.4)  # severity 1, 2, 3
    outcome_injury_severe_share: float = 0.3  # severity 3 (else 2) among outcome injuries
    foster_share: float = 0.55  # placement after removal: foster (else institution)
    reunify_share: float = 0.85  # removals ending in reunification
    adoption_share_under_3: float = 0.25  # of the rest, adopted (under 3), else stay away
    reunify_months: tuple[float, float] = (3.0, 24.0)  # time in care before reunification
    adoption_months: tuple[float, float] = (9.0, 36.0)  # time in care before adoption
    removal_state_guardian_share: float = 0.25  # removals leading to state guardianship

    # ---- family stress (one unit ~ one serious adversity) -------------------------------
    stress_by_episode: tuple[float, ...] = (0.2, 0.6, 0.8, 0.4, 1.0, 0.6)  # PARENT_EPISODES
    stress_dibao: float = 0.5  # while on dibao
    stress_left_behind_outlying: float = 0.4  # left-behind x outlying district interaction
    stress_left_behind: float = 0.2  # left-behind anywhere
    stress_unattended: float = 0.5  # both parents unavailable

    # ---- circumstances (per household unless noted) ------------------------------------
    couple_migration_by_area: tuple[float, float, float] = (0.004, 0.012, 0.06)
    couple_migration_hukou_rr: tuple[float, float, float, float] = (1.0, 0.15, 0.5, 0.5)
    joint_death: float = 0.0015  # both parents die together (orphans)
    unattended_pair: float = 0.004  # both parents become unavailable (unattended children)
    # per-parent probability of one episode, (father, mother), in PARENT_EPISODES order
    episode_father: tuple[float, ...] = (0.05, 0.006, 0.008, 0.010, 0.002, 0.003)
    episode_mother: tuple[float, ...] = (0.02, 0.004, 0.0015, 0.010, 0.0008, 0.005)
    episode_risk_coef: tuple[float, ...] = (0.1, 0.2, 0.5, 0.3, 0.6, 0.5)  # log RR per SD
    migration_area_rr: tuple[float, float, float] = (0.2, 0.4, 1.0)  # core, inner, outlying
    episode_return_share: tuple[float, ...] = (0.6, 0.0, 0.9, 0.3, 0.9, 0.2)  # parent returns
    episode_years: tuple[tuple[float, float], ...] = (  # episode length when it ends
        (1.0, 6.0), (0.0, 0.0), (0.5, 5.0), (0.5, 3.0), (1.5, 2.5), (0.5, 5.0),
    )  # fmt: skip
    dibao: float = 0.03  # household ever on dibao (local or no hukou)
    dibao_nonlocal_rr: float = 0.1  # nonlocal families are rarely eligible
    dibao_risk_coef: float = 0.7  # log RR per SD of family risk
    dibao_mean_years: float = 3.0  # mean spell length (exponential)
    disability: float = 0.015  # child has a disability certified at some point
    disability_age_years: tuple[float, float] = (0.5, 12.0)  # age at certification
    disability_levels: tuple[float, float, float, float] = (0.15, 0.25, 0.30, 0.30)  # 1-4
    disability_kinds: tuple[float, ...] = (0.25, 0.25, 0.08, 0.10, 0.07, 0.10, 0.15)
    abandoned: float = 0.004  # infants born in the window (single-child households)
    abandoned_adoption_share: float = 0.4  # adopted later
    orphan_guardians: tuple[float, ...] = (0.0, 0.55, 0.25, 0.15, 0.05)  # GUARDIANS
    unattended_guardians: tuple[float, ...] = (0.0, 0.5, 0.3, 0.05, 0.15)
    left_behind_guardians: tuple[float, ...] = (0.0, 0.75, 0.2, 0.0, 0.05)
    left_behind_max_age_years: float = 16.0  # left-behind registration ends at 16

    # ---- ordinary events ----------------------------------------------------------------
    ordinary_kinds: tuple[OrdinaryKind, ...] = field(default_factory=default_ordinary_kinds)
    support_kinds: tuple[OrdinaryKind, ...] = field(default_factory=default_support_kinds)
    support_yuan_sigma: float = 0.4  # log-normal spread of support amounts around the median
    trouble_stress_coef: float = 0.3  # log RR of "trouble" kinds per unit of family stress
    bias_outlying: float = 0.7  # schools/kindergartens/hospitals: outlying districts
    bias_nonlocal: float = 0.75  # ... nonlocal families
    bias_no_hukou: float = 0.6  # ... families with no registration
    missing_mark_share: float = 0.02  # reports/visits/DV calls with severity not recorded
    report_severity_calm: tuple[float, float, float] = (0.55, 0.35, 0.10)  # severity 1-3
    report_severity_crisis: tuple[float, float, float] = (0.25, 0.45, 0.30)
    visit_severity_calm: tuple[float, float, float, float] = (0.85, 0.11, 0.03, 0.01)  # 0-3
    visit_severity_crisis: tuple[float, float, float, float] = (0.35, 0.30, 0.22, 0.13)
    investigate_by_severity: tuple[float, float, float] = (0.15, 0.40, 0.75)
    allegations: tuple[float, ...] = (0.45, 0.25, 0.05, 0.13, 0.04, 0.08)  # ALLEGATIONS
    substantiated_calm: float = 0.20  # share of ordinary findings substantiated
    substantiated_crisis: float = 0.45
    inconclusive_share: float = 0.25  # of the findings not substantiated
    substantiated_severity: tuple[float, float, float] = (0.15, 0.45, 0.40)  # 0-2
    case_open_share: float = 0.6  # substantiated findings that open a case
    case_months: tuple[float, float] = (3.0, 18.0)  # case length
    dv_report_share: float = 0.3  # DV calls followed by a police report
    visit_report_share: float = 0.7  # severity-3 home visits followed by a report
    street_report_share: float = 0.8  # street children followed by a police report
    found_share: float = 0.97  # runaways/lost children found (police.found)
    injury_report_share: float = 0.5  # minor suspicious injuries reported by the hospital
    kindergarten_share: float = 0.88  # children who attend kindergarten (unbiased families)
    upper_secondary: tuple[float, float, float] = (0.65, 0.28, 0.07)  # secondary, voc., none
    absence_base_days: float = 1.2  # mean days absent per term when calm
    absence_crisis_days: float = 1.5  # extra mean days per crisis week in the term
    absence_risk_coef: float = 0.3  # log RR of absence days per SD of child risk
    absence_min_days: int = 3  # terms with fewer days absent are not recorded
    assistance_yuan_median: float = 1500.0  # temporary assistance amount
    assistance_yuan_sigma: float = 0.6  # log-normal spread

    # ---- recording --------------------------------------------------------------------
    delays: tuple[tuple[str, float, float], ...] = field(default_factory=_delays)
    finding_delay_days: tuple[float, float] = (5.0, 45.0)  # finding entered after incident
    tail_share: float = 0.03  # ordinary events recorded very late
    tail_days: tuple[float, float] = (90.0, 720.0)  # ... by this many days
    backfill_days: float = 180.0  # events before start are back-filled within this

    def delay_range(self, source: str) -> tuple[float, float]:
        for name, low, high in self.delays:
            if name == source:
                return low, high
        raise KeyError(f"no recording delay for source {source!r}")
