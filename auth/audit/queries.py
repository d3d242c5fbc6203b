"""What auditors ask of the log: accesses to a record or by an agency, refusals, break-glass uses and
their review, unusual volumes; paged, newest first.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic

from sqlalchemy import func, select
from sqlmodel import Session, col

from auth.audit.event import (
    check_record_id,
)
from auth.audit.model import AuditEntry, AuditRecord, AuditReview
from auth.audit.store import ENTRY_TABLE, MAX_PAGE, RECORD_TABLE, AuditStore, T
from kernel.db.tables import utcnow
from kernel.messages import say


class AuditQueryRefused(ValueError):
    """A question the audit log refuses as asked (a window, a time bound, a page size, a record id, a
    reviewer): something the asker can fix, said in the catalogue's words, with the code and reason
    the API answers with (`auth.enforce.errors.domain_errors`). No entry number and no identity in
    the words: they would tell an asker which entries exist and who reviewed them."""

    code = "BAD_REQUEST"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AuditEntryMissing(LookupError):
    """No such audit entry: said as every absent record is (`api.not_found`), without its number."""

    code = "NOT_FOUND"
    reason = "not_found_or_out_of_scope"

    def __init__(self) -> None:
        super().__init__(say("api.not_found", what=say("api.what.audit_entry")))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results in seq order; pass `next_after_seq` as `after_seq` for the next (None: done)."""

    items: list[T]
    next_after_seq: int | None


@dataclass(frozen=True)
class BreakGlassUse:
    entry: AuditEntry
    reviewer: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class VolumeAlert:
    """A client that touched more records in the window than its history makes plausible."""

    client_id: str
    agency_ids: tuple[str, ...]
    count: int
    baseline_median: float | None
    threshold: float
    window_start: datetime
    window_end: datetime


