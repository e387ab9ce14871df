"""The pages' words for each closed vocabulary, built from the vocabularies themselves
(serving.vocabulary, models.flagging.Tier): every member has its words here, or the
test of this module fails; the templates look them up (``labels.html``) and translate
them through the message catalogue like any other message. ``N_`` marks a message for
extraction (``make messages``) without translating it here."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from serving.vocabulary import DecisionAction, OverrideReason, Role, Tier


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

# what the templates see as ``words``: each vocabulary's words by code
catalogue: Final[dict[str, dict[str, str]]] = {
    "role": {str(code): text for code, text in ROLE.items()},
    "tier": {str(code): text for code, text in TIER.items()},
    "tier_meaning": {str(code): text for code, text in TIER_MEANING.items()},
    "action": {str(code): text for code, text in ACTION.items()},
    "reason": {str(code): text for code, text in REASON.items()},
}
VOCABULARIES: Final[dict[str, type[StrEnum]]] = {
    "role": Role,
    "tier": Tier,
    "tier_meaning": Tier,
    "action": DecisionAction,
    "reason": OverrideReason,
}
