"""`AuditLog`: append to the hash chain, verify it, answer auditors, notify case owners, export.

Writing. `append` takes the chain lock, reads the head (seq, hash), computes the new entry's hash from
the head's and inserts the entry and its record index rows, all in one transaction:

* SQLite: `BEGIN IMMEDIATE` takes the database write lock before the head is read, so two processes
  cannot both extend the same head. Threads of one process also queue on a process-local lock first,
  which spares them SQLite's sleep-and-retry busy handler. Entries go through one DBAPI connection the
  log keeps for itself, with the INSERTs prepared once. With `durable=True` (the default) that
  connection runs `synchronous=FULL`: every commit fsyncs the WAL before `append` returns (the engine's
  default NORMAL may lose the last commits on power loss, which an audit log must not).
* Group commit (`auth.audit.commit`): requests that append while another's commit is under way share
  the next transaction and its one fsync, and each still returns only after the commit that holds
  its entry. An access is never answered before its entry is durable; N concurrent requests pay about
  two fsyncs instead of N.
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

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from functools import cached_property
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Connection

from auth.audit.chain import Anchor, ChainChecker, VerifyResult, _entry_row
from auth.audit.change_capture import (
    _INTERNAL,
    _RECORDING,
    _append_before_commit,
    _forget_writes,
    _note_write,
    _Recording,
)
from auth.audit.commit import GroupCommit
from auth.audit.event import (
    GENESIS_HASH,
    AuditEvent,
)
from auth.audit.export import AuditExport
from auth.audit.notifications import AuditNotifications
from auth.audit.queries import AuditQueries
from auth.audit.store import ENTRY_COLUMNS, ENTRY_TABLE, RECORD_TABLE
from graph.crash import crash_point
from kernel.db.engine import SQLITE_BEGIN_OPTION
from kernel.db.tables import utcnow
from kernel.messages import say

_HEAD_SQL = "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1"

# Any constant works; every process appending to this database must use the same one.
_PG_CHAIN_LOCK = 0x5348_4155_4449_54  # "SHAUDIT"


class AuditLog(AuditQueries, AuditNotifications, AuditExport):
    """The audit log on the relational store. One per engine; thread-safe."""

    # --------------------------------------------------------------------------------------- writing

    def append(self, event: AuditEvent) -> int:
        """Write one entry; return its seq once the transaction holding it has committed (fsynced
        when durable). Concurrent callers share transactions (`auth.audit.commit`). Raises
        `AuditUnavailable` when the store cannot be written."""
        if not isinstance(event, AuditEvent):
            raise TypeError(f"append takes AuditEvent, not {type(event).__name__}")
        return self._group.append(event)

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
        with self._local_lock:
            return self._write_batch(batch)

    @cached_property
    def _group(self) -> GroupCommit:
        return GroupCommit(self._write_batch, lock=self._local_lock)

    def _write_batch(self, batch: list[AuditEvent]) -> list[int]:
        """One transaction holding `batch`, committed before this returns. The caller holds the
        process-local chain lock."""
        with self._errors("write"):
            if self._sqlite:
                return self._write_sqlite(batch)
            with self._chain_transaction(locked=True) as conn:
                return self._write(conn, batch)

    def _write_sqlite(self, batch: list[AuditEvent]) -> list[int]:
        """`_write` on SQLite through the DBAPI connection the log keeps for itself: the same rows
        and hashes, with the statements prepared once (sqlite3 keeps them by text) instead of built
        by SQLAlchemy per entry, and `synchronous=FULL` set once on that connection instead of
        switched on and off around each commit. `BEGIN IMMEDIATE` still takes the database write
        lock before the head is read, so other processes appending to the file stay out."""
        raw = self._writer()
        entries: list[tuple[Any, ...]] = []
        records: list[tuple[int, str]] = []
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                head = raw.execute(_HEAD_SQL).fetchone()
                seq, prev = (int(head[0]), str(head[1])) if head is not None else (0, GENESIS_HASH)
                now = utcnow()
                for ev in batch:
                    seq += 1
                    row = _entry_row(ev, seq, prev, now)
                    prev = row["hash"]
                    entries.append(
                        tuple(
                            row[name] if proc is None else proc(row[name]) for name, proc in self._entry_binds
                        )
                    )
                    records.extend((seq, r) for r in ev.records)
                raw.executemany(self._entry_sql, entries)
                if records:
                    raw.executemany(self._record_sql, records)
                crash_point("audit.inserted")  # the batch written, not committed (tests only)
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
        except BaseException:
            self._drop_writer()  # a connection in an unknown state is not reused
            raise
        return list(range(seq - len(batch) + 1, seq + 1))

    def _writer(self) -> Any:
        """The log's own connection to the SQLite file (taken from the engine, so with its pragmas,
        then detached from the pool: it never serves anything else)."""
        if self._raw is None:
            pooled = self.engine.raw_connection()
            raw = pooled.driver_connection
            pooled.detach()
            if raw is None:
                raise RuntimeError("the audit database connection is closed")
            if self.durable:
                # The engine's NORMAL may lose the last commits on power loss, which an audit log
                # must not: with WAL, FULL fsyncs the log file at every commit.
                raw.execute("PRAGMA synchronous=FULL")
            self._raw, self._raw_owner = raw, pooled
        return self._raw

    def _drop_writer(self) -> None:
        owner, self._raw, self._raw_owner = self._raw_owner, None, None
        if owner is not None:
            with suppress(Exception):  # already broken; the next write opens a new one
                owner.close()

    @cached_property
    def _entry_binds(self) -> list[tuple[str, Callable[[Any], Any] | None]]:
        dialect = self.engine.dialect
        return [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in ENTRY_COLUMNS]

    @cached_property
    def _entry_sql(self) -> str:
        q = self.engine.dialect.identifier_preparer
        names = ", ".join(q.quote(c.name) for c in ENTRY_COLUMNS)
        marks = ", ".join("?" for _ in ENTRY_COLUMNS)
        return f"INSERT INTO {q.format_table(ENTRY_TABLE)} ({names}) VALUES ({marks})"

    @cached_property
    def _record_sql(self) -> str:
        q = self.engine.dialect.identifier_preparer
        return f"INSERT INTO {q.format_table(RECORD_TABLE)} (seq, record_id) VALUES (?, ?)"

    def _write(self, conn: Connection, batch: list[AuditEvent]) -> list[int]:
        """Extend the chain on `conn`, inside its transaction, which must hold the chain lock
        (SQLite: the database write lock; PostgreSQL: the advisory lock)."""
        head = conn.execute(
            select(ENTRY_TABLE.c.seq, ENTRY_TABLE.c.hash).order_by(ENTRY_TABLE.c.seq.desc()).limit(1)
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
            conn.execute(insert(ENTRY_TABLE), entries)
            if records:
                conn.execute(insert(RECORD_TABLE), records)
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
        with self._hooks_lock:
            if self._hooks_installed:
                return
            event.listen(self.engine, "after_cursor_execute", _note_write)
            event.listen(self.engine, "commit", _append_before_commit)
            event.listen(self.engine, "rollback", _forget_writes)
            self._hooks_installed = True

    def _append_in_transaction(self, conn: Connection, ev: AuditEvent) -> int:
        with self._errors("write"):
            if self._postgres:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
            seq = self._write(conn, [ev])[0]
        crash_point("audit.change_entry")  # a change's entry written with it, neither committed (tests)
        return seq

    @contextmanager
    def _chain_transaction(self, *, locked: bool = False) -> Iterator[Connection]:
        """A transaction holding the chain lock (`locked`: the caller holds the process-local one)."""
        if not self._sqlite:
            with self.engine.connect() as conn, conn.begin():
                if self._postgres:
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_CHAIN_LOCK})")
                yield conn
            return
        with nullcontext() if locked else self._local_lock, self.engine.connect() as conn:
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
                        select(*ENTRY_COLUMNS)
                        .where(ENTRY_TABLE.c.seq > after)
                        .order_by(ENTRY_TABLE.c.seq)
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
                        select(RECORD_TABLE.c.seq, RECORD_TABLE.c.record_id).where(
                            RECORD_TABLE.c.seq.between(rows[0]["seq"], rows[-1]["seq"])
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
                            say("audit.chain.index_differs"),
                        )
                if index:
                    orphan = min(index)
                    return VerifyResult(False, checker.checked, orphan, say("audit.chain.index_orphan"))
                after = rows[-1]["seq"]
        head = Anchor(checker.last_seq, checker.last_hash) if checker.last_seq else None
        if anchor is not None:
            if head is None or head.seq < anchor.seq:
                return VerifyResult(
                    False,
                    checker.checked,
                    (head.seq + 1) if head else 1,
                    say("audit.chain.truncated", anchor=anchor.seq, end=head.seq if head else 0),
                    head,
                )
            got = self._hash_at(anchor.seq)
            if got != anchor.hash:
                reason = say("audit.chain.anchor_mismatch")
                return VerifyResult(False, checker.checked, anchor.seq, reason, head)
        return VerifyResult(True, checker.checked, None, None, head)
