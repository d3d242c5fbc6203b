"""The resolver's tables as SQLAlchemy Core handles, its error, and the row-writing helpers
the resolution run and the review queue share.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from connectors.bulk import insert_rows
from connectors.resolution.tables import (
    MergeHistory,
    PersonLink,
    ReprojectQueue,
    ResolutionMention,
    ResolutionModel,
    ReviewItem,
)

LINK = PersonLink.__table__  # type: ignore[attr-defined]
MENTION = ResolutionMention.__table__  # type: ignore[attr-defined]
REVIEW = ReviewItem.__table__  # type: ignore[attr-defined]
MERGE = MergeHistory.__table__  # type: ignore[attr-defined]
MODEL = ResolutionModel.__table__  # type: ignore[attr-defined]
REPROJECT = ReprojectQueue.__table__  # type: ignore[attr-defined]

_INSERT_CHUNK = 5_000


class ResolutionError(ValueError):
    """A review or merge request that cannot be carried out (unknown, already decided, undone)."""


RESOLVER = "resolver"


def insert_chunked(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_CHUNK):
        insert_rows(conn, table, rows[start : start + _INSERT_CHUNK])


_BATCH_CACHE_KIB = 65_536


@contextmanager
def batch_page_cache(conn: Connection, kib: int = _BATCH_CACHE_KIB) -> Iterator[None]:
    """SQLite's page cache of ``conn`` at ``kib`` KiB for the block, then as it was.

    A batch's mentions and links land all over the tables' indexes (their keys, the random
    person keys): with SQLite's default 2 MB cache each insert read its index pages back from
    the operating system again, a county's indexes being far larger. Nothing is kept beyond
    the block, so the connection goes back to the pool as it came."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


def _row_id(key: Any) -> int:
    """The id of the merge row just inserted (SQLAlchemy types the key as optional)."""
    if key is None:
        raise ResolutionError("the merge record was written without an id")
    return int(key[0])


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def move_mentions(
    conn: Connection,
    survivor: str,
    absorbed: str,
    *,
    review_id: int | None,
    decided_by: str,
    now: datetime,
    **relink: Any,
) -> tuple[int, int]:
    """Every mention of ``absorbed`` moves to ``survivor``, recorded in ``merge_history``.

    The record keeps each moved mention's link method and score as they were, so an undo
    can restore them; ``relink`` sets other columns of the moved links (a caseworker's
    merge relinks them by review). The resolver's merges and the caseworker's share this,
    so an undo reads the same record whoever merged. Returns (merge id, mentions moved).
    """
    moved = [
        [s, r, m, sc]
        for s, r, m, sc in conn.execute(
            select(LINK.c.system, LINK.c.record_id, LINK.c.method, LINK.c.score).where(
                LINK.c.person_key == absorbed
            )
        )
    ]
    conn.execute(
        update(LINK).where(LINK.c.person_key == absorbed).values(person_key=survivor, linked_at=now, **relink)
    )
    merge_id = _row_id(
        conn.execute(
            MERGE.insert().values(
                review_id=review_id,
                survivor_key=survivor,
                absorbed_key=absorbed,
                moved=moved,
                decided_by=decided_by,
                decided_at=now,
            )
        ).inserted_primary_key
    )
    return merge_id, len(moved)
