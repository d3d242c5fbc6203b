"""From clusters to person keys: keys for the new mentions, provisional people absorbed into the
identified person they turn out to be, and the review items a run writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, select, update

from connectors.resolution.clustering import (
    ClusterResult,
)
from connectors.resolution.review_queue import MergeOutcome, Sides
from connectors.resolution.store import (
    LINK,
    REPROJECT,
    RESOLVER,
    REVIEW,
    chunks,
    insert_chunked,
    move_mentions,
)


@dataclass
class _Plan:
    links: list[dict[str, Any]]
    absorbed: list[tuple[str, str]]  # (survivor, absorbed) existing person keys
    renamed: dict[str, str]  # absorbed key -> survivor key
    reviews: list[dict[str, Any]]
    created: set[str]  # keys of new people (clusters without an existing person)


def assign(
    frame: pd.DataFrame,
    systems: Sequence[str],
    records: Sequence[str],
    person_keys: Sequence[str | None],
    result: ClusterResult,
    edges: pd.DataFrame,
    n_old: int,
) -> _Plan:
    """Person keys for the new mentions, existing people to absorb, and the review pairs.

    A cluster holding mentions of two existing people keeps the key of the one with an
    ID number among its mentions (the clustering allows at most one such), else the key
    with most mentions (then the smaller key, so that reruns agree).
    """
    labels = result.labels
    has_id = frame["id_number"].notna().to_numpy()
    members: dict[int, dict[str, list[int]]] = {}
    clustered = result.nodes if result.nodes is not None else np.arange(len(labels))
    for i in clustered[clustered < n_old].tolist():
        members.setdefault(int(labels[i]), {}).setdefault(person_keys[i], []).append(i)
    cluster_key: dict[int, str] = {}
    absorbed: list[tuple[str, str]] = []
    renamed: dict[str, str] = {}
    for c, by_key in members.items():
        ranked = sorted(
            by_key.items(), key=lambda kv: (not any(has_id[i] for i in kv[1]), -len(kv[1]), kv[0])
        )
        survivor = ranked[0][0]
        cluster_key[c] = survivor
        for old_key, _ in ranked[1:]:
            absorbed.append((survivor, old_key))
            renamed[old_key] = survivor
    sizes = np.bincount(labels, minlength=len(labels))
    best = _best_edge_within(edges, labels)
    links: list[dict[str, Any]] = []
    created: set[str] = set()
    for i in range(n_old, len(frame)):
        c = int(labels[i])
        key = cluster_key.get(c)
        if key is None:
            key = cluster_key[c] = uuid.uuid4().hex
            created.add(key)
        if has_id[i]:
            method, score = "id_number", None
        elif sizes[c] > 1:
            method, score = "probabilistic", best.get(i)
        else:
            method, score = "new", None
        links.append(
            {
                "system": systems[i],
                "record_id": records[i],
                "person_key": key,
                "method": method,
                "score": None if score is None else round(float(score), 6),
            }
        )
    reviews = [
        {
            "left_system": systems[r.left],
            "left_record_id": records[r.left],
            "right_system": systems[r.right],
            "right_record_id": records[r.right],
            "score": round(float(r.probability), 6),
            "reason": r.reason,
        }
        for r in result.reviews
    ]
    return _Plan(links, absorbed, renamed, reviews, created)


def absorb(conn: Connection, survivor: str, absorbed: str, now: datetime) -> MergeOutcome:
    """Move a provisional person's mentions to ``survivor``, recorded so it can be undone."""
    merge_id, moved = move_mentions(conn, survivor, absorbed, review_id=None, decided_by=RESOLVER, now=now)
    # The graph must show it too (absorbed person gone, its records on the survivor): queued with
    # the merge, so a kill before the pipeline's next graph write cannot lose it.
    conn.execute(
        REPROJECT.insert(),
        [{"person_key": k, "merge_id": merge_id, "enqueued_at": now} for k in (survivor, absorbed)],
    )
    return MergeOutcome(merge_id, survivor, absorbed, moved, frozenset((survivor, absorbed)))


def close_answered_reviews(conn: Connection, now: datetime) -> None:
    """Open review items whose two mentions are now one person: closed as merged by the resolver."""
    sides = Sides()
    ids = [
        i
        for (i,) in conn.execute(
            sides.joined(select(REVIEW.c.id)).where(
                REVIEW.c.status == "open", sides.ll.c.person_key == sides.rl.c.person_key
            )
        )
    ]
    for chunk in chunks(ids, 500):
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id.in_(chunk))
            .values(status="merged", decided_by=RESOLVER, decided_at=now)
        )


def _best_edge_within(edges: pd.DataFrame, labels: np.ndarray) -> dict[int, float]:
    """Each record's best match probability to another record of its own cluster."""
    if not len(edges):
        return {}
    left = edges["unique_id_l"].to_numpy(dtype=np.int64)
    right = edges["unique_id_r"].to_numpy(dtype=np.int64)
    prob = edges["match_probability"].to_numpy(dtype=np.float64)
    inside = labels[left] == labels[right]
    best: dict[int, float] = {}
    for a, b, p in zip(left[inside].tolist(), right[inside].tolist(), prob[inside].tolist(), strict=True):
        if p > best.get(a, -1.0):
            best[a] = p
        if p > best.get(b, -1.0):
            best[b] = p
    return best


def reviewed_person_pairs(conn: Connection) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Pairs of current person keys with a review item: (any status, rejected).

    Rejected pairs are never merged automatically. An open item is not a bar: when later
    mentions make the match certain, the resolver merges (recorded, undoable) and closes
    the item as merged by :data:`RESOLVER`.
    """
    left, right = LINK.alias("l"), LINK.alias("r")
    query = (
        select(left.c.person_key, right.c.person_key, REVIEW.c.status)
        .select_from(REVIEW)
        .join(left, and_(left.c.system == REVIEW.c.left_system, left.c.record_id == REVIEW.c.left_record_id))
        .join(
            right,
            and_(right.c.system == REVIEW.c.right_system, right.c.record_id == REVIEW.c.right_record_id),
        )
    )
    reviewed: set[tuple[str, str]] = set()
    rejected: set[tuple[str, str]] = set()
    for a, b, status in conn.execute(query):
        reviewed.add((a, b))
        if status == "rejected":
            rejected.add((a, b))
    return reviewed, rejected


def insert_reviews(conn: Connection, reviews: Sequence[dict[str, Any]], now: datetime) -> None:
    """Review items for the candidate pairs; a pair already queued (either way round) is skipped."""
    if not reviews:
        return
    known = {
        frozenset(((a, b), (c, d)))
        for a, b, c, d in conn.execute(
            select(
                REVIEW.c.left_system, REVIEW.c.left_record_id, REVIEW.c.right_system, REVIEW.c.right_record_id
            )
        )
    }
    rows = []
    for r in reviews:
        pair = frozenset(((r["left_system"], r["left_record_id"]), (r["right_system"], r["right_record_id"])))
        if pair in known:
            continue
        known.add(pair)
        rows.append({**r, "status": "open", "created_at": now})
    insert_chunked(conn, REVIEW, rows)
