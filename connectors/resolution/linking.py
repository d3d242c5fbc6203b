"""Score and cluster a frame: :func:`link`, blocked pairs first, then records against whole candidates.

The glue between :mod:`connectors.resolution.scoring` and
:mod:`connectors.resolution.clustering`: which records a run must reconsider (all, or on
an incremental run only those the fresh records can affect), which extra pairs pass two
scores against every record of an identified person, and the collective second round
(evidence from the people around a record), all in record indices of the whole frame
translated to and from the clustered subset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd

from connectors.resolution.cluster_state import is_text
from connectors.resolution.clustering import ClusterResult, ReviewCandidate, cluster, match_weight
from connectors.resolution.scoring import EDGE_COLUMNS, Scorer
from connectors.resolution.spec import LinkageSpec

__all__ = ["Collective", "link"]


def link(
    frame: pd.DataFrame,
    spec: LinkageSpec,
    model: dict[str, Any],
    *,
    match_threshold: float,
    review_threshold: float,
    existing: Sequence[str | None] | None = None,
    fresh: np.ndarray | None = None,
    reviewed_pairs: Iterable[tuple[str, str]] = (),
    rejected_pairs: Iterable[tuple[str, str]] = (),
    extra_condition: str | None = None,
    ambiguity_margin: float = 3.0,
    guards: Iterable[tuple[int, int, str]] = (),
    collective: Collective | None = None,
    scorer: Scorer | None = None,
) -> tuple[ClusterResult, pd.DataFrame]:
    """Score and cluster ``frame``: blocked pairs first, then every record against whole candidates.

    Pass one scores the pairs the blocking rules find. A record without an identifier
    usually resembles only some records of the person it belongs to (the register's
    entry has a birth date but no phone, a survey form a phone but no birth date), and
    equally the other records of a namesake may contradict it where the namesake's
    register entry does not. So pass two scores each such record against *every*
    record of each identified person (records sharing an identifier, or an existing
    person) that pass one put in reach, and :func:`cluster` judges a merge on the
    median over all of them.

    With ``fresh`` (the records new to this run; ``extra_condition`` should restrict
    pass one to pairs with a fresh side), only the records that can be affected are
    clustered: the fresh ones, those pass one reached, and every record of the same
    identifier or existing entity as those. The rest keep their entity untouched, and an
    incremental run costs in proportion to what is new rather than to everything known.
    Both passes still score against the whole frame, so term frequencies are the
    population's. Returns the clustering (labels are record indices of the whole frame)
    and all scored edges.

    ``guards`` (record indices of the frame, with a reason) are passed to :func:`cluster`.
    ``collective``, given the first pass's labels over the whole frame, names record pairs
    with a bonus in bits and a reason: evidence from the people around a record. They are
    scored like any pair, the bonus is added, and :func:`cluster` takes them in a second
    round (pairs with a side outside the clustered records are left out).

    ``scorer``, a :class:`~connectors.resolution.scoring.Scorer` of ``frame`` and ``model``
    the caller keeps for more scoring, saves copying the frame again; without it the
    run makes its own.
    """
    with Scorer(frame, spec, model) if scorer is None else nullcontext(scorer) as used:
        return _link(
            frame,
            spec,
            used,
            match_threshold,
            review_threshold,
            existing,
            fresh,
            reviewed_pairs,
            rejected_pairs,
            extra_condition,
            ambiguity_margin,
            guards,
            collective,
        )


def _link(
    frame: pd.DataFrame,
    spec: LinkageSpec,
    scorer: Scorer,
    match_threshold: float,
    review_threshold: float,
    existing: Sequence[str | None] | None,
    fresh: np.ndarray | None,
    reviewed_pairs: Iterable[tuple[str, str]],
    rejected_pairs: Iterable[tuple[str, str]],
    extra_condition: str | None,
    ambiguity_margin: float,
    guards: Iterable[tuple[int, int, str]],
    collective: Collective | None,
) -> tuple[ClusterResult, pd.DataFrame]:
    n = len(frame)
    identifiers = _column(frame, spec.identifier_column, n)
    first = scorer.predict(threshold=review_threshold, extra_condition=extra_condition)
    nodes = _affected(n, first, fresh, identifiers, existing) if fresh is not None else np.arange(n)
    anchors = _anchor_members(nodes, identifiers, existing)
    extra = _expansion_pairs(first, anchors, identifiers, match_weight(review_threshold))
    if len(extra):
        second = scorer.predict(threshold=None, pairs=extra)
        edges = pd.concat([first, second], ignore_index=True)
    else:
        edges = first
    position = np.full(n, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))
    local = pd.DataFrame(
        {
            "unique_id_l": position[edges["unique_id_l"].to_numpy(dtype=np.int64)],
            "unique_id_r": position[edges["unique_id_r"].to_numpy(dtype=np.int64)],
            "match_weight": edges["match_weight"].to_numpy(),
        }
    )
    local = local[(local["unique_id_l"] >= 0) & (local["unique_id_r"] >= 0)]
    keep = nodes.tolist()
    local_guards = [
        (int(position[x]), int(position[y]), reason)
        for x, y, reason in guards
        if position[x] >= 0 and position[y] >= 0
    ]
    second_round = None
    if collective is not None:
        hook = collective

        def second_round(local_labels: np.ndarray) -> tuple[pd.DataFrame, dict[tuple[int, int], str]]:
            return _collective_edges(frame, scorer, hook, nodes, position, local_labels, existing)

    result = cluster(
        len(nodes),
        local,
        match_threshold=match_threshold,
        review_threshold=review_threshold,
        identifiers=[identifiers[i] for i in keep],
        groups=_column_at(frame, spec.group_column, nodes),
        roles=_column_at(frame, spec.role_column, nodes),
        compatible_roles=spec.compatible_roles,
        existing=[existing[i] for i in keep] if existing is not None else None,
        reviewed_pairs=reviewed_pairs,
        rejected_pairs=rejected_pairs,
        ambiguity_margin=ambiguity_margin,
        guards=local_guards,
        second_round=second_round,
    )
    labels = np.arange(n, dtype=np.int64)
    labels[nodes] = nodes[result.labels]
    reviews = [
        ReviewCandidate(int(nodes[r.left]), int(nodes[r.right]), r.probability, r.reason)
        for r in result.reviews
    ]
    return ClusterResult(labels=labels, reviews=reviews, refused=result.refused, nodes=nodes), edges


Collective = Callable[[np.ndarray], tuple[pd.DataFrame, dict[tuple[int, int], str]]]
"""Labels over the whole frame → pairs (columns ``l``, ``r``, ``bonus``) and a reason per pair."""


def _collective_edges(
    frame: pd.DataFrame,
    scorer: Scorer,
    hook: Collective,
    nodes: np.ndarray,
    position: np.ndarray,
    local_labels: np.ndarray,
    existing: Sequence[str | None] | None,
) -> tuple[pd.DataFrame, dict[tuple[int, int], str]]:
    """Second-round edges in local indices: the hook's pairs, scored, plus their bonus."""
    n = len(frame)
    labels = np.arange(n, dtype=np.int64)
    if existing is not None:
        # Records outside the clustered set keep their existing entity: label them by it
        # (the first record of the entity).
        labels = _first_of_entity(existing)
    labels[nodes] = nodes[local_labels]
    pairs, reasons = hook(labels)
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in EDGE_COLUMNS[:3]})
    if not len(pairs):
        return empty, {}
    inside = (position[pairs["l"].to_numpy(dtype=np.int64)] >= 0) & (
        position[pairs["r"].to_numpy(dtype=np.int64)] >= 0
    )
    pairs = pairs[inside]
    if not len(pairs):
        return empty, {}
    scored = scorer.predict(threshold=None, pairs=pairs[["l", "r"]])
    bonus = {
        ((a, b) if a < b else (b, a)): x
        for a, b, x in zip(pairs["l"].tolist(), pairs["r"].tolist(), pairs["bonus"].tolist(), strict=True)
    }
    left = scored["unique_id_l"].to_numpy(dtype=np.int64)
    right = scored["unique_id_r"].to_numpy(dtype=np.int64)
    extra = np.array(
        [
            bonus.get((a, b) if a < b else (b, a), 0.0)
            for a, b in zip(left.tolist(), right.tolist(), strict=True)
        ]
    )
    out = pd.DataFrame(
        {
            "unique_id_l": position[left],
            "unique_id_r": position[right],
            "match_weight": scored["match_weight"].to_numpy(dtype=np.float64) + extra,
        }
    )
    local_reasons: dict[tuple[int, int], str] = {}
    for (a, b), reason in reasons.items():
        x, y = int(position[a]), int(position[b])
        if x >= 0 and y >= 0:
            local_reasons[(x, y) if x < y else (y, x)] = reason
    return out, local_reasons


