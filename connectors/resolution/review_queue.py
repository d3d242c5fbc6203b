"""The review queue as caseworkers read it: open items with both sides' mentions, their count, one
item, a person's mentions. Decisions on an item are in :mod:`connectors.resolution.review_decisions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select

from connectors.resolution.store import LINK, MENTION, REVIEW, ResolutionError
from kernel.messages import say

# ----------------------------------------------------------------------------------- review queue


@dataclass(frozen=True)
class MentionView:
    """One mention as a caseworker needs to see it to decide a review.

    It carries personal data (name, ID number, phone): whoever serves it must apply the
    field policy (masking, purpose) like any other read of personal data.
    """

    system: str
    record_id: str
    person_key: str
    role: str | None
    name: str | None
    id_number: str | None
    sex: str | None
    birth_date: date | None
    division: str | None
    phone: str | None
    method: str
    score: float | None


@dataclass(frozen=True)
class Review:
    """A review item with both mentions, as the GraphQL layer presents it."""

    id: int
    left: MentionView
    right: MentionView
    score: float
    status: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None = None


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge or its undoing did.

    ``changed_keys`` are the person keys whose set of mentions changed: the pipeline
    re-projects exactly these people into the graph (the absorbed key's node goes away
    on a merge and comes back on an undo).
    """

    merge_id: int | None
    survivor_key: str
    absorbed_key: str
    moved: int
    changed_keys: frozenset[str]


_VIEW_COLUMNS = (
    "system",
    "record_id",
    "person_key",
    "role",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "division",
    "phone",
    "method",
    "score",
)


def _view_query(alias_link: Any, alias_mention: Any) -> list[Any]:
    cols = []
    for c in _VIEW_COLUMNS:
        table = alias_link if c in ("system", "record_id", "person_key", "method", "score") else alias_mention
        cols.append(table.c[c])
    return cols


class Sides:
    """The link and mention rows of both sides of a review item, as aliases of one query."""

    def __init__(self) -> None:
        self.ll, self.lm = LINK.alias("ll"), MENTION.alias("lm")
        self.rl, self.rm = LINK.alias("rl"), MENTION.alias("rm")

    def joined(self, query: Any) -> Any:
        ll, lm, rl, rm = self.ll, self.lm, self.rl, self.rm
        return (
            query.select_from(REVIEW)
            .join(ll, and_(ll.c.system == REVIEW.c.left_system, ll.c.record_id == REVIEW.c.left_record_id))
            .join(lm, and_(lm.c.system == REVIEW.c.left_system, lm.c.record_id == REVIEW.c.left_record_id))
            .join(rl, and_(rl.c.system == REVIEW.c.right_system, rl.c.record_id == REVIEW.c.right_record_id))
            .join(rm, and_(rm.c.system == REVIEW.c.right_system, rm.c.record_id == REVIEW.c.right_record_id))
        )

    def open(self, division_prefix: str | None) -> list[Any]:
        """Open items whose two mentions are still two people (a merge may have joined them)."""
        conditions: list[Any] = [REVIEW.c.status == "open", self.ll.c.person_key != self.rl.c.person_key]
        if division_prefix:
            conditions.append(
                or_(
                    self.lm.c.division.startswith(division_prefix),
                    self.rm.c.division.startswith(division_prefix),
                )
            )
        return conditions


def _reviews(
    conn: Connection, sides: Sides, conditions: Sequence[Any], limit: int | None = None, offset: int = 0
) -> list[Review]:
    query = sides.joined(
        select(
            REVIEW.c.id,
            REVIEW.c.score,
            REVIEW.c.status,
            REVIEW.c.created_at,
            REVIEW.c.decided_by,
            REVIEW.c.decided_at,
            REVIEW.c.reason,
            *_view_query(sides.ll, sides.lm),
            *_view_query(sides.rl, sides.rm),
        )
    )
    query = query.where(*conditions).order_by(REVIEW.c.score.desc(), REVIEW.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    out = []
    k = len(_VIEW_COLUMNS)
    for row in conn.execute(query):
        values = tuple(row)
        head, left, right = values[:7], values[7 : 7 + k], values[7 + k :]
        out.append(
            Review(
                id=head[0],
                score=head[1],
                status=head[2],
                created_at=head[3],
                decided_by=head[4],
                decided_at=head[5],
                reason=head[6],
                left=MentionView(*left),
                right=MentionView(*right),
            )
        )
    return out


def open_reviews(
    engine: Engine, *, division_prefix: str | None = None, limit: int = 100, offset: int = 0
) -> list[Review]:
    """Open review items, strongest first.

    ``division_prefix`` keeps items where either mention lies inside a division (a
    township caseworker passes the township's 9-digit prefix); it narrows the queue,
    it does not replace the API's row-scope check.
    """
    sides = Sides()
    with engine.connect() as conn:
        return _reviews(conn, sides, sides.open(division_prefix), limit=limit, offset=offset)


def open_review_count(engine: Engine, *, division_prefix: str | None = None) -> int:
    """How many :func:`open_reviews` there are."""
    sides = Sides()
    query = sides.joined(select(func.count())).where(*sides.open(division_prefix))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def get_review(engine: Engine, review_id: int) -> Review:
    """One review item, whatever its status."""
    with engine.connect() as conn:
        found = _reviews(conn, Sides(), [REVIEW.c.id == review_id])
    if not found:
        raise ResolutionError(say("resolution.review_missing"))
    return found[0]


def person_mentions(engine: Engine, person_key: str) -> list[MentionView]:
    """Every mention linked to a person, for a caseworker looking at one person's sources."""
    query = (
        select(*_view_query(LINK, MENTION))
        .select_from(LINK)
        .join(MENTION, and_(MENTION.c.system == LINK.c.system, MENTION.c.record_id == LINK.c.record_id))
        .where(LINK.c.person_key == person_key)
        .order_by(LINK.c.system, LINK.c.record_id)
    )
    with engine.connect() as conn:
        return [MentionView(*row) for row in conn.execute(query)]
