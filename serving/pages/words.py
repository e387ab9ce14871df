"""The pages' words for each closed vocabulary, built from the vocabularies themselves
(serving.vocabulary, models.flagging.Tier): every member has its words here, or the
test of this module fails; the templates look them up (``labels.html``) and translate
them through the message catalogue like any other message. ``N_`` marks a message for
extraction (``make messages``) without translating it here.

Also here: the partners' systems a record comes from (features.linkage.schema's
``KNOWN_SOURCES``), a child's recorded sex, and a link's probability in words
(``likelihood``): caseworkers read how sure the model was, never a bare number."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from features.corrections import CorrectionKind
from features.linkage.policy import LinkagePolicy
from features.separations import SeparationKind
from serving.vocabulary import (
    DecisionAction,
    Evidence,
    LinkRequestKind,
    OverrideReason,
    PairDecision,
    Role,
    Tier,
)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    return message


ROLE: Final = {
    Role.CASEWORKER: N_("caseworker"),
    Role.SUPERVISOR: N_("supervisor"),
    Role.ANALYST: N_("analyst"),
    Role.ADMIN: N_("administrator"),
    Role.RECORDS_OFFICER: N_("records officer"),
}
TIER: Final = {
    Tier.URGENT: N_("urgent"),
    Tier.HIGH: N_("high"),
    Tier.MODERATE: N_("moderate"),
    Tier.LOW: N_("low"),
}
TIER_MEANING: Final = {
    Tier.URGENT: N_("Among the highest scores: look at this child first."),
    Tier.HIGH: N_("A high score: look at this child soon."),
    Tier.MODERATE: N_("A middling score: not flagged by itself."),
    Tier.LOW: N_("A low score: not flagged."),
}
ACTION: Final = {
    DecisionAction.HOME_VISIT: N_("Home visit"),
    DecisionAction.REFERRAL_TO_SERVICES: N_("Referral to services"),
    DecisionAction.INVESTIGATION_REQUESTED: N_("Investigation requested"),
    DecisionAction.NO_ACTION: N_("No action"),
}
REASON: Final = {
    OverrideReason.KNOWLEDGE_NOT_IN_RECORDS: N_("I know what the records do not show"),
    OverrideReason.RECORDS_OUTDATED: N_("The records are out of date"),
    OverrideReason.RECORDS_WRONG: N_("A record behind the score is wrong"),
    OverrideReason.ALREADY_SERVED: N_("The family is already being served"),
    OverrideReason.SITUATION_CHANGED: N_("The child's situation has changed"),
    OverrideReason.OTHER: N_("Other (say why in the note)"),
}

# the partner systems of features.linkage.schema.KNOWN_SOURCES (a test checks they match)
SYSTEM: Final = {
    "welfare": N_("Child welfare"),
    "reports": N_("Mandatory reports"),
    "community": N_("Community child director"),
    "social_aid": N_("Social aid"),
    "education": N_("Education"),
    "health": N_("Health"),
    "police": N_("Police"),
    "philanthropy": N_("Philanthropy"),
}
# Beijing's districts (features.deployment.BEIJING_DISTRICTS; a test checks they match):
# a deployment's own districts without words here are shown by their code, marked English
DISTRICT: Final = {
    "Dongcheng": N_("Dongcheng"),
    "Xicheng": N_("Xicheng"),
    "Chaoyang": N_("Chaoyang"),
    "Haidian": N_("Haidian"),
    "Fengtai": N_("Fengtai"),
    "Shijingshan": N_("Shijingshan"),
    "Tongzhou": N_("Tongzhou"),
    "Shunyi": N_("Shunyi"),
    "Daxing": N_("Daxing"),
    "Changping": N_("Changping"),
    "Fangshan": N_("Fangshan"),
    "Mentougou": N_("Mentougou"),
    "Huairou": N_("Huairou"),
    "Pinggu": N_("Pinggu"),
    "Miyun": N_("Miyun"),
    "Yanqing": N_("Yanqing"),
}
# the fairness report's groups (models.fairness: area, hukou, sex, ethnicity, disability;
# districts have their own words above), as "attribute = group" on the model page
ATTRIBUTE: Final = {
    "area": N_("Area"),
    "hukou": N_("Hukou"),
    "sex": N_("Sex"),
    "ethnicity": N_("Ethnicity"),
    "disability": N_("Disability"),
    "district": N_("District"),
}
GROUP: Final = {
    "area:core": N_("core districts"),
    "area:inner": N_("inner districts"),
    "area:outlying": N_("outlying districts"),
    "hukou:local": N_("local hukou"),
    "hukou:nonlocal": N_("non-local hukou"),
    "hukou:none": N_("no hukou"),
    "hukou:unknown": N_("hukou not known"),
    "sex:F": N_("female"),
    "sex:M": N_("male"),
    "sex:U": N_("not recorded"),
    "ethnicity:han": N_("Han"),
    "ethnicity:minority": N_("an ethnic minority"),
    "ethnicity:unknown": N_("not recorded"),
    "disability:certified": N_("disability certified"),
    "disability:not certified": N_("no disability certified"),
}
# the queue's orders (serving.store.queue.ORDERS; a test checks they match)
ORDER: Final = {
    "rate": N_("Highest rate first"),
    "district": N_("By district, then highest rate"),
    "undecided": N_("Undecided first, then highest rate"),
}
# the model card's sections (models.reports.model_card_markdown), by their heading
CARD_SECTION: Final = {
    "Model details": N_("Model details"),
    "Intended use": N_("Intended use"),
    "Not intended use": N_("Not intended use"),
    "Label": N_("Label"),
    "Data": N_("Data"),
    "Linkage": N_("Linkage"),
    "Metrics (test block)": N_("Metrics (test block)"),
    "Fairness": N_("Fairness"),
    "Limitations": N_("Limitations"),
    "Necessity": N_("Necessity"),
    "Policy": N_("Policy"),
}
# the data contract's sex codes
SEX: Final = {"F": N_("female"), "M": N_("male"), "U": N_("not recorded")}

# a link's probability in words: the two upper bands are the pages' own wording; the
# link and review thresholds are the linkage policy's (LinkagePolicy), never a literal
ALMOST_CERTAIN: Final = 0.99
VERY_LIKELY: Final = 0.95
LIKELIHOOD: Final = (
    N_("almost certain"),
    N_("very likely"),
    N_("likely"),
    N_("uncertain"),
    N_("doubtful"),
)


def likelihood(probability: float, policy: LinkagePolicy) -> str:
    """How sure a match probability is, in words: almost certain, very likely, likely (at
    or above the policy's link threshold), uncertain (in its review band), doubtful."""
    bands = (ALMOST_CERTAIN, VERY_LIKELY, policy.link_threshold, policy.review_threshold)
    for floor, words in zip(bands, LIKELIHOOD, strict=False):
        if probability >= floor:
            return words
    return LIKELIHOOD[-1]


# the linkage review queue (serving.review): a pair's decision, a caseworker's request,
# what each comparison compared, the level it reached (the linkage model's own labels,
# features.linkage.model) and how far its weight moved the pair
PAIR_DECISION: Final = {
    PairDecision.SAME: N_("Same child"),
    PairDecision.DIFFERENT: N_("Different children"),
    PairDecision.UNSURE: N_("Not sure"),
}
LINK_REQUEST: Final = {
    LinkRequestKind.MERGE: N_("Two children are one child (merge)"),
    LinkRequestKind.SPLIT: N_("This child is two children (split)"),
}
EVIDENCE: Final = {
    Evidence.AGREES_STRONGLY: N_("agree strongly"),
    Evidence.AGREES: N_("agree"),
    Evidence.AGREES_WEAKLY: N_("agree slightly"),
    Evidence.NEUTRAL: N_("hardly moved the match"),
    Evidence.DISAGREES_WEAKLY: N_("disagree slightly"),
    Evidence.DISAGREES: N_("disagree"),
    Evidence.DISAGREES_STRONGLY: N_("disagree strongly"),
    Evidence.MISSING: N_("missing on one side"),
}
COMPARISON: Final = {
    "name": N_("Name"),
    "birth_date": N_("Birth date"),
    "sex": N_("Sex"),
    "district": N_("District"),
    "address": N_("Address"),
    "id_number": N_("ID number"),
    "family": N_("Guardian (name, phone)"),
}
LEVEL: Final = {
    "missing": N_("missing on one side"),
    "different": N_("different"),
    "same": N_("the same"),
    "same name": N_("same name"),
    "same pinyin": N_("same pinyin"),
    "nickname": N_("a nickname, same family name"),
    "pinyin within 2 edits": N_("pinyin within 2 letters"),
    "same date": N_("same date"),
    "day and month swapped": N_("day and month swapped"),
    "within 3 days": N_("within 3 days"),
    "same year and month": N_("same year and month"),
    "same year": N_("same year only"),
    "same address": N_("same address"),
    "address within 2 edits": N_("address within 2 characters"),
    "same ID number": N_("same ID number"),
    "one character apart": N_("one character apart"),
    "same guardian ID number": N_("same guardian ID number"),
    "same guardian phone": N_("same guardian phone"),
    "same guardian name": N_("same guardian name"),
}
CORRECTION: Final = {
    CorrectionKind.DISPUTED: N_("Disputed: not used by the score"),
    CorrectionKind.CORRECTED: N_("Corrected"),
    CorrectionKind.EXPUNGED: N_("Expunged"),
}
CORRECTION_MEANING: Final = {
    CorrectionKind.DISPUTED: N_(
        "disputed: confirmed wrong; kept in the history, marked, and no longer used by the score"
    ),
    CorrectionKind.CORRECTED: N_("corrected: used from now on with the values below"),
    CorrectionKind.EXPUNGED: N_(
        "expunged: by the retention policy or an order; gone from every page, score and "
        "training set (this cannot be undone)"
    ),
}
CHECK: Final = {  # models.monitoring.Check.kind: what the figures are
    "volume": N_("Records in the week before the batch (the usual: the trailing weeks' median)"),
    "late": N_("Median days from an event to its record"),
    "missing": N_("Share of records without this value"),
    "linkage": N_("Share of records linked this way"),
    "scores": N_("The 1-20 scores against the training population (PSI)"),
    "flags": N_("Children reaching the flagging tier (the usual: the last batches' mean)"),
    "drift": N_("A feature against the training population (PSI)"),
}
CHECK_MEANING: Final = {  # when a check is broken (models/default_monitoring.toml's defaults)
    "volume": N_(
        "A partner's records in the week before the batch, in all and in each district, "
        "against the median of the eight weeks before: none is a source gone silent, half "
        "or less halved, twice or more doubled, each only where chance would rarely do it."
    ),
    "late": N_(
        "A partner's median days from an event to its record: twice its usual delay and a "
        "week longer is recorded late."
    ),
    "missing": N_(
        "The share of a kind of record without a value it should carry: twenty points above "
        "its usual share is values missing."
    ),
    "linkage": N_(
        "The share of a partner's records linked by ID number, by the matching model or "
        "left single: fifteen points away from its usual share is linked differently."
    ),
    "scores": N_(
        "How far the batch's 1-20 scores have moved from the training population's "
        "(population stability index): 0.25 or more is shifted."
    ),
    "flags": N_(
        "The children of a district reaching the flagging tier against that district's "
        "mean over the last four batches: twice it or half it is rose or fell."
    ),
    "drift": N_(
        "How far a feature has moved from the training population (population stability "
        "index): under 0.1 stable, from 0.1 a moderate shift, from 0.25 shifted."
    ),
}
PROBLEM: Final = {  # models.monitoring.Check.problem
    "silent": N_("gone silent"),
    "halved": N_("halved"),
    "doubled": N_("doubled"),
    "late": N_("recorded late"),
    "missing": N_("values missing"),
    "linkage": N_("linked differently"),
    "shifted": N_("shifted"),
    "moderate": N_("a moderate shift"),
    "rose": N_("rose"),
    "fell": N_("fell"),
    "no_reference": N_("not checked: the model keeps no record of its training population"),
}
CHART: Final = {  # the monitoring page's charts over time (serving.pages.monitoring)
    "problems": N_("Checks broken, batch by batch"),
    "problems_line": N_("Checks broken"),
    "volume": N_("Records of each partner in the week before each batch"),
    "scores": N_("The 1-20 scores against the training population, batch by batch"),
    "scores_line": N_("Stability index of the scores"),
    "drift": N_("The feature that moved most in each batch"),
    "drift_line": N_("Largest stability index of a feature"),
    "major": N_("major shift"),
    "moderate": N_("moderate shift"),
    "flags": N_("Children reaching the flagging tier, all districts together"),
    "flags_line": N_("Children reaching the flagging tier"),
    "outcomes": N_("How the scores of each matured batch turned out"),
    "auc": N_("Ranking (area under the curve)"),
    "precision": N_("Share of the flagged with the outcome"),
    "observed": N_("Observed rate of the outcome"),
    "predicted": N_("Mean predicted rate"),
}

SEPARATION: Final = {
    SeparationKind.NOT_LIVING_WITH: N_("not living with the child"),
    SeparationKind.NO_CONTACT: N_("no contact with the child"),
    SeparationKind.RESUMED: N_("living with or in contact with the child again"),
}

# what the templates see as ``words``: each vocabulary's words by code
catalogue: Final[dict[str, dict[str, str]]] = {
    "role": {str(code): text for code, text in ROLE.items()},
    "tier": {str(code): text for code, text in TIER.items()},
    "tier_meaning": {str(code): text for code, text in TIER_MEANING.items()},
    "action": {str(code): text for code, text in ACTION.items()},
    "reason": {str(code): text for code, text in REASON.items()},
    "pair_decision": {str(code): text for code, text in PAIR_DECISION.items()},
    "link_request": {str(code): text for code, text in LINK_REQUEST.items()},
    "evidence": {str(code): text for code, text in EVIDENCE.items()},
    "correction": {str(code): text for code, text in CORRECTION.items()},
    "correction_meaning": {str(code): text for code, text in CORRECTION_MEANING.items()},
    "separation": {str(code): text for code, text in SEPARATION.items()},
    "check": dict(CHECK),
    "problem": dict(PROBLEM),
    "check_meaning": dict(CHECK_MEANING),
    "chart": dict(CHART),
    "comparison": dict(COMPARISON),
    "level": dict(LEVEL),
    "system": dict(SYSTEM),
    "sex": dict(SEX),
    "district": dict(DISTRICT),
    "card_section": dict(CARD_SECTION),
    "attribute": dict(ATTRIBUTE),
    "order": dict(ORDER),
    "group": dict(GROUP),
}
VOCABULARIES: Final[dict[str, type[StrEnum]]] = {
    "role": Role,
    "tier": Tier,
    "tier_meaning": Tier,
    "action": DecisionAction,
    "reason": OverrideReason,
    "pair_decision": PairDecision,
    "link_request": LinkRequestKind,
    "evidence": Evidence,
    "correction": CorrectionKind,
    "correction_meaning": CorrectionKind,
    "separation": SeparationKind,
}
