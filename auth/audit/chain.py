"""The hash chain: an entry's row and hash from its event and predecessor, and verifying a chain
(in the store or exported) entry by entry against an optional published `Anchor`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    entry_hash,
)
from kernel.messages import say


@dataclass(frozen=True)
class Anchor:
    """A chain position published outside the database, to check against later."""

    seq: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """`ok`; how many entries checked out; where and why the chain breaks (None when intact; the why in
    the catalogue's words, ``audit.chain.*``); the head."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head: Anchor | None = None


class ChainChecker:
    """Feeds entries in seq order and names the first one that breaks the chain.

    Shared by `AuditLog.verify` and `verify_rows` (exported files), so both apply the same rules.
    """

    def __init__(self) -> None:
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.checked = 0

    def feed(self, row: Mapping[Any, Any]) -> tuple[int, str] | None:  # a RowMapping or a dict
        """None when `row` extends the chain; else (first broken seq, reason)."""
        seq = row["seq"]
        expected = self.last_seq + 1
        if seq != expected:
            if self.last_seq == 0:
                return expected, say("audit.chain.genesis_missing", seq=seq)
            if seq < expected:
                return seq, say("audit.chain.out_of_order", seq=seq, last=self.last_seq)
            return expected, say("audit.chain.entry_missing", seq=seq, last=self.last_seq)
        if row["prev_hash"] != self.last_hash:
            if seq == 1:
                return 1, say("audit.chain.genesis_broken")
            return seq, say("audit.chain.link_broken", prev=seq - 1)
        if entry_hash(row) != row["hash"]:
            return seq, say("audit.chain.entry_modified")
        self.last_seq, self.last_hash = seq, row["hash"]
        self.checked += 1
        return None


def verify_rows(rows: Iterable[Mapping[str, Any]], *, complete: bool = True) -> VerifyResult:
    """Verify exported rows offline. `complete=True` (an unfiltered export) checks the chain as `verify`
    does; `complete=False` (a filtered export) checks each row against its own hash and the seq order."""
    checker = ChainChecker()
    last = 0
    n = 0
    for row in rows:
        if complete:
            broken = checker.feed(row)
            if broken is not None:
                return VerifyResult(False, checker.checked, broken[0], broken[1])
        else:
            if row["seq"] <= last:
                return VerifyResult(False, n, row["seq"], say("audit.chain.unordered"))
            if entry_hash(row) != row["hash"]:
                return VerifyResult(False, n, row["seq"], say("audit.chain.entry_modified"))
            last = row["seq"]
        n += 1
    if complete:
        head = Anchor(checker.last_seq, checker.last_hash) if checker.last_seq else None
        return VerifyResult(True, checker.checked, head=head)
    return VerifyResult(True, n)


# ---------------------------------------------------------------------------------------- helpers


def _entry_row(ev: AuditEvent, seq: int, prev: str, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": seq,
        "at": ev.at or now,
        "request_id": ev.request_id,
        "client_id": ev.client_id,
        "user": ev.user,
        "agency_id": ev.agency_id,
        "agency_type": ev.agency_type,
        "role": ev.role,
        "issuer": ev.issuer,
        "purpose": ev.purpose,
        "operation": ev.operation,
        "query_hash": ev.query_hash,
        "records": list(ev.records),
        "fields": {k: list(v) for k, v in ev.fields.items()},
        "decision": ev.decision,
        "reasons": list(ev.reasons),
        "break_glass": ev.break_glass,
        "break_glass_justification": ev.break_glass_justification,
        "result_size": ev.result_size,
        "status": ev.status,
        "prev_hash": prev,
    }
    row["hash"] = entry_hash(row)
    return row
