"""Records to children: links joined strongest first, under the hard rules and decisions.

Plain connected components over every link above the threshold let one wrong link chain
whole families together: a nameless report that matches three siblings joins them all.
Here clusters grow one link at a time, strongest first, and a link is refused when the
two clusters it would join break a hard rule between any of their records
(``features/linkage/rules.py``) or hold a pair a person decided were different children.

Order: pairs a person decided were the same child, then pairs sharing a valid ID number
(the deterministic links), then the model's links by falling probability (ties by record
number, so the result is the same on every engine), and last the links on the family's
evidence alone, for a record still alone whose family has one child it can be. Each
record keeps how and how strongly it was first joined: the strongest link that joined it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from features.linkage import records as r
from features.linkage import schema as ls
from features.linkage.policy import LinkagePolicy
from features.linkage.rules import Birth, NameKey, Profile, may_join

LEFT = "uid_l"
RIGHT = "uid_r"
PROBABILITY = ls.MATCH_PROBABILITY
CLUSTER = ls.CLUSTER
# edge kinds in the order they are applied
ORDER = {ls.HOW_REVIEW: 0, ls.HOW_ID_NUMBER: 1, ls.HOW_MATCH: 2}
# a model link on the family's evidence alone: applied last, to sole candidates only
FAMILY = "family"
_HOW = {FAMILY: ls.HOW_MATCH}


@dataclass
class _Clusters:
    """Union-find over record numbers, with each root's members and rule profile."""

    parent: np.ndarray
    members: dict[int, list[int]]
    profiles: dict[int, Profile]
    apart: dict[int, set[int]]  # root -> records decided to be other children
    how: list[str | None]  # per record: how it was first joined
    strength: list[float | None]  # per record: the probability of that link

    def root(self, uid: int) -> int:
        parent = self.parent
        while parent[uid] != uid:
            parent[uid] = parent[parent[uid]]
            uid = parent[uid]
        return int(uid)

    def refused(self, a: int, b: int) -> bool:
        small, large = sorted((a, b), key=lambda root: len(self.members[root]))
        return bool(self.apart.get(large, set()).intersection(self.members[small]))

    def join(self, a: int, b: int, records: tuple[int, ...], kind: str, probability: float) -> None:
        """Join roots ``a`` and ``b`` by a link of ``records``: each of them not yet joined
        is now joined by this link (the strongest, as links come strongest first)."""
        for uid in records:
            if self.how[uid] is None:
                self.how[uid], self.strength[uid] = kind, probability
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))
        self.profiles[a].absorb(self.profiles.pop(b))
        if b in self.apart:
            self.apart.setdefault(a, set()).update(self.apart.pop(b))


