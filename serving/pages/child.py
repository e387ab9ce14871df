"""A child's page: the score, the factors behind it and the records behind each factor,
the case history and the decisions. It calls the same domain functions as the API
(serving.risk, serving.cases): never a second path to the data, and the same audit
records.

The child page alone shows who the child is (serving.identity: name, ID number, age,
household), and beside every record the partner system it came from, marked where the
record's link is one to weigh: a records officer's decision, or the model below the
linkage policy's link threshold (its probability in words, serving.pages.words)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from features.linkage import schema as ls
from features.linkage.policy import LinkagePolicy
from features.vocabulary import DETAIL_LABELS, EVENT_LABELS
from models.flagging import TIERS
from serving import cases, corrections, separations
from serving.access import admit
from serving.audit import Action
from serving.identity import read_identity
from serving.limits import IDENTIFIER, path
from serving.overview import is_severe, overview
from serving.pages import words
from serving.pages.household import member_lines
from serving.pages.render import language_of, render
from serving.pages.session import Session
from serving.risk import stored_risk
from serving.service import service_of
from serving.vocabulary import DISTRICT_ROLES, DecisionAction, OverrideReason, Role, codes
from serving.whatif import statement

router = APIRouter(include_in_schema=False)
SHOWN: Final = 6  # the strongest factors shown open; the rest are folded


def event_labeller(language: str) -> Callable[[str, str | None], str]:
    def label(event_type: str, detail: str | None) -> str:
        kind = EVENT_LABELS.get(str(event_type))
        words = (kind.zh if language == "zh-CN" else kind.en) if kind else str(event_type)
        code = DETAIL_LABELS.get(str(detail)) if detail else None
        if code is None:
            return words
        return f"{words}（{code.zh}）" if language == "zh-CN" else f"{words} ({code.en})"

    return label


REVIEWED: Final = "review"  # link_mark's answer for a records officer's decision


def _link_marker(policy: LinkagePolicy) -> Callable[[str | None, float | None], str | None]:
    """What a record's link needs said beside it: ``REVIEWED`` (a records officer joined
    it), the probability in words (the model joined it below the link threshold, as a
    cluster member joined through another record can be), or None (an ID number, the
    model at or above the threshold, a record alone, or no link at all)."""

    def mark(how: str | None, probability: float | None) -> str | None:
        if how == ls.HOW_REVIEW:
            return REVIEWED
        if how != ls.HOW_MATCH or probability is None or probability >= policy.link_threshold:
            return None
        return words.likelihood(probability, policy)

    return mark


@router.get("/children/{child_id}", response_class=HTMLResponse)
def child_page(
    request: Request,
    child_id: Annotated[str, path(IDENTIFIER)],
    signed_in: Session,
    as_of: Annotated[date | None, Query()] = None,
    saved: Annotated[str | None, Query(max_length=32)] = None,  # compared, never shown
    corrected: Annotated[str | None, Query(max_length=32)] = None,  # compared, never shown
    separated: Annotated[str | None, Query(max_length=32)] = None,  # compared, never shown
) -> Response:
    caller = signed_in.caller
    admit(caller, Action.READ_RISK, DISTRICT_ROLES)
    service = service_of(request)
    language = language_of(request)
    risk = stored_risk(service, caller, child_id, as_of, language, None, asks_what_if=True)
    who = read_identity(service, caller, child_id)
    _, grouped = cases.read_history(service, caller, child_id)
    decisions = cases.read_decisions(service, caller, child_id)
    standing = cases.read_standing(service, caller, child_id)
    said = corrections.read_corrections(service, caller, child_id)
    markings = separations.read_separations(service, caller, child_id)
    now = risk.view.score_1_20
    factors = risk.view.factors
    up = [f for f in factors if f.log_odds > 0]
    return render(
        request,
        "child.html",
        user=caller.principal,
        csrf=signed_in.csrf,
        who=who,
        sources=risk.sources,
        link_mark=_link_marker(service.linkage),
        risk=risk.view,
        flagged=risk.flagged,
        version=risk.version,
        up=up[:SHOWN],
        up_more=up[SHOWN:],
        down=[f for f in factors if f.log_odds < 0],
        added=sum(f.points for f in factors),
        overview=overview(grouped, standing.scores),
        capacity=standing.capacity,
        flag_from=service.flagging.flag_from,
        reaches_flagging=TIERS.index(risk.view.tier) >= TIERS.index(service.flagging.flag_from),
        severe=is_severe,
        widest=max((abs(f.log_odds) for f in factors), default=1.0) or 1.0,
        events={event["event_id"]: event for rows in grouped.values() for event in rows},
        history=grouped,
        decisions=decisions,
        decision_child=child_id,
        saved=next((d for d in decisions if str(d["id"]) == saved), None),  # this child's
        actions=codes(DecisionAction),
        reasons=codes(OverrideReason),
        per_hundred=risk.view.probability * 100,
        event_label=event_labeller(language),
        horizon=risk.horizon_days,
        what_if=risk.what_if,
        said=lambda without: statement(without, now, language),
        corrections=said,
        just_corrected=next((c for c in said if str(c["id"]) == corrected), None),
        can_correct=caller.principal.role == Role.SUPERVISOR,
        labels_of={f.factor: f.fact for f in factors},
        members=member_lines(who, risk.what_if, markings),
        just_separated=next((m for m in markings if str(m["id"]) == separated), None),
    )
