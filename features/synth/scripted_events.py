"""Events of the circumstance script: parents' statuses, registrations, guardianship,
dibao spells, disability certificates, abandoned infants and scripted placements.

Household circumstances are recorded for each child of the household, from the child's
birth (a status that began earlier is recorded as of birth) to its 18th birthday, and
only when they still held at start or began after it: ended history is not back-filled.
"""

from __future__ import annotations

import numpy as np

from features import schema as s
from features.synth.arrays import (
    NEVER,
    BoolArray,
    EventBlock,
    IntArray,
    Rng,
    block,
    detail_codes,
)
from features.synth.params import PARENT_EPISODES, SynthParams
from features.synth.population import Population
from features.synth.recording import delay, uniform_s
from features.synth.script import Script

STATE = s.GUARDIANS.index("state")


def _live(pop: Population, child: IntArray, time: IntArray) -> BoolArray:
    """Events at ``time`` that fall in the child's childhood (after birth, before 18)."""
    return (time >= pop.birth_s[child]) & (time < pop.adult_s[child]) & (time < NEVER)


def _events(
    event_type: str,
    pop: Population,
    time: IntArray,
    source: str,
    params: SynthParams,
    rng: Rng,
    **marks: IntArray | str | None,
) -> EventBlock:
    """One event per child at ``time`` (NEVER: none), where it falls in childhood."""
    child = np.arange(pop.n_children)
    keep = _live(pop, child, time)
    child, time = child[keep], time[keep]
    mark = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in marks.items()}
    recorded = time + delay(params, source, len(child), rng)
    return block(event_type, child, time, recorded, **mark)  # type: ignore[arg-type]


def scripted_blocks(
    params: SynthParams, pop: Population, script: Script, rng: Rng
) -> list[EventBlock]:
    """Every event that the circumstance script implies."""
    out = _parent_blocks(params, pop, script, rng)
    out.extend(_dibao_blocks(params, pop, script, rng))
    out.extend(_registration_blocks(params, pop, script, rng))
    out.extend(_care_blocks(params, pop, script, rng))
    out.append(
        _events("health.disability_certified", pop, script.disabled_at, "disability", params,
                rng, severity=script.disability_level,
                detail=detail_codes(s.DISABILITY_KINDS, script.disability_kind))
    )  # fmt: skip
    return out


def _parent_blocks(
    params: SynthParams, pop: Population, script: Script, rng: Rng
) -> list[EventBlock]:
    """A status event when a parent's episode starts (or at birth), 'returned' when it ends."""
    out: list[EventBlock] = []
    unit = pop.unit
    for parent in (0, 1):
        episode = script.episode[unit, parent]
        start, end = script.ep_start[unit, parent], script.ep_end[unit, parent]
        relevant = (episode > 0) & (end > np.maximum(pop.birth_s, 0))
        at = np.where(relevant, np.maximum(start, pop.birth_s), NEVER)
        code = detail_codes(PARENT_EPISODES, np.maximum(episode - 1, 0))
        out.append(_events("community.parent_status", pop, at, "parent_status", params, rng,
                           detail=code))  # fmt: skip
        back = np.where(relevant & (end < NEVER), end, NEVER)
        out.append(_events("community.parent_status", pop, back, "parent_status", params, rng,
                           detail="returned"))  # fmt: skip
    return out


def _dibao_blocks(
    params: SynthParams, pop: Population, script: Script, rng: Rng
) -> list[EventBlock]:
    start, end = script.dibao_start[pop.unit], script.dibao_end[pop.unit]
    relevant = (start < NEVER) & (end > np.maximum(pop.birth_s, 0))
    at = np.where(relevant, np.maximum(start, pop.birth_s), NEVER)
    stop = np.where(relevant, end, NEVER)
    return [
        _events("social_aid.dibao_start", pop, at, "social_aid", params, rng),
        _events("social_aid.dibao_end", pop, stop, "social_aid", params, rng),
    ]


def _registration_blocks(
    params: SynthParams, pop: Population, script: Script, rng: Rng
) -> list[EventBlock]:
    """Left-behind and unattended registrations, with the guardian designated for them."""
    n = pop.n_children
    guardian = script.guardian[pop.unit]
    lb, un = script.lb_reg, script.un_reg
    entrusted = np.where(lb < NEVER, lb + uniform_s(0.0, 30.0, n, rng), NEVER)
    ended = script.lb_reg_end
    returned = (ended < NEVER) & (ended == script.spells.lb_end[pop.unit])
    lb_back = np.where(returned, ended + uniform_s(0.0, 30.0, n, rng), NEVER)
    un_guard = np.where(un < NEVER, un + uniform_s(0.0, 30.0, n, rng), NEVER)
    un_end = script.spells.un_end[pop.unit]
    back = (un < NEVER) & (un_end < NEVER) & (guardian != STATE)
    un_back = np.where(back, un_end + uniform_s(0.0, 30.0, n, rng), NEVER)
    codes = detail_codes(s.GUARDIANS, guardian)
    return [
        _events("community.left_behind_registered", pop, lb, "registration", params, rng),
        _events("community.left_behind_ended", pop, ended, "registration", params, rng),
        _events("community.unattended_registered", pop, un, "registration", params, rng),
        _events("welfare.guardianship_change", pop, entrusted, "welfare", params, rng,
                detail=codes),
        _events("welfare.guardianship_change", pop, un_guard, "welfare", params, rng,
                detail=codes),
        _events("welfare.guardianship_change", pop, np.minimum(lb_back, un_back), "welfare",
                params, rng, detail="parent"),
    ]  # fmt: skip


def _care_blocks(
    params: SynthParams, pop: Population, script: Script, rng: Rng
) -> list[EventBlock]:
    """Orphans' guardians, abandoned infants' path, scripted institution placements."""
    n = pop.n_children
    orphan_at = np.maximum(script.guardian_at[pop.unit], pop.birth_s)
    orphan_codes = detail_codes(s.GUARDIANS, script.guardian[pop.unit])
    found = script.found_at
    state_at = np.where(found < NEVER, found + uniform_s(5.0, 30.0, n, rng), NEVER)
    adopted = script.adopted_at
    return [
        _events("welfare.guardianship_change", pop, orphan_at, "welfare", params, rng,
                detail=orphan_codes),
        _events("welfare.investigation_opened", pop, found, "welfare", params, rng,
                detail="abandonment"),
        _events("welfare.guardianship_change", pop, state_at, "welfare", params, rng,
                detail="state"),
        _events("welfare.institution_placement", pop, script.placed_at, "welfare", params, rng),
        _events("welfare.adoption", pop, adopted, "welfare", params, rng),
        _events("welfare.guardianship_change", pop, adopted, "welfare", params, rng,
                detail="parent"),
    ]  # fmt: skip
