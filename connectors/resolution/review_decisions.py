"""A caseworker's decision on a review item: merge the two people, reject the pair, or undo a merge.

Each changes only the links between source records and people (recorded in ``merge_history`` so it
can be undone) and returns the person keys whose mentions changed; carrying the change to the graph
is :mod:`connectors.resolution.decisions`. A decision reads then writes, so it runs in a write
transaction (:func:`kernel.db.writing`): on SQLite it waits its turn behind the background
reclassification instead of failing with "database is locked".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, tuple_, update

from connectors.resolution.review_queue import MergeOutcome, Review, get_review
from connectors.resolution.store import LINK, MERGE, REVIEW, ResolutionError, chunks, move_mentions
from kernel.db.engine import writing
from kernel.db.tables import utcnow
from kernel.messages import MESSAGES, say


def _key_of(conn: Connection, system: str, record_id: str) -> str:
    key = conn.execute(
        select(LINK.c.person_key).where(LINK.c.system == system, LINK.c.record_id == record_id)
    ).scalar_one_or_none()
    if key is None:
        raise ResolutionError(say("resolution.not_linked"))
    return str(key)


def _status(status: str) -> str:
    key = f"resolution.review_status.{status}"
    return say(key) if key in MESSAGES else status


def _open_item(conn: Connection, review_id: int) -> Any:
    item = conn.execute(select(REVIEW).where(REVIEW.c.id == review_id)).first()
    if item is None:
        raise ResolutionError(say("resolution.review_missing"))
    if item.status != "open":
        raise ResolutionError(say("resolution.review_closed", status=_status(item.status)))
    return item


def merge(engine: Engine, review_id: int, decided_by: str) -> MergeOutcome:
    """The two mentions of a review item are one person: merge their people.

    The person with more mentions survives (the left one on a tie), so the key most
    likely to be referenced already stays; every mention of the other person moves to
    it, and the move is recorded in ``merge_history`` for :func:`undo_merge`. Merging is
    allowed even when the two people carry different valid ID numbers: the caseworker
    may know that one of them was recorded wrongly.
    """
    if not decided_by:
        raise ResolutionError(say("resolution.decider_required"))
    now = utcnow()
    with writing(engine) as conn:
        item = _open_item(conn, review_id)
        left = _key_of(conn, item.left_system, item.left_record_id)
        right = _key_of(conn, item.right_system, item.right_record_id)
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id == review_id)
            .values(status="merged", decided_by=decided_by, decided_at=now)
        )
        if left == right:
            return MergeOutcome(None, left, right, 0, frozenset())
        counts: dict[str, int] = dict(
            conn.execute(
                select(LINK.c.person_key, func.count())
                .where(LINK.c.person_key.in_((left, right)))
                .group_by(LINK.c.person_key)
            ).all()
        )
        survivor, absorbed = (right, left) if counts.get(right, 0) > counts.get(left, 0) else (left, right)
        merge_id, moved = move_mentions(
            conn,
            survivor,
            absorbed,
            review_id=review_id,
            decided_by=decided_by,
            now=now,
            method="review",
            score=item.score,
        )
    return MergeOutcome(merge_id, survivor, absorbed, moved, frozenset((survivor, absorbed)))


def reject(engine: Engine, review_id: int, decided_by: str) -> Review:
    """The two mentions of a review item are different people; the pair is not proposed again."""
    if not decided_by:
        raise ResolutionError(say("resolution.decider_required"))
    with writing(engine) as conn:
        _open_item(conn, review_id)
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id == review_id)
            .values(status="rejected", decided_by=decided_by, decided_at=utcnow())
        )
    return get_review(engine, review_id)


def undo_merge(engine: Engine, merge_id: int, decided_by: str) -> MergeOutcome:
    """Take a merge back: the mentions it moved return to the absorbed person's key.

    Their link method and score are restored to what they were before the merge; mentions
    linked to the survivor since then stay with it. A caseworker's merge reopens its
    review item, so the pair can be decided again (rejected, if the merge was wrong); a
    merge the resolver made itself is recorded as a rejected pair, so that the next run
    does not make it again. ``changed_keys`` also names any person a later merge had
    moved those mentions into.
    """
    if not decided_by:
        raise ResolutionError(say("resolution.decider_required"))
    now = utcnow()
    with writing(engine) as conn:
        row = conn.execute(select(MERGE).where(MERGE.c.id == merge_id)).first()
        if row is None:
            raise ResolutionError(say("resolution.merge_missing"))
        if row.undone_at is not None:
            raise ResolutionError(say("resolution.merge_undone"))
        moved = [tuple(x) for x in row.moved]
        changed = {row.survivor_key, row.absorbed_key}
        for chunk in chunks(moved, 500):
            keys = [(x[0], x[1]) for x in chunk]
            changed.update(
                k
                for (k,) in conn.execute(
                    select(LINK.c.person_key).where(tuple_(LINK.c.system, LINK.c.record_id).in_(keys))
                )
            )
        for s, r, method, score in moved:
            conn.execute(
                update(LINK)
                .where(LINK.c.system == s, LINK.c.record_id == r)
                .values(person_key=row.absorbed_key, method=method, score=score, linked_at=now)
            )
        conn.execute(update(MERGE).where(MERGE.c.id == merge_id).values(undone_by=decided_by, undone_at=now))
        if row.review_id is not None:
            conn.execute(
                update(REVIEW)
                .where(REVIEW.c.id == row.review_id)
                .values(status="open", decided_by=None, decided_at=None)
            )
        elif moved:
            _record_rejection(conn, (moved[0][0], moved[0][1]), row.survivor_key, decided_by, now)
    return MergeOutcome(merge_id, row.survivor_key, row.absorbed_key, len(moved), frozenset(changed))


def _record_rejection(
    conn: Connection, mention: tuple[str, str], other_key: str, decided_by: str, now: datetime
) -> None:
    """A rejected review item between ``mention`` and a mention of ``other_key``.

    Undoing a merge the resolver made on its own means the two are different people;
    the rejection keeps the next run from merging them again.
    """
    other = conn.execute(
        select(LINK.c.system, LINK.c.record_id).where(LINK.c.person_key == other_key).limit(1)
    ).first()
    if other is None:
        return
    pair = {
        "left_system": mention[0],
        "left_record_id": mention[1],
        "right_system": other.system,
        "right_record_id": other.record_id,
    }
    exists = conn.execute(select(REVIEW.c.id).where(*(REVIEW.c[k] == v for k, v in pair.items()))).first()
    if exists is not None:
        conn.execute(
            update(REVIEW)
            .where(REVIEW.c.id == exists.id)
            .values(status="rejected", decided_by=decided_by, decided_at=now)
        )
        return
    conn.execute(
        REVIEW.insert().values(
            **pair, score=0.0, status="rejected", created_at=now, decided_by=decided_by, decided_at=now
        )
    )
