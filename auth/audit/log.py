"""`AuditLog`: append to the hash chain, verify it, answer auditors, notify case owners, export.

Writing. `append` takes the chain lock, reads the head (seq, hash), computes the new entry's hash from
the head's and inserts the entry and its record index rows, all in one transaction:

* SQLite: `BEGIN IMMEDIATE` takes the database write lock before the head is read, so two processes
  cannot both extend the same head. Threads of one process also queue on a process-local lock first,
  which spares them SQLite's sleep-and-retry busy handler. With `durable=True` (the default) the commit
  is fsynced (`synchronous=FULL` for that transaction; the engine's default NORMAL may lose the last
  commits on power loss, which an audit log must not).
* PostgreSQL: `pg_advisory_xact_lock` serialises appenders until commit; under READ COMMITTED the head
  is then read after the previous appender's commit is visible.

The primary key on seq would refuse a fork even if the lock were bypassed. Any failure to write raises
`AuditUnavailable`; the API then fails sensitive reads closed rather than serve data unaudited.

Verifying. `verify` walks the chain in seq order in keyset batches (constant memory) and reports the
first entry that is missing (a gap), does not link to its predecessor (prev_hash differs: an entry was
inserted, reordered, or rewritten along with its own hash), or does not match its own hash (modified in
place), and whether the `audit_record` index agrees with each entry's records. What a chain cannot show
by itself is truncation of its newest entries or a rewrite of the whole chain; pass an `Anchor` (a
(seq, hash) pair published elsewhere, e.g. in the daily report to the joint meeting) to catch those.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import IO, Any, Generic, TypeVar

from sqlalchemy import Engine, and_, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from auth.audit.event import (
    GENESIS_HASH,
    HASHED_COLUMNS,
    AuditEvent,
    canonical_json,
    check_identity,
    check_record_id,
    entry_hash,
    format_at,
    hashed_view,
)
from auth.audit.model import AuditEntry, AuditRecord, AuditReview, Notification
from kernel.db.engine import SQLITE_BEGIN_OPTION, describe
from kernel.db.tables import utcnow

T = TypeVar("T")

# Any constant works; every process appending to this database must use the same one.
_PG_CHAIN_LOCK = 0x5348_4155_4449_54  # "SHAUDIT"
MAX_PAGE = 1000
NOTIFIED_DECISIONS = ("allow", "partial")
"""Entries that gave the caller data. Refused or failed requests saw nothing, so the owner is not told;
auditors find those through `denied_attempts`."""

_entry = AuditEntry.__table__  # type: ignore[attr-defined]
_record = AuditRecord.__table__  # type: ignore[attr-defined]
_notification = Notification.__table__  # type: ignore[attr-defined]
_ENTRY_COLUMNS = [_entry.c[name] for name in (*HASHED_COLUMNS, "hash")]
EXPORT_COLUMNS: tuple[str, ...] = (*HASHED_COLUMNS, "hash")
"""Column order of CSV exports (JSONL lines have the same keys, sorted)."""


class AuditUnavailable(Exception):
    """The audit store cannot be written (or read). One line, no password. The API must treat it as
    "do not serve": a sensitive read that cannot be audited is refused."""


@dataclass(frozen=True)
class Anchor:
    """A chain position published outside the database, to check against later."""

    seq: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """`ok`; how many entries checked out; where and why the chain breaks (None when intact); the head."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head: Anchor | None = None


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
                return expected, f"genesis missing: the chain starts at seq {seq}, not 1"
            if seq < expected:
                return seq, f"entries out of order: seq {seq} follows seq {self.last_seq}"
            return expected, f"entry missing: seq {seq} follows seq {self.last_seq}"
        if row["prev_hash"] != self.last_hash:
            if seq == 1:
                return 1, "genesis broken: the first entry's prev_hash is not the genesis value"
            return seq, (
                f"link broken: prev_hash does not match the hash of seq {seq - 1} "
                f"(seq {seq - 1} was rewritten with a new hash, or entries were inserted or reordered)"
            )
        if entry_hash(row) != row["hash"]:
            return seq, "entry modified: its content does not match its hash"
        self.last_seq, self.last_hash = seq, row["hash"]
        self.checked += 1
        return None


