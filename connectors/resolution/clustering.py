"""Constrained clustering of scored record pairs: :func:`cluster`, and what it returns.

Why not Splink's own connected-components clustering: it merges every pair above the
threshold transitively, so one mention that resembles two siblings glues the siblings
together, and a record with no ID number bridges two people who each carry a different,
valid ID number. :func:`cluster` instead takes edges best first, judges each merge on
the median weight over all scored pairs between the two clusters (a record must agree
with most of a person's records, not just one), refuses a merge that would put two
different identifiers, or two records that cannot be the same person (the father and
the mother named on one survey form), into one cluster, and does not guess between two
identified namesakes that fit a record equally well. Pairs between clusters that score
between the review and the match threshold come back as review candidates rather than
being merged or dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.resolution.cluster_state import Clusters, Scores, is_text

__all__ = ["AMBIGUOUS", "ClusterResult", "ReviewCandidate", "cluster"]


def match_weight(probability: float) -> float:
    """Match weight (log2 odds) of a match probability."""
    p = min(max(probability, 1e-15), 1 - 1e-15)
    return math.log2(p / (1 - p))


def _probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight))


@dataclass(frozen=True)
class ReviewCandidate:
    """Two clusters that might be one entity: the best-scoring record pair between them.

    ``probability`` is the linkage score (median pair weight) of the two clusters when
    the decision was made, as a probability.
    """

    left: int
    right: int
    probability: float
    reason: str | None = None


@dataclass
class ClusterResult:
    """``labels[i]`` is record i's cluster (the index of one of its records)."""

    labels: np.ndarray
    reviews: list[ReviewCandidate]
    refused: dict[str, int]  # high-scoring merges refused: identifier / group / rejected / ambiguous / guard
    nodes: np.ndarray | None = None  # the records clustered (None: all); the others kept their entity


AMBIGUOUS = "记录与两个已识别的人同样相符，无法自动判断"
"""Review reason when a record fits two identified people about equally well."""


def _clear_winner(
    cl: Clusters, scores: Scores, loose: int, target: int, weight: float, margin: float
) -> bool:
    """``loose`` fits ``target`` (at ``weight``) by ``margin`` better than any conflicting rival."""
    members = cl.members[loose]
    seen: set[int] = {loose, target}
    for u in members:
        for v in scores.neighbours.get(u, ()):
            rv = cl.find(v)
            if rv in seen:
                continue
            seen.add(rv)
            if (
                cl.anchored(rv)
                and cl.conflict(target, rv) is not None
                and weight - scores.linkage(members, cl.members[rv]) < margin
            ):
                return False
    return True