def cluster_records(
    records: pl.DataFrame,
    profiles: dict[int, Profile],
    edges: pl.DataFrame,
    policy: LinkagePolicy,
    apart: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Each record's cluster, and how and how strongly it was joined.

    Parameters
    ----------
    records
        The records table (``features.linkage.records.comparison_records``).
    profiles
        Each record's own profile (``record_profiles``); the clusters' grow from them.
    edges
        Candidate links: ``uid_l``, ``uid_r``, ``match_probability``, ``how`` (``review``
        for a clerical "same child", ``id_number``, ``match``, or ``family``: above the
        threshold on the family's evidence alone, see ``_sole_candidates``).
    policy
        The hard rules to apply.
    apart
        Pairs (``uid_l``, ``uid_r``) decided to be different children: never joined.

    Returns
    -------
    pl.DataFrame
        ``uid``, ``cluster`` (the smallest uid of the record's cluster), ``how`` and
        ``match_probability`` (null and ``single`` for a record joined to nothing), and
        ``family_only`` (joined as its family's sole candidate: ``how`` is ``match``).
    """
    n = records.height
    clusters = _Clusters(
        parent=np.arange(n, dtype=np.int64),
        members={uid: [uid] for uid in range(n)},
        profiles={uid: profile.copy() for uid, profile in profiles.items()},
        apart=_apart(apart),
        how=[None] * n,
        strength=[None] * n,
    )
    edges = _demote_ambiguous(edges, profiles, policy)
    _apply_links(clusters, edges.filter(pl.col(ls.HOW) != FAMILY), policy)
    if policy.sole_candidate:
        _sole_candidates(clusters, profiles, edges.filter(pl.col(ls.HOW) == FAMILY), policy)
    roots = [clusters.root(uid) for uid in range(n)]
    smallest = {root: min(members) for root, members in clusters.members.items()}
    return pl.DataFrame(
        {
            r.UID: records[r.UID],
            CLUSTER: [smallest[root] for root in roots],
            ls.HOW: [_HOW.get(kind, kind) if kind else ls.HOW_SINGLE for kind in clusters.how],
            PROBABILITY: pl.Series(clusters.strength, dtype=pl.Float64),
            ls.FAMILY_ONLY: [kind == FAMILY for kind in clusters.how],
        }
    )


def _demote_ambiguous(
    edges: pl.DataFrame, profiles: dict[int, Profile], policy: LinkagePolicy
) -> pl.DataFrame:
    """A record known by little (no full birth date, no usable ID number) whose model links
    reach two children that cannot be one (a nameless or nicknamed report matching twins
    or same-name siblings) is not evidence for either: its links become ``family`` links,
    joined only when they all lie in one child (``_sole_candidates``)."""
    partners: dict[int, list[int]] = {}
    match = edges.filter(pl.col(ls.HOW) == ls.HOW_MATCH).select(LEFT, RIGHT)
    for left, right in match.iter_rows():
        partners.setdefault(left, []).append(right)
        partners.setdefault(right, []).append(left)
    ambiguous = [
        uid
        for uid, others in partners.items()
        if _known_by_little(profiles[uid]) and not _one_child(others, profiles, policy)
    ]
    if not ambiguous:
        return edges
    touched = pl.col(LEFT).is_in(ambiguous) | pl.col(RIGHT).is_in(ambiguous)
    demote = (pl.col(ls.HOW) == ls.HOW_MATCH) & touched
    return edges.with_columns(
        pl.when(demote).then(pl.lit(FAMILY)).otherwise(pl.col(ls.HOW)).alias(ls.HOW)
    )


def _known_by_little(profile: Profile) -> bool:
    return not profile.ids and all(birth.dayno is None for birth in profile.births)


def _one_child(uids: list[int], profiles: dict[int, Profile], policy: LinkagePolicy) -> bool:
    """Whether the records may all be one child under the hard rules."""
    return all(
        may_join(profiles[a], profiles[b], policy)
        for i, a in enumerate(uids)
        for b in uids[i + 1 :]
    )


def _apply_links(clusters: _Clusters, edges: pl.DataFrame, policy: LinkagePolicy) -> None:
    """Decisions, ID numbers, then the model's links by falling probability: each joins
    two clusters unless a decision or (for the model's) a hard rule refuses it."""
    ordered = edges.sort(
        pl.col(ls.HOW).replace_strict(ORDER, return_dtype=pl.Int8),
        pl.col(PROBABILITY), LEFT, RIGHT, descending=[False, True, False, False],
    )  # fmt: skip
    for left, right, probability, kind in ordered.select(
        LEFT, RIGHT, PROBABILITY, ls.HOW
    ).iter_rows():
        a, b = clusters.root(left), clusters.root(right)
        if a == b or clusters.refused(a, b):
            continue
        if kind == ls.HOW_MATCH and not may_join(
            clusters.profiles[a], clusters.profiles[b], policy
        ):
            continue
        clusters.join(a, b, (left, right), kind, probability)


def _sole_candidates(
    clusters: _Clusters, profiles: dict[int, Profile], edges: pl.DataFrame, policy: LinkagePolicy
) -> None:
    """Join a record still alone that the model links on family evidence to one child only.

    A record with neither name nor full birth date (a nameless hotline report) matches
    every child of its family equally. When all its partners above the threshold that
    are someone (a name or a birth date) lie in ONE child, the family has one child it can
    be, and it joins that child; when they lie in several, it stays for review.
    """
    candidates: dict[int, dict[int, float]] = {}
    for left, right, probability in edges.select(LEFT, RIGHT, PROBABILITY).iter_rows():
        for alone, other in ((left, right), (right, left)):
            known = profiles[other].names or profiles[other].births
            if len(clusters.members[clusters.root(alone)]) == 1 and known:
                found = candidates.setdefault(alone, {})
                root = clusters.root(other)
                found[root] = max(found.get(root, 0.0), probability)
    for alone, found in sorted(candidates.items()):
        if len(found) != 1:
            continue
        ((candidate, probability),) = found.items()
        a, root = clusters.root(alone), clusters.root(candidate)  # joins here move roots
        if a == root or clusters.refused(a, root):
            continue
        if may_join(clusters.profiles[a], clusters.profiles[root], policy):
            clusters.join(a, root, (alone,), FAMILY, probability)


def record_profiles(records: pl.DataFrame) -> dict[int, Profile]:
    """Each record's own profile: its name, birth date and usable ID number."""
    rows = records.select(
        r.UID, r.GIVEN_PINYIN, r.LAST_PINYIN, r.NICKNAME, r.BIRTH_YEAR, r.BIRTH_MONTH,
        r.BIRTH_DAY, r.BIRTH_DAYNO, r.ID, r.ID_USABLE,
    ).iter_rows()  # fmt: skip
    profiles: dict[int, Profile] = {}
    for uid, given, last, nickname, year, month, day, dayno, id_number, usable in rows:
        profile = Profile()
        if given is not None:
            profile.names.add(NameKey(given, last, bool(nickname)))
        if year is not None:
            profile.births.add(Birth(year, month, day, dayno))
        if usable and id_number is not None:
            profile.ids.add(id_number)
        profiles[uid] = profile
    return profiles


def _apart(pairs: pl.DataFrame | None) -> dict[int, set[int]]:
    apart: dict[int, set[int]] = {}
    if pairs is None:
        return apart
    for left, right in pairs.select(LEFT, RIGHT).iter_rows():
        apart.setdefault(left, set()).add(right)
        apart.setdefault(right, set()).add(left)
    return apart
