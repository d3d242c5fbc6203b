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

from auth.enforce.context import Context
from auth.enforce.errors import refused
from auth.pseudonym import Pseudonymizer, pseudonymizer


def _binding(ctx: Context, listing: str) -> str:
    p = ctx.principal
    who = f"{p.issuer}|{p.client_id}|{p.subject}" if p is not None else "-"
    return f"cursor|{listing}|{who}"


def _keys(ctx: Context) -> Pseudonymizer:
    if ctx.settings is None:
        raise refused("paging cursors are not configured", "INTERNAL")
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
        raise refused("not a cursor of yours", "BAD_REQUEST", "invalid_cursor")
    return position
