"""What every resolver of the screening area needs: the relational store, the caller's name, and a
count by key, written once for the classification, visit, periodic report and statistics modules.

``KeyCount`` is one type in the schema whichever area's field returns it, so it lives here rather
than in any one area's module.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import strawberry
from strawberry.types import Info

from auth.enforce.context import Context
from auth.enforce.errors import sql_not_available


def sql_engine(info: Info[Context, None]) -> Any:
    if info.context.sql is None:
        raise sql_not_available()
    return info.context.sql


def caller_names(info: Info[Context, None]) -> tuple[str, str]:
    """(visitor name, recorded_by) of the caller; 'system' when enforcement is off."""
    p = info.context.principal
    if p is None:
        return "system", "system"
    return p.user or p.subject, f"{p.agency_id}/{p.client_id}"


@strawberry.type
class KeyCount:
    key: str
    # Null: fewer than the policy's disclosure.min_count, suppressed for this caller.
    count: int | None


def key_counts(counter: Any, withheld: Collection[str] = ()) -> list[KeyCount]:
    """One KeyCount a key; a key in ``withheld`` (auth.enforce.counts: a cell that would let a
    withheld small count be subtracted back) is null."""
    return [KeyCount(key=k, count=None if k in withheld else int(v)) for k, v in sorted(counter.items())]


__all__ = ["KeyCount", "caller_names", "key_counts", "sql_engine"]