def cluster(
    n: int,
    edges: pd.DataFrame,
    *,
    match_threshold: float,
    review_threshold: float,
    identifiers: Sequence[str | None] | None = None,
    groups: Sequence[str | None] | None = None,
    roles: Sequence[str | None] | None = None,
    compatible_roles: frozenset[frozenset[str]] = frozenset(),
    existing: Sequence[str | None] | None = None,
    reviewed_pairs: Iterable[tuple[str, str]] = (),
    rejected_pairs: Iterable[tuple[str, str]] = (),
    ambiguity_margin: float = 3.0,
    guards: Iterable[tuple[int, int, str]] = (),
    second_round: Callable[[np.ndarray], tuple[pd.DataFrame, dict[tuple[int, int], str]]] | None = None,
) -> ClusterResult:
    """Cluster ``n`` records from scored ``edges`` (``unique_id_l/r``, ``match_weight``).

    1. Records of one ``existing`` entity (a key from an earlier run) start as one cluster.
    2. Records sharing an identifier are joined (deterministic linkage).
    3. A cluster with no identifier whose best identified candidate does not beat a
       conflicting second one by ``ambiguity_margin`` bits (two namesakes in one
       village, and nothing on the record to tell them apart) is *ambiguous*: it is not
       merged into either automatically, only proposed for review.
    4. Edges are taken best first. Two clusters merge when the median weight over all
       scored pairs between them reaches ``match_threshold`` (as a probability) and the
       merge would not combine two different identifiers, two incompatible records of
       one group, or two existing entities a reviewer said are different
       (``rejected_pairs``). Other cluster pairs whose median reaches
       ``review_threshold`` become review candidates, except where identifiers, groups or
       a rejection prove them different, and except pairs of existing entities already
       reviewed (``reviewed_pairs``).

    ``guards`` are record pairs ``(x, y, reason)`` that may be one entity but only by a
    reviewer's decision (twins; a record whose identifier was set aside because the rest
    of it contradicts the identifier's holder): a merge that would join them is refused
    and proposed for review with the reason. ``second_round``, given the labels after the
    first pass, returns more scored edges (evidence that only exists once the first pass
    has linked the people around a record, e.g. a parent through the child the form
    names) and a reason per edge; they are taken best first on the same clusters.

    Two existing entities end up in one cluster only when at most one of them holds an
    identifier: an entity known so far only from records without an ID number is
    provisional, and is absorbed when its identified counterpart turns up. The caller
    sees this as one label covering two existing keys.
    """
    none: list[str | None] = [None] * n
    rejected = {frozenset(x) for x in rejected_pairs}
    cl = Clusters(n, identifiers or none, groups or none, roles or none, compatible_roles, rejected)
    scores = Scores(edges)
    guard_list = list(guards)
    w_match, w_review = match_weight(match_threshold), match_weight(review_threshold)
    refused = {"identifier": 0, "group": 0, "rejected": 0, "ambiguous": 0, "guard": 0}

    if existing is not None:
        first: dict[str, int] = {}
        for i, key in enumerate(existing):
            if not is_text(key):
                continue
            j = first.setdefault(key, i)
            ri = cl.find(i)
            if j != i:
                ri = cl.union(cl.find(j), ri)
            cl.keys[ri] = {key}
    if identifiers is not None:
        # Records set aside by a guard keep their identifier out of this step: the caller
        # has already removed the identifiers it does not trust.
        by_id: dict[str, int] = {}
        for i, ident in enumerate(identifiers):
            if not is_text(ident):
                continue
            j = by_id.setdefault(ident, i)
            if j == i:
                continue
            ra, rb = cl.find(j), cl.find(i)
            if ra == rb:
                continue
            why = cl.conflict(ra, rb)
            if why is None:
                cl.union(ra, rb)
            else:
                refused[why] += 1

    for x, y, reason in guard_list:
        cl.guard(x, y, reason)

    for root in range(n):
        if cl.find(root) != root or cl.anchored(root):
            continue
        candidates: dict[int, float] = {}
        members = cl.members[root]
        for u in members:
            for v in scores.neighbours.get(u, ()):
                rv = cl.find(v)
                if rv != root and rv not in candidates and cl.anchored(rv):
                    candidates[rv] = scores.linkage(members, cl.members[rv])
        if len(candidates) < 2:
            continue
        ranked = sorted(candidates.items(), key=lambda kv: -kv[1])
        best_root, best = ranked[0]
        if best < w_match:
            continue
        rivals = [w for r, w in ranked[1:] if cl.conflict(best_root, r) is not None]
        if rivals and best - rivals[0] < ambiguity_margin:
            cl.ambiguous[root] = True

    pending: list[tuple[int, int, float, str | None]] = []

    def take(frame_: pd.DataFrame, reasons: dict[tuple[int, int], str]) -> None:
        """Judge the edges of ``frame_`` best first; merge, or keep as review candidates."""
        if not len(frame_):
            return
        # Best first; ties broken by record indices, not by the order DuckDB's threads
        # happened to return rows in, so that the same input always clusters the same.
        order = np.lexsort(
            (
                frame_["unique_id_r"].to_numpy(),
                frame_["unique_id_l"].to_numpy(),
                -np.round(frame_["match_weight"].to_numpy(dtype=np.float64), 9),
            )
        )
        left = frame_["unique_id_l"].to_numpy()[order].tolist()
        right = frame_["unique_id_r"].to_numpy()[order].tolist()
        weight = frame_["match_weight"].to_numpy()[order].tolist()
        for a, b, w in zip(left, right, weight, strict=True):
            if w < w_review:
                break
            ra, rb = cl.find(a), cl.find(b)
            if ra == rb:
                continue
            why = cl.conflict(ra, rb)
            if why is not None:
                if w >= w_match:
                    refused[why] += 1
                continue
            avg = scores.linkage(cl.members[ra], cl.members[rb])
            if avg < w_review:
                continue
            reason = reasons.get((a, b) if a < b else (b, a))
            guard = cl.guarded(ra, rb)
            if guard is not None:
                if avg >= w_match:
                    refused["guard"] += 1
                pending.append((a, b, avg, guard))
                continue
            if avg >= w_match:
                blocked = (cl.ambiguous[ra] and not cl.anchored(ra) and cl.anchored(rb)) or (
                    cl.ambiguous[rb] and not cl.anchored(rb) and cl.anchored(ra)
                )
                if blocked and reason is not None:
                    # Second-round evidence (the family) may settle what names could not.
                    loose, target = (ra, rb) if not cl.anchored(ra) else (rb, ra)
                    blocked = not _clear_winner(cl, scores, loose, target, avg, ambiguity_margin)
                if not blocked:
                    cl.union(ra, rb)
                    continue
                refused["ambiguous"] += 1
                reason = reason or AMBIGUOUS
            pending.append((a, b, avg, reason))

    take(edges, {})
    if second_round is not None:
        now = cl.roots()
        more, reasons = second_round(now)
        if len(more):
            scores.add(more)
            take(more, reasons)

    labels = cl.roots()
    reviewed = {frozenset(x) for x in reviewed_pairs}
    best_pairs: dict[tuple[int, int], ReviewCandidate] = {}
    for a, b, w, cause in pending:
        ra, rb = int(labels[a]), int(labels[b])
        if ra == rb or cl.conflict(ra, rb) is not None:
            continue
        ka, kb = cl.keys[ra] or set(), cl.keys[rb] or set()
        if any(frozenset((x, y)) in reviewed for x in ka for y in kb):
            continue
        pair = (min(ra, rb), max(ra, rb))
        p = _probability(w)
        if pair not in best_pairs or best_pairs[pair].probability < p:
            best_pairs[pair] = ReviewCandidate(
                a, b, p, cause or (best_pairs[pair].reason if pair in best_pairs else None)
            )
    reviews = sorted(best_pairs.values(), key=lambda r: -r.probability)
    return ClusterResult(labels=labels, reviews=reviews, refused=refused)
