"""The resolver's tables as SQLAlchemy Core handles, its error, and the row-writing helpers
the resolution run and the review queue share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

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


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _INSERT_CHUNK):
        conn.execute(table.insert(), list(rows[start : start + _INSERT_CHUNK]))


def _row_id(key: Any) -> int:
    """The id of the merge row just inserted (SQLAlchemy types the key as optional)."""
    if key is None:
        raise ResolutionError("the merge record was written without an id")
    return int(key[0])


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
