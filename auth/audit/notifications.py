"""Telling a case's owning agencies who read their records: one notification per owner and entry,
queued for delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from auth.audit.event import (
    check_identity,
    format_at,
)
from auth.audit.model import AuditEntry, Notification
from auth.audit.queries import check_limit
from auth.audit.store import NOTIFIED_DECISIONS, AuditStore, _notification
from kernel.db.tables import utcnow


class AuditNotifications(AuditStore):
    """Telling a case's owning agencies who read their records (and whether it was delivered)."""

    # -------------------------------------------------------------------------------- notifications

    def notify_case_owner(self, entry: AuditEntry | int, owners: Callable[[str], Iterable[str]]) -> int:
        """Queue a `record_accessed` notification for every agency owning an open case about a record
        the entry touched, except the accessing agency itself; return how many were queued.

        `owners(record_id)` names the owning agencies (the caller looks up open cases). Payloads carry
        the seq, the record id and who accessed it why, never data values. Calling twice for one entry
        queues nothing new (`dedupe_key`), so a crashed caller can simply call again. Only entries that
        returned data (allow, partial) notify.
        """
        if isinstance(entry, int):
            found = self.get(entry)
            if found is None:
                raise LookupError(f"no audit entry {entry}")
            entry = found
        if entry.decision not in NOTIFIED_DECISIONS:
            return 0
        now = utcnow()
        rows: list[dict[str, Any]] = []
        for record_id in entry.records:
            for agency in sorted(set(owners(record_id))):
                if agency == entry.agency_id:
                    continue
                if check_identity(agency, "owner agency id", 100) is None:
                    continue
                rows.append(
                    {
                        "agency_id": agency,
                        "kind": "record_accessed",
                        "payload": {
                            "seq": entry.seq,
                            "record_id": record_id,
                            "accessor_agency_id": entry.agency_id,
                            "accessor_agency_type": entry.agency_type,
                            "accessor_role": entry.role,
                            "at": format_at(entry.at),
                            "purpose": entry.purpose,
                        },
                        "dedupe_key": f"record_accessed:{entry.seq}:{record_id}:{agency}",
                        "created_at": now,
                        "delivered_at": None,
                    }
                )
        if not rows:
            return 0
        with self._errors("write"), self.engine.begin() as conn:
            if self._sqlite:
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
            # RETURNING names the rows actually inserted; conflicts (already queued) return nothing.
            stmt = (
                dialect_insert(_notification)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(_notification.c.id)
            )
            queued = len(conn.execute(stmt).all())
        return queued

    def pending_notifications(
        self, agency_id: str, limit: int = 100, after_id: int | None = None
    ) -> list[Notification]:
        """Undelivered notifications for one agency, oldest first."""
        limit = check_limit(limit)
        q = select(Notification).where(
            col(Notification.agency_id) == agency_id, col(Notification.delivered_at).is_(None)
        )
        if after_id is not None:
            q = q.where(col(Notification.id) > after_id)
        q = q.order_by(col(Notification.id)).limit(limit)
        with self._errors("read"), Session(self.engine) as s:
            return list(s.scalars(q))

    def mark_delivered(self, ids: Collection[int]) -> int:
        """Stamp notifications delivered; return how many were pending. Already delivered ones keep
        their first delivery time."""
        if not ids:
            return 0
        with self._errors("write"), self.engine.begin() as conn:
            result = conn.execute(
                update(_notification)
                .where(_notification.c.id.in_(list(ids)), _notification.c.delivered_at.is_(None))
                .values(delivered_at=utcnow())
            )
            return max(result.rowcount, 0)