class AuditQueries(AuditStore):
    """What auditors ask: accesses to a record or by an agency, refusals, break-glass uses and
    their review, unusual volumes."""

    # ------------------------------------------------------------------------------------- auditors

    def accesses_to_record(
        self,
        record_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        exclude_agency: str | None = None,
        limit: int = 100,
        after_seq: int | None = None,
        agencies: Collection[str] | None = None,
    ) -> Page[AuditEntry]:
        """Every entry that touched `record_id` ("who looked at this child"), oldest first.

        `exclude_agency` leaves out the caller's own agency (an owner asking who else looked);
        `agencies`, when given, keeps only the entries of those agencies (an auditor's area).
        Served by the (record_id, seq) index of `audit_record`.
        """
        try:
            check_record_id(record_id)
        except ValueError:  # its words name the value's shape; the asker is told it is not an id
            raise AuditQueryRefused("not_a_record_id", say("api.not_a_record_id")) from None
        q = (
            select(AuditEntry)
            .join(AuditRecord, col(AuditRecord.seq) == col(AuditEntry.seq))
            .where(col(AuditRecord.record_id) == record_id)
        )
        if exclude_agency is not None:
            q = q.where((col(AuditEntry.agency_id) != exclude_agency) | col(AuditEntry.agency_id).is_(None))
        q = _of_agencies(q, agencies)
        return self._page(q, since, until, limit, after_seq, seq_col=col(AuditRecord.seq))

    def accesses_by_agency(
        self,
        agency_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after_seq: int | None = None,
        agencies: Collection[str] | None = None,
    ) -> Page[AuditEntry]:
        """Everything one agency did, oldest first (nothing when `agencies` leaves it out)."""
        q = _of_agencies(select(AuditEntry).where(col(AuditEntry.agency_id) == agency_id), agencies)
        return self._page(q, since, until, limit, after_seq)

    def denied_attempts(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        agency_id: str | None = None,
        limit: int = 100,
        after_seq: int | None = None,
        agencies: Collection[str] | None = None,
    ) -> Page[AuditEntry]:
        """Requests refused as a whole (`deny`) or in part (`partial`: some fields denied)."""
        q = select(AuditEntry).where(col(AuditEntry.decision).in_(("deny", "partial")))
        if agency_id is not None:
            q = q.where(col(AuditEntry.agency_id) == agency_id)
        return self._page(_of_agencies(q, agencies), since, until, limit, after_seq)

    def break_glass_uses(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        reviewed: bool | None = None,
        limit: int = 100,
        after_seq: int | None = None,
        agencies: Collection[str] | None = None,
    ) -> Page[BreakGlassUse]:
        """Emergency overrides with their review state; `reviewed=False` is the reviewers' queue."""
        limit = check_limit(limit)
        q = (
            select(AuditEntry, AuditReview)
            .outerjoin(AuditReview, col(AuditReview.seq) == col(AuditEntry.seq))
            .where(col(AuditEntry.break_glass).is_(True))
        )
        q = _of_agencies(q, agencies)
        if reviewed is True:
            q = q.where(col(AuditReview.seq).is_not(None))
        elif reviewed is False:
            q = q.where(col(AuditReview.seq).is_(None))
        q = _time_filter(q, since, until)
        if after_seq is not None:
            q = q.where(col(AuditEntry.seq) > after_seq)
        q = q.order_by(col(AuditEntry.seq)).limit(limit + 1)
        with self._errors("read"), Session(self.engine) as s:
            rows = list(s.exec(q))
        items = [
            BreakGlassUse(e, r.reviewer if r else None, r.reviewed_at if r else None) for e, r in rows[:limit]
        ]
        return Page(items, items[-1].entry.seq if len(rows) > limit else None)

    def mark_reviewed(self, seq: int, reviewer: str) -> AuditReview:
        """Record that `reviewer` reviewed break-glass entry `seq`.

        One review per entry: repeating the same reviewer's call returns the existing review (a retried
        request), another reviewer gets ValueError. LookupError for a missing entry, ValueError for an
        entry that is not break-glass. The reviewer is an identity (like `user`), not free text.
        """
        reviewer = reviewer.strip()
        if not reviewer or len(reviewer) > 200:
            raise AuditQueryRefused("invalid_reviewer", say("audit.reviewer_invalid", limit=200))
        with self._errors("write"), Session(self.engine, expire_on_commit=False) as s:
            entry = s.get(AuditEntry, seq)
            if entry is None:
                raise AuditEntryMissing()
            if not entry.break_glass:
                raise AuditQueryRefused("not_break_glass", say("audit.not_break_glass"))
            existing = s.get(AuditReview, seq)
            if existing is not None:
                if existing.reviewer != reviewer:
                    raise AuditQueryRefused("already_reviewed", say("audit.already_reviewed"))
                return existing
            review = AuditReview(seq=seq, reviewer=reviewer, reviewed_at=utcnow())
            s.add(review)
            s.commit()
            return review

    def unusual_volume(
        self,
        window: timedelta = timedelta(hours=1),
        factor: float = 5.0,
        min_count: int = 50,
        now: datetime | None = None,
        agencies: Collection[str] | None = None,
    ) -> list[VolumeAlert]:
        """Clients that touched unusually many records in the last `window`.

        The rule: count the records each client touched (rows of `audit_record`, so one query returning
        300 children counts 300) in the window ending at `now`. Compare it with the same client's counts
        in the windows of the same length over the 7 days before: threshold = factor × the median of
        the windows in which the client was active, but never below `min_count`; with no activity in
        those 7 days, the threshold is `min_count`. A client is flagged when its count exceeds the
        threshold.

        Why those choices: the median (not the mean) so one earlier spike does not raise the bar;
        active windows only, since a daytime-only client's median over all hours would be 0 and flag
        every working hour; the `min_count` floor so a client that usually reads 2 records an hour is
        not flagged for reading 11. Results are sorted by how far they exceed their threshold.
        """
        if window < timedelta(minutes=5) or window > timedelta(days=1):
            raise AuditQueryRefused("invalid_window", say("audit.window_range"))
        if factor <= 0 or min_count < 0:
            raise AuditQueryRefused("invalid_threshold", say("audit.threshold_range"))
        end = now or utcnow()
        start = end - window
        current = self._client_counts(start, end, None)
        candidates = {c: n for c, n in current.items() if n > min_count}
        if not candidates:
            return []
        history: dict[str, list[int]] = defaultdict(list)
        buckets = math.ceil(timedelta(days=7) / window)
        for i in range(buckets):
            hi = start - i * window
            lo = max(hi - window, start - timedelta(days=7))
            for c, n in self._client_counts(lo, hi, list(candidates)).items():
                history[c].append(n)
        alerts: list[VolumeAlert] = []
        for client, n in candidates.items():
            past = history.get(client)
            median = float(statistics.median(past)) if past else None
            threshold = max(float(min_count), factor * median) if median is not None else float(min_count)
            if n > threshold:
                alerts.append(
                    VolumeAlert(
                        client, self._agencies_of(client, start, end), n, median, threshold, start, end
                    )
                )
        if agencies is not None:  # an auditor's area: the clients of its agencies
            alerts = [a for a in alerts if set(a.agency_ids) <= set(agencies) and a.agency_ids]
        alerts.sort(key=lambda a: (-a.count / max(a.threshold, 1.0), a.client_id))
        return alerts

    def _client_counts(self, lo: datetime, hi: datetime, clients: list[str] | None) -> dict[str, int]:
        q = (
            select(ENTRY_TABLE.c.client_id, func.count())
            .select_from(ENTRY_TABLE.join(RECORD_TABLE, RECORD_TABLE.c.seq == ENTRY_TABLE.c.seq))
            .where(ENTRY_TABLE.c.at >= lo, ENTRY_TABLE.c.at < hi, ENTRY_TABLE.c.client_id.is_not(None))
            .group_by(ENTRY_TABLE.c.client_id)
        )
        if clients is not None:
            q = q.where(ENTRY_TABLE.c.client_id.in_(clients))
        with self._errors("read"), self.engine.connect() as conn:
            return {c: int(n) for c, n in conn.execute(q)}

    def _agencies_of(self, client_id: str, lo: datetime, hi: datetime) -> tuple[str, ...]:
        q = (
            select(ENTRY_TABLE.c.agency_id)
            .where(ENTRY_TABLE.c.client_id == client_id, ENTRY_TABLE.c.at >= lo, ENTRY_TABLE.c.at < hi)
            .where(ENTRY_TABLE.c.agency_id.is_not(None))
            .distinct()
        )
        with self._errors("read"), self.engine.connect() as conn:
            return tuple(sorted(a for (a,) in conn.execute(q)))

    def _page(
        self,
        q: Any,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        after_seq: int | None,
        seq_col: Any = None,
    ) -> Page[AuditEntry]:
        limit = check_limit(limit)
        seq_col = seq_col if seq_col is not None else col(AuditEntry.seq)
        q = _time_filter(q, since, until)
        if after_seq is not None:
            q = q.where(seq_col > after_seq)
        q = q.order_by(seq_col).limit(limit + 1)
        with self._errors("read"), Session(self.engine) as s:
            rows = list(s.exec(q).scalars())
        items = rows[:limit]
        return Page(items, items[-1].seq if len(rows) > limit else None)


def _of_agencies(q: Any, agencies: Collection[str] | None) -> Any:
    """Only the entries of these agencies (None: every entry, the operator's view)."""
    if agencies is None:
        return q
    return q.where(col(AuditEntry.agency_id).in_(sorted(agencies)))


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise AuditQueryRefused("invalid_limit", say("audit.limit_range", limit=MAX_PAGE))
    return limit


def aware_bound(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise AuditQueryRefused("naive_time", say("audit.time_without_zone", what=what))
    return value


def _time_filter(q: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        q = q.where(col(AuditEntry.at) >= aware_bound(since, say("audit.bound.since")))
    if until is not None:
        q = q.where(col(AuditEntry.at) < aware_bound(until, say("audit.bound.until")))
    return q