def _first_of_entity(existing: Sequence[str | None]) -> np.ndarray:
    """For each record, the index of the first record with its key, or its own index without one.

    In bulk (the population, every batch): :func:`pandas.factorize` numbers the keys in
    order of first appearance, so a code's first record is where the codes first exceed
    every code before them."""
    codes, uniques = pd.factorize(np.asarray(existing, dtype=object), use_na_sentinel=True)
    codes = codes.astype(np.int64, copy=False)
    n = len(codes)
    labels = np.arange(n, dtype=np.int64)
    if not len(uniques):
        return labels
    is_key = np.fromiter((is_text(k) for k in uniques.tolist()), dtype=bool, count=len(uniques))
    seen = np.maximum.accumulate(codes)
    new = np.empty(n, dtype=bool)
    new[0] = codes[0] >= 0
    new[1:] = codes[1:] > seen[:-1]
    first = np.flatnonzero(new)  # first[c]: the first record of code c
    keyed = codes >= 0
    keyed[keyed] = is_key[codes[keyed]]
    labels[keyed] = first[codes[keyed]]
    return labels


def _column(frame: pd.DataFrame, name: str | None, n: int) -> list[str | None]:
    """The column's non-empty strings, None for anything else.

    A string column (what :func:`~connectors.resolution.chinese.to_frame` makes) is converted
    in bulk: this runs over the whole population every batch, and a Python test per value
    cost about a second a county sync at 200,000 persons."""
    if not name:
        return [None] * n
    col = frame[name]
    if isinstance(col.dtype, pd.StringDtype):
        values = col.to_numpy(dtype=object, na_value=None)
        values[(col.isna() | col.eq("")).to_numpy(dtype=bool)] = None
        out: list[str | None] = values.tolist()
        return out
    return [x if isinstance(x, str) and x else None for x in col.tolist()]


