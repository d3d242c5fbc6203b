"""Paging cursors: opaque, and good only for the caller and the list that were given them.

A list's position is the last record the store scanned, in the caller's scope or not. Handed out
as it is, a cursor names a record the caller may not see (an empty page's `endCursor` was the id
of a household outside the caller's scope); made of the last *visible* id instead, it stops a
caller's paging at a page whose records are all out of scope. Sealed (AES-SIV under the
deployment's pseudonym key, with the caller and the list as associated data), the store's own
position can be handed out: it reads as nothing, continues the list exactly, and another caller
or another list refuses it with BAD_REQUEST `invalid_cursor` — the same answer whatever it holds,
so a cursor is no oracle either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from auth.enforce.context import Context
from auth.enforce.errors import refused
from auth.enforce.guard import Guard
from auth.pseudonym import Pseudonymizer, pseudonymizer
from kernel.messages import say

SCAN_BUDGET = 200
"""Records a list request may scan past the caller's scope before it must hand back a page. A
page's `hasNextPage` then says "more in scope, or more than this many out of it": a division of
fewer people than this, none of them in scope, reads exactly as an empty one (paging one by one
through it no longer counts its people), and a larger one is told only in hundreds."""


def visible_page(
    fetch: Callable[[str | None, int], tuple[list[str], bool]],
    guard: Guard,
    first: int,
    position: str | None,
    budget: int = SCAN_BUDGET,
    visible: Callable[[list[str]], Iterable[str]] | None = None,
) -> tuple[list[str], str | None]:
    """The next `first` people in the caller's scope, and the store position to continue from
    (None: nothing more in scope). `fetch(after, limit)` is the store's page (person ids in list
    order, whether more follow).

    Row scope is decided by `guard.visible_people` (or `visible`, a list's own row check over
    what its store page read) for each store page at once (the page's profiles read together),
    never person by person: a list built on this helper cannot fall back to a profile read per
    row (25 ms a row was the cost of the first people list).

    The store is scanned past the page for one more visible record (or to the end, or to the
    budget), so `hasNextPage` is true only when a further page holds someone the caller may see
    (or the budget ran out): out-of-scope records before, between or after the visible ones are
    neither shown nor counted."""
    found: list[str] = []
    scanned = 0
    after = position
    while True:
        ids, more = fetch(after, max(1, min(1000, max(first + 1, 50), budget - scanned)))
        shown = set((visible or guard.visible_people)(ids))
        for rid in ids:
            scanned += 1
            after = rid
            if rid in shown:
                if len(found) == first:
                    return found, found[-1]  # one more in scope: the next page starts after the last shown
                found.append(rid)
        if not more or not ids:
            return found, None
        if scanned >= budget:
            return found, after  # out of budget: the caller pages on from the last record scanned


def _binding(ctx: Context, listing: str) -> str:
    p = ctx.principal
    who = f"{p.issuer}|{p.client_id}|{p.subject}" if p is not None else "-"
    return f"cursor|{listing}|{who}"


def _keys(ctx: Context) -> Pseudonymizer:
    if ctx.settings is None:
        raise refused(say("api.cursors_not_configured"), "INTERNAL")
    return pseudonymizer(ctx.settings)


def seal(ctx: Context, listing: str, position: str | None) -> str | None:
    """The cursor to hand out for a store position of `listing` (None: no position)."""
    if not position:
        return None
    return _keys(ctx).seal(position, _binding(ctx, listing))


def unseal(ctx: Context, listing: str, cursor: str | None) -> str | None:
    """The store position a cursor given to this caller for `listing` stands for; BAD_REQUEST
    `invalid_cursor` for anything else (a raw id, another caller's or another list's cursor)."""
    if not cursor:
        return None
    position = _keys(ctx).unseal(cursor, _binding(ctx, listing))
    if position is None:
        ctx.guard.trail.reasons.add("invalid_cursor")
        raise refused(say("api.invalid_cursor"), "BAD_REQUEST", "invalid_cursor")
    return position