class AuditLog:
    """The audit log on the relational store. One per engine; thread-safe."""

    def __init__(self, engine: Engine, *, durable: bool = True) -> None:
        self.engine = engine
        self.durable = durable
        self._sqlite = engine.dialect.name == "sqlite"
        self._postgres = engine.dialect.name == "postgresql"
        self._local_lock = threading.Lock()
        self._hooks_installed = False

    # --------------------------------------------------------------------------------------- writing

    def append(self, event: AuditEvent) -> int:
        """Write one entry; return its seq. Raises `AuditUnavailable` when the store cannot be written."""
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[AuditEvent]) -> list[int]:
        """Write several entries in one transaction (imports, benchmarks); return their seqs in order.

        All or nothing: a failure writes none of them.
        """
        batch = list(events)
        for ev in batch:
            if not isinstance(ev, AuditEvent):
                raise TypeError(f"append takes AuditEvent, not {type(ev).__name__}")
        if not batch:
            return []
        with self._errors("write to"), self._chain_transaction() as conn:
            return self._write(conn, batch)

    def _write(self, conn: Connection, batch: list[AuditEvent]) -> list[int]:
        """Extend the chain on `conn`, inside its transaction, which must hold the chain lock
        (SQLite: the database write lock; PostgreSQL: the advisory lock)."""
        head = conn.execute(
            select(_entry.c.seq, _entry.c.hash).order_by(_entry.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
        now = utcnow()
        entries: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        for ev in batch:
            seq += 1
            row = _entry_row(ev, seq, prev, now)
            prev = row["hash"]
            entries.append(row)
            records.extend({"seq": seq, "record_id": r} for r in ev.records)
        conn.info[_INTERNAL] = True  # the chain's own rows are not a change to audit
        try:
            conn.execute(insert(_entry), entries)
            if records:
                conn.execute(insert(_record), records)
        finally:
            conn.info.pop(_INTERNAL, None)
        return [e["seq"] for e in entries]

    # ------------------------------------------------------------------- changes and their entries

    @contextmanager
    def writes_recorded(self, event_for: Callable[[], AuditEvent]) -> Iterator[None]:
        """While the block runs (in this thread/context), every transaction on this log's engine that
        changed a row commits together with an audit entry, or not at all.

        The entry is appended on the changing transaction's own connection, just before it commits
        (SQLAlchemy's `commit` event, which covers ORM sessions and Core `engine.begin()` alike):
        a committed change always has its entry, and an entry that cannot be written raises out of
        the commit, so the transaction rolls back and the change is not made. `event_for()` gives
        who and why; the tables and row keys written are added to it here. One mechanism for every
        mutation path, present and future, without each domain module calling the log.

        Durability: the entry shares the change's commit, so it has the change's `synchronous`
        level rather than the separate FULL fsync of `append`.
        """
        self._install_write_hooks()
        token = _RECORDING.set(_Recording(self, event_for))
        try:
            yield
        finally:
            _RECORDING.reset(token)

    def _install_write_hooks(self) -> None:
        with self._local_lock:
            if self._hooks_installed:
                return
            event.listen(self.engine, "after_cursor_execute", _note_write)
            event.listen(self.engine, "commit", _append_before_commit)
            event.listen(self.engine, "rollback", _forget_writes)
            self._hooks_installed = True

    def _append_in_transaction(self, conn: Connection, ev: AuditEvent) -> int:
        with self._errors("write to"):
            if self._postgres:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
            return self._write(conn, [ev])[0]

    @contextmanager
    def _chain_transaction(self) -> Iterator[Connection]:
        if not self._sqlite:
            with self.engine.connect() as conn, conn.begin():
                if self._postgres:
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
                yield conn
            return
        with self._local_lock, self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            if raw is None:
                raise RuntimeError("the audit database connection is closed")
            previous = None
            if self.durable:
                # Only outside a transaction can the level change; the pooled connection gets its
                # own level back afterwards.
                previous = raw.execute("PRAGMA synchronous").fetchone()[0]
                raw.execute("PRAGMA synchronous=FULL")
            try:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    yield conn
            finally:
                if previous is not None:
                    try:
                        raw.execute(f"PRAGMA synchronous={int(previous)}")
                    except Exception:
                        conn.invalidate()

    # ------------------------------------------------------------------------------------- verifying

    def verify(
        self, batch: int = 10_000, *, anchor: Anchor | None = None, check_index: bool = True
    ) -> VerifyResult:
        """Walk the whole chain and report the first break (see the module docstring).

        Memory stays constant: entries are read `batch` at a time by seq (keyset), each batch in its own
        short read transaction so a long verify does not pin old snapshots while the API keeps appending.
        """
        if batch < 1:
            raise ValueError("batch must be positive")
        checker = ChainChecker()
        after = 0
        with self._errors("read"), self.engine.connect() as conn:
            while True:
                rows = (
                    conn.execute(
                        select(*_ENTRY_COLUMNS)
                        .where(_entry.c.seq > after)
                        .order_by(_entry.c.seq)
                        .limit(batch)
                    )
                    .mappings()
                    .all()
                )
                if not rows:
                    break
                index: dict[int, list[str]] = defaultdict(list)
                if check_index:
                    for s, rid in conn.execute(
                        select(_record.c.seq, _record.c.record_id).where(
                            _record.c.seq.between(rows[0]["seq"], rows[-1]["seq"])
                        )
                    ):
                        index[s].append(rid)
                conn.rollback()
                for row in rows:
                    broken = checker.feed(row)
                    if broken is not None:
                        return VerifyResult(False, checker.checked, broken[0], broken[1])
                    if check_index and sorted(index.pop(row["seq"], ())) != list(row["records"]):
                        return VerifyResult(
                            False,
                            checker.checked - 1,
                            row["seq"],
                            "record index differs from the entry's records (audit_record rows changed)",
                        )
                if index:
                    orphan = min(index)
                    return VerifyResult(
                        False, checker.checked, orphan, "record index names an entry that does not exist"
                    )
                after = rows[-1]["seq"]
        head = Anchor(checker.last_seq, checker.last_hash) if checker.last_seq else None
        if anchor is not None:
            if head is None or head.seq < anchor.seq:
                return VerifyResult(
                    False,
                    checker.checked,
                    (head.seq + 1) if head else 1,
                    f"chain truncated: the anchor names seq {anchor.seq}, the chain ends at "
                    f"{head.seq if head else 0}",
                    head,
                )
            got = self._hash_at(anchor.seq)
            if got != anchor.hash:
                return VerifyResult(
                    False, checker.checked, anchor.seq, "anchor mismatch: the chain was rewritten", head
                )
        return VerifyResult(True, checker.checked, None, None, head)

    def head(self) -> Anchor | None:
        """The newest entry's (seq, hash), to publish as an anchor; None for an empty log."""
        with self._errors("read"), self.engine.connect() as conn:
            row = conn.execute(
                select(_entry.c.seq, _entry.c.hash).order_by(_entry.c.seq.desc()).limit(1)
            ).first()
        return Anchor(row[0], row[1]) if row is not None else None

    def _hash_at(self, seq: int) -> str | None:
        with self._errors("read"), self.engine.connect() as conn:
            return conn.execute(select(_entry.c.hash).where(_entry.c.seq == seq)).scalar()

    def get(self, seq: int) -> AuditEntry | None:
        with self._errors("read"), Session(self.engine) as s:
            return s.get(AuditEntry, seq)

    # ------------------------------------------------------------------------------------- auditors

    def accesses_to_record(
        self,
        record_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        exclude_agency: str | None = None,
        limit: int = 100,
        after_seq: int | None = None,
    ) -> Page[AuditEntry]:
        """Every entry that touched `record_id` ("who looked at this child"), oldest first.

        `exclude_agency` leaves out the caller's own agency (an owner asking who else looked).
        Served by the (record_id, seq) index of `audit_record`.
        """
        check_record_id(record_id)
        q = (
            select(AuditEntry)
            .join(AuditRecord, col(AuditRecord.seq) == col(AuditEntry.seq))
            .where(col(AuditRecord.record_id) == record_id)
        )
        if exclude_agency is not None:
            q = q.where((col(AuditEntry.agency_id) != exclude_agency) | col(AuditEntry.agency_id).is_(None))
        return self._page(q, since, until, limit, after_seq, seq_col=col(AuditRecord.seq))

    def accesses_by_agency(
        self,
        agency_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after_seq: int | None = None,
    ) -> Page[AuditEntry]:
        """Everything one agency did, oldest first."""
        q = select(AuditEntry).where(col(AuditEntry.agency_id) == agency_id)
        return self._page(q, since, until, limit, after_seq)

    def denied_attempts(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        agency_id: str | None = None,
        limit: int = 100,
        after_seq: int | None = None,
    ) -> Page[AuditEntry]:
        """Requests refused as a whole (`deny`) or in part (`partial`: some fields denied)."""
        q = select(AuditEntry).where(col(AuditEntry.decision).in_(("deny", "partial")))
        if agency_id is not None:
            q = q.where(col(AuditEntry.agency_id) == agency_id)
        return self._page(q, since, until, limit, after_seq)

    def break_glass_uses(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        reviewed: bool | None = None,
        limit: int = 100,
        after_seq: int | None = None,
    ) -> Page[BreakGlassUse]:
        """Emergency overrides with their review state; `reviewed=False` is the reviewers' queue."""
        limit = _check_limit(limit)
        q = (
            select(AuditEntry, AuditReview)
            .outerjoin(AuditReview, col(AuditReview.seq) == col(AuditEntry.seq))
            .where(col(AuditEntry.break_glass).is_(True))
        )
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
            raise ValueError("reviewer must be a non-empty identity of at most 200 characters")
        with self._errors("write to"), Session(self.engine, expire_on_commit=False) as s:
            entry = s.get(AuditEntry, seq)
            if entry is None:
                raise LookupError(f"no audit entry {seq}")
            if not entry.break_glass:
                raise ValueError(f"audit entry {seq} is not a break-glass use")
            existing = s.get(AuditReview, seq)
            if existing is not None:
                if existing.reviewer != reviewer:
                    raise ValueError(f"audit entry {seq} was already reviewed by {existing.reviewer}")
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
            raise ValueError("window must be between 5 minutes and 1 day")
        if factor <= 0 or min_count < 0:
            raise ValueError("factor must be positive and min_count non-negative")
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
        alerts.sort(key=lambda a: (-a.count / max(a.threshold, 1.0), a.client_id))
        return alerts

    def _client_counts(self, lo: datetime, hi: datetime, clients: list[str] | None) -> dict[str, int]:
        q = (
            select(_entry.c.client_id, func.count())
            .select_from(_entry.join(_record, _record.c.seq == _entry.c.seq))
            .where(_entry.c.at >= lo, _entry.c.at < hi, _entry.c.client_id.is_not(None))
            .group_by(_entry.c.client_id)
        )
        if clients is not None:
            q = q.where(_entry.c.client_id.in_(clients))
        with self._errors("read"), self.engine.connect() as conn:
            return {c: int(n) for c, n in conn.execute(q)}

    def _agencies_of(self, client_id: str, lo: datetime, hi: datetime) -> tuple[str, ...]:
        q = (
            select(_entry.c.agency_id)
            .where(_entry.c.client_id == client_id, _entry.c.at >= lo, _entry.c.at < hi)
            .where(_entry.c.agency_id.is_not(None))
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
        limit = _check_limit(limit)
        seq_col = seq_col if seq_col is not None else col(AuditEntry.seq)
        q = _time_filter(q, since, until)
        if after_seq is not None:
            q = q.where(seq_col > after_seq)
        q = q.order_by(seq_col).limit(limit + 1)
        with self._errors("read"), Session(self.engine) as s:
            rows = list(s.exec(q).scalars())
        items = rows[:limit]
        return Page(items, items[-1].seq if len(rows) > limit else None)

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
        with self._errors("write to"), self.engine.begin() as conn:
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
        limit = _check_limit(limit)
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
        with self._errors("write to"), self.engine.begin() as conn:
            result = conn.execute(
                update(_notification)
                .where(_notification.c.id.in_(list(ids)), _notification.c.delivered_at.is_(None))
                .values(delivered_at=utcnow())
            )
            return max(result.rowcount, 0)

    # ------------------------------------------------------------------------------------- exporting

    def iter_rows(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        agency_id: str | None = None,
        batch: int = 5000,
    ) -> Iterator[dict[str, Any]]:
        """Entries as export dicts (JSON types, `at` as text), in seq order, read `batch` at a time."""
        after = 0
        conds = []
        if since is not None:
            conds.append(_entry.c.at >= _aware(since, "since"))
        if until is not None:
            conds.append(_entry.c.at < _aware(until, "until"))
        if agency_id is not None:
            conds.append(_entry.c.agency_id == agency_id)
        while True:
            with self._errors("read"), self.engine.connect() as conn:
                rows = (
                    conn.execute(
                        select(*_ENTRY_COLUMNS)
                        .where(and_(_entry.c.seq > after, *conds))
                        .order_by(_entry.c.seq)
                        .limit(batch)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            for row in rows:
                yield _export_row(row)
            after = rows[-1]["seq"]

    def export_jsonl(self, fp: IO[str], **filters: Any) -> int:
        """One JSON object per line (sorted keys), streaming; filters as `iter_rows`. Returns the count.

        An unfiltered export can be re-verified offline with `verify_rows(read_jsonl(fp))`.
        """
        n = 0
        for row in self.iter_rows(**filters):
            fp.write(canonical_json(row) + "\n")
            n += 1
        return n

    def export_csv(self, fp: IO[str], **filters: Any) -> int:
        """CSV with a header row; lists and objects JSON-encoded, booleans true/false, null as empty."""
        writer = csv.writer(fp, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        n = 0
        for row in self.iter_rows(**filters):
            writer.writerow([_csv_cell(row[c]) for c in EXPORT_COLUMNS])
            n += 1
        return n

    # ------------------------------------------------------------------------------------- internals

    @contextmanager
    def _errors(self, verb: str) -> Iterator[None]:
        try:
            yield
        except AuditUnavailable:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise AuditUnavailable(
                f"cannot {verb} the audit log in {self._where()}: {_cause(exc, self.engine)}"
            ) from exc
        except Exception as exc:
            dbapi = getattr(self.engine.dialect, "loaded_dbapi", None)
            if dbapi is not None and isinstance(exc, dbapi.Error):
                raise AuditUnavailable(
                    f"cannot {verb} the audit log in {self._where()}: {_cause(exc, self.engine)}"
                ) from exc
            raise

    def _where(self) -> str:
        return describe(self.engine.url)


# ------------------------------------------------------------------------ changes and their entries

_INTERNAL = "shouhu_audit_internal"
_WRITES = "shouhu_audit_writes"
_DML = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO)\s+\"?(\w+)",
    re.I,
)
_KEY_FORM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,159}")
_TABLE_FORM = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class _Recording:
    log: AuditLog
    event_for: Callable[[], AuditEvent]


_RECORDING: ContextVar[_Recording | None] = ContextVar("shouhu_audit_recording", default=None)


def _note_write(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    """After each statement: if it changed rows while a request is being recorded, remember which
    table (and, where the statement carries it, which row key) on the connection."""
    recording = _RECORDING.get()
    if recording is None or conn.info.get(_INTERNAL) or recording.log.engine.url != conn.engine.url:
        return
    m = _DML.match(statement)
    if m is None:
        return
    verb = statement.lstrip().split(None, 1)[0].lower()
    table_name = m.group(1).lower()
    writes: dict[str, set[str]] = conn.info.setdefault(_WRITES, {"fields": set(), "records": set()})
    if _TABLE_FORM.fullmatch(table_name):
        writes["fields"].add(f"{table_name}.{verb}")
    table = getattr(getattr(getattr(context, "compiled", None), "statement", None), "table", None)
    keys = [c.key for c in getattr(getattr(table, "primary_key", None), "columns", ())]
    if not keys or not _TABLE_FORM.fullmatch(table_name):
        return
    for params in getattr(context, "compiled_parameters", None) or ():
        values = [params.get(k, params.get(f"{k}_1")) for k in keys]
        if all(v is not None for v in values):
            key = ":".join(str(v) for v in values)
            if _KEY_FORM.fullmatch(key):
                writes["records"].add(f"{table_name}:{key}")


def _append_before_commit(conn: Connection) -> None:
    """Just before a transaction that changed rows commits: its audit entry, on its connection.
    Raising here (AuditUnavailable, or ValueError from the event's guard) aborts the commit."""
    writes = conn.info.pop(_WRITES, None)
    recording = _RECORDING.get()
    if not writes or recording is None or conn.info.get(_INTERNAL):
        return
    base = recording.event_for()
    fields = {k: tuple(v) for k, v in base.fields.items()}
    fields["write"] = tuple({*fields.get("write", ()), *writes["fields"]})
    records: set[str] = set(base.records)
    for r in writes["records"]:
        try:
            records.add(check_record_id(r))
        except ValueError:
            continue  # a row keyed by a value is named by its table (in `fields`), not its key
    ev = replace(base, records=tuple(records), fields=fields)  # validated again by __post_init__
    recording.log._append_in_transaction(conn, ev)


def _forget_writes(conn: Connection) -> None:
    conn.info.pop(_WRITES, None)


# ----------------------------------------------------------------------------------- export reading


_INT_COLUMNS = {"seq", "result_size", "status"}
_JSON_COLUMNS = {"records", "fields", "reasons"}


def read_jsonl(fp: IO[str]) -> Iterator[dict[str, Any]]:
    """Rows of an `export_jsonl` file."""
    for line in fp:
        if line.strip():
            yield json.loads(line)


def read_csv(fp: IO[str]) -> Iterator[dict[str, Any]]:
    """Rows of an `export_csv` file, typed as `read_jsonl` gives them."""
    reader = csv.DictReader(fp)
    for raw in reader:
        row: dict[str, Any] = {}
        for k, v in raw.items():
            if k in _INT_COLUMNS:
                row[k] = int(v)
            elif k in _JSON_COLUMNS:
                row[k] = json.loads(v)
            elif k == "break_glass":
                row[k] = v == "true"
            else:
                row[k] = v if v != "" else None
        yield row


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
                return VerifyResult(False, n, row["seq"], "entries out of order")
            if entry_hash(row) != row["hash"]:
                return VerifyResult(
                    False, n, row["seq"], "entry modified: its content does not match its hash"
                )
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


def _export_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = hashed_view(row)
    out["hash"] = row["hash"]
    return out


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return canonical_json(value)
    return str(value)


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value


def _time_filter(q: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        q = q.where(col(AuditEntry.at) >= _aware(since, "since"))
    if until is not None:
        q = q.where(col(AuditEntry.at) < _aware(until, "until"))
    return q


def _cause(exc: BaseException, engine: Engine) -> str:
    """The driver's message on one line, with the password scrubbed."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    line = (
        re.sub(r"\s+", " ", "; ".join(p.strip() for p in text.splitlines() if p.strip()))
        or type(exc).__name__
    )
    password = engine.url.password
    if password:
        line = line.replace(str(password), "***")
    return line