def _column_at(frame: pd.DataFrame, name: str | None, at: np.ndarray) -> list[str | None]:
    """``[_column(frame, name, len(frame))[i] for i in at]``, reading only the rows at ``at``."""
    if not name:
        return [None] * len(at)
    return [x if isinstance(x, str) and x else None for x in frame[name].array.take(at).tolist()]


def _affected(
    n: int,
    edges: pd.DataFrame,
    fresh: np.ndarray,
    identifiers: Sequence[str | None],
    existing: Sequence[str | None] | None,
) -> np.ndarray:
    """Fresh records, records pass one reached, and their whole identifier and entity groups."""
    mask = np.asarray(fresh, dtype=bool).copy()
    mask[edges["unique_id_l"].to_numpy(dtype=np.int64)] = True
    mask[edges["unique_id_r"].to_numpy(dtype=np.int64)] = True
    # Each column as integer codes (-1: missing), so that "every record of a value some
    # marked record holds" is an array lookup rather than a set membership test per record.
    columns = [_codes(identifiers)]
    if existing is not None:
        columns.append(_codes(existing))
    while True:
        before = int(mask.sum())
        for codes, count in columns:
            held = codes[mask]
            held = held[held >= 0]
            if len(held):
                wanted = np.zeros(count + 1, dtype=bool)  # the last slot is code -1's
                wanted[held] = True
                mask |= wanted[codes]
        if int(mask.sum()) == before:
            return np.flatnonzero(mask)


def _codes(values: Sequence[str | None]) -> tuple[np.ndarray, int]:
    """Integer codes of the values (equal values, equal codes; -1 for None) and how many codes."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), len(uniques)


def _anchor_members(
    nodes: np.ndarray, identifiers: Sequence[str | None], existing: Sequence[str | None] | None
) -> dict[int, list[int]]:
    """For each of ``nodes``, the records of its identified group (same identifier or entity)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i in nodes.tolist():
        entity = existing[i] if existing is not None else None
        if is_text(entity):
            groups.setdefault(("p", entity), []).append(i)
        ident = identifiers[i]
        if is_text(ident):
            groups.setdefault(("i", ident), []).append(i)
    out: dict[int, list[int]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        for i in members:
            current = out.get(i)
            out[i] = members if current is None else sorted(set(current) | set(members))
    return out


def _expansion_pairs(
    edges: pd.DataFrame,
    anchors: dict[int, list[int]],
    identifiers: Sequence[str | None],
    min_weight: float,
) -> pd.DataFrame:
    """Pairs (record, member of the other side's identified group) not scored yet."""
    seen = {
        (a, b) if a < b else (b, a)
        for a, b in zip(edges["unique_id_l"].tolist(), edges["unique_id_r"].tolist(), strict=True)
    }
    out: set[tuple[int, int]] = set()
    weights = edges["match_weight"].tolist()
    for a, b, w in zip(edges["unique_id_l"].tolist(), edges["unique_id_r"].tolist(), weights, strict=True):
        if w < min_weight:
            continue
        for x, y in ((a, b), (b, a)):
            members = anchors.get(y)
            if members is None:
                continue
            for m in members:
                if m == x or (identifiers[x] and identifiers[m]):
                    continue
                key = (x, m) if x < m else (m, x)
                if key not in seen:
                    out.add(key)
    if not out:
        return pd.DataFrame({"l": pd.Series(dtype="int64"), "r": pd.Series(dtype="int64")})
    arr = np.array(sorted(out), dtype=np.int64)
    return pd.DataFrame({"l": arr[:, 0], "r": arr[:, 1]})
