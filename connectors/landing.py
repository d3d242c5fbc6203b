"""Landing: store every raw record before anything else happens to it.

A source's records are written to ``landing_record`` exactly as received (canonical JSON,
SHA-256 content hash), in chunks that each commit, before any validation or graph write.
So a crash can lose nothing that was not yet landed, and a record read again is
recognised by its hash instead of being landed twice. Everything downstream works from
the landing table: the pipeline processes ``pending`` rows in landing order, the
quarantine is the set of ``quarantined`` rows, and replay re-reads their stored payload.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, func, select, type_coerce, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import NullType

from connectors.bulk import insert_tuples
from connectors.tables import LandingRecord
from kernel import jsontext
from kernel.collector import cycle_collection_paused
from kernel.db.engine import for_writing
from kernel.db.tables import utcnow

__all__ = [
    "LandedRow",
    "LandingCounts",
    "RawRecord",
    "ReadFailed",
    "canonical_json",
    "content_hash",
    "fetch_latest",
    "land",
    "pending_batch",
]

T = LandingRecord.__table__  # type: ignore[attr-defined]
# Bound parameters per IN (...) list: under SQLite's historical limit of 999.
_IN_CHUNK = 900


@dataclass(frozen=True)
class RawRecord:
    """One record as a source connector read it, before any validation.

    ``payload`` is JSON-serialisable and holds what the source sent (a CSV row as
    column → text, a FHIR resource, a survey form); ``origin`` says where it was read
    (``police/hukou.csv:1042`` or a URL); ``asserted_at`` is when the source said it,
    used as the provenance time of every claim the record makes.
    """

    record_id: str
    kind: str
    payload: dict[str, Any]
    origin: str
    asserted_at: datetime
    group_key: str | None = None


@dataclass(frozen=True)
class LandedRow:
    """A landing row as the pipeline processes it."""

    seq: int
    source: str
    record_id: str
    kind: str
    payload: dict[str, Any]
    asserted_at: datetime
    group_key: str | None
    status: str = "pending"


@dataclass
class LandingCounts:
    """What landing one source's read did with each record received.

    ``received = landed + carried + unchanged + duplicates``: ``landed`` are new versions
    (or superseded versions sent again), ``carried`` were landed by an interrupted run
    and still wait to be processed, ``unchanged`` were already processed, ``duplicates``
    repeat a record earlier in the same read.
    """

    received: int = 0
    landed: int = 0
    carried: int = 0
    unchanged: int = 0
    duplicates: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class ReadFailed(Exception):
    """The source's read raised partway: ``counts`` are what landing did with every record read
    before it (all of them landed, the last partial chunk too), the read's exception is the cause.

    The records landed are processed like any others, so the run must count them as received; the
    cursor is not moved (the next read starts where the last complete one did, and finds what was
    landed now by its hash)."""

    def __init__(self, counts: LandingCounts, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__} after {counts.received} records")
        self.counts = counts
        self.cause = cause


def canonical_json(payload: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text: equal content gives equal bytes (the standard
    library's text, with ``default=str``: ``json.dumps(payload, ensure_ascii=False,
    sort_keys=True, separators=(",", ":"), default=str)``, written by orjson where it is the same)."""
    return _canonical(payload).decode()


def content_hash(kind: str, canonical: str) -> str:
    return hashlib.sha256(f"{kind}\n{canonical}".encode()).hexdigest()


_ORJSON_SORTED = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_SORT_KEYS
# A float orjson may write otherwise than the standard library, in orjson's compact text: an exponent
# (``2.5e-7``; the standard library writes ``2.5e-07``) ends a number, so a comma, brace or bracket follows.
_NEG_EXPONENT = re.compile(rb"e-[0-9]+[,}\]]")


def _canonical(payload: dict[str, Any]) -> bytes:
    """:func:`canonical_json`'s text, UTF-8 encoded.

    orjson writes the standard library's text except for floats below 1e-4 and NaN or the
    infinities (see kernel.jsontext). Where its text has ``null`` (NaN, or a None), ``0.0000``
    or a negative exponent ending a number, the standard library writes it. This is
    :func:`kernel.jsontext.dumps_sorted`'s rule, with the exponent test looking for ``e-``
    followed by a whole exponent rather than any ``e-`` after a digit: a FHIR resource's UUIDs
    (``…4508303e-2f31…``) sent every one of them through two regular expressions over its text.
    """
    try:
        data = orjson.dumps(payload, default=str, option=_ORJSON_SORTED)
    except TypeError:  # orjson.JSONEncodeError is a TypeError: the standard library writes it or raises
        data = None
    if data is None or b"null" in data or b"0.0000" in data or _NEG_EXPONENT.search(data) is not None:
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        return text.encode()
    return data


def land(
    engine: Engine,
    source: str,
    run_id: str,
    records: Iterable[RawRecord],
    *,
    chunk_size: int = 5_000,
    on_chunk: Any = None,
) -> LandingCounts:
    """Land ``records`` of ``source``, committing every ``chunk_size`` records.

    Idempotent: a version already landed is counted, not inserted (the unique constraint
    on source, record_id and content hash backs this up). A version that had been
    superseded and is sent again goes back to ``pending``, so the source's latest word
    is what the graph ends up with. ``on_chunk(n)`` is called after each commit with
    the records received in it (progress bars). A read that raises partway ends in
    :class:`ReadFailed`, after what it read has landed, with the counts of it.
    """
    counts = LandingCounts()
    memo: dict[str, dict[Any, Any]] = {}  # the stored text of each asserted_at (connectors.bulk)
    buffer: list[RawRecord] = []
    # One connection for the read, each chunk its own transaction (committed before the next is read).
    # The cycle collector paused (kernel/collector.py): a read holds a parsed Bundle file and a chunk
    # of records alive, none of it garbage, and each full collection walked them and everything
    # else alive again (60,000 persons, health and register: 13 full collections, 1.3 CPU s).
    failed: Exception | None = None
    reading = iter(records)
    with cycle_collection_paused(), engine.connect() as conn, _landing_cache(conn):
        # Each chunk reads what is landed, then writes: the write lock taken at BEGIN, so a writer in
        # another process (the runner, while a worker lands ahead) is waited for, not refused.
        for_writing(conn)
        while True:
            # Only the read's own exceptions are the source's failure; landing's propagate as they are.
            try:
                rec = next(reading)
            except StopIteration:
                break
            except Exception as exc:
                failed = exc
                break
            buffer.append(rec)
            if len(buffer) >= chunk_size:
                _land_chunk(conn, source, run_id, buffer, counts, memo)
                if on_chunk:
                    on_chunk(len(buffer))
                buffer = []
        if buffer:  # what was read before a failure is landed too: it was received
            _land_chunk(conn, source, run_id, buffer, counts, memo)
            if on_chunk:
                on_chunk(len(buffer))
    if failed is not None:
        raise ReadFailed(counts, failed) from failed
    return counts


# SQLite's page cache for a landing connection, in KiB (its default is 2,000): a county's landing
# table and its five indexes outgrow the default at once, and each chunk's inserts then read their
# index pages back from the file (at 200,000 persons the health landing's system time halved).
_LANDING_CACHE_KIB = 65_536


@contextmanager
def _landing_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache while ``conn`` lands, the connection's own size restored after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: a statement through SQLAlchemy would begin a transaction.
    raw: Any = conn.connection.dbapi_connection
    before = int(raw.execute("PRAGMA cache_size").fetchone()[0])
    raw.execute(f"PRAGMA cache_size = -{_LANDING_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {before}")


# The columns a landing row is inserted with, in this order (connectors.bulk.insert_tuples).
_INSERT_COLUMNS = (
    "source",
    "record_id",
    "kind",
    "content_hash",
    "payload",
    "origin",
    "group_key",
    "asserted_at",
    "received_at",
    "run_id",
    "status",
)


def _land_chunk(
    conn: Connection,
    source: str,
    run_id: str,
    chunk: Sequence[RawRecord],
    counts: LandingCounts,
    memo: dict[str, dict[Any, Any]],
) -> None:
    prepared: dict[tuple[str, str], tuple[RawRecord, str]] = {}
    by_kind = counts.by_kind
    prefixes: dict[str, bytes] = {}
    sha256 = hashlib.sha256
    for rec in chunk:
        kind = rec.kind
        by_kind[kind] = by_kind.get(kind, 0) + 1
        data = _canonical(rec.payload)
        prefix = prefixes.get(kind)
        if prefix is None:
            prefix = prefixes[kind] = f"{kind}\n".encode()
        # content_hash(kind, text): the UTF-8 of "kind\ntext" is the kind's followed by the text's
        key = (rec.record_id, sha256(prefix + data).hexdigest())
        if key in prepared:
            counts.duplicates += 1
            continue
        prepared[key] = (rec, data.decode())
    counts.received += len(chunk)
    now = utcnow()
    with conn.begin():
        existing = _existing(conn, source, sorted({rid for rid, _ in prepared}))
        new_rows: list[tuple[Any, ...]] = []
        revived: list[int] = []
        for key, (rec, text) in prepared.items():
            found = existing.get(key)
            if found is None:
                new_rows.append(
                    (
                        source,
                        key[0],
                        rec.kind,
                        key[1],
                        text,
                        rec.origin[:500],
                        rec.group_key,
                        rec.asserted_at,
                        now,
                        run_id,
                        "pending",
                    )
                )
            elif found[1] == "pending":
                counts.carried += 1
            elif found[1] == "superseded":
                revived.append(found[0])
            else:
                counts.unchanged += 1
        if new_rows:
            insert_tuples(conn, T, _INSERT_COLUMNS, new_rows, memo=memo)
        if revived:
            conn.execute(
                update(T)
                .where(T.c.seq.in_(revived))
                .values(status="pending", reason_code=None, reason=None, processed_at=None)
            )
        counts.landed += len(new_rows) + len(revived)


def _existing(conn: Connection, source: str, ids: Sequence[str]) -> dict[tuple[str, str], tuple[int, str]]:
    """(seq, status) of every landed version of these record ids of ``source``, by (record id, hash).

    On SQLite the statement is SQLite's own text, one per length of id list: SQLAlchemy compiled the
    expanding ``IN`` again for every list (a sixth of landing's time besides SQLite's inserts)."""
    existing: dict[tuple[str, str], tuple[int, str]] = {}
    sqlite_text = conn.dialect.name == "sqlite"
    for i in range(0, len(ids), _IN_CHUNK):
        part = ids[i : i + _IN_CHUNK]
        if sqlite_text:
            rows: Any = conn.exec_driver_sql(_existing_sql(len(part)), (source, *part))
        else:
            rows = conn.execute(
                select(T.c.record_id, T.c.content_hash, T.c.seq, T.c.status).where(
                    and_(T.c.source == source, T.c.record_id.in_(part))
                )
            )
        for rid, h, seq, status in rows:
            existing[(rid, h)] = (seq, status)
    return existing


@functools.lru_cache(maxsize=8)
def _existing_sql(n: int) -> str:
    marks = ", ".join("?" * n)
    return (
        f"SELECT record_id, content_hash, seq, status FROM {T.name} "
        f"WHERE source = ? AND record_id IN ({marks})"
    )


def landed_row(r: Any) -> LandedRow:
    seq, source, record_id, kind, payload, asserted_at, group_key, status = r
    return LandedRow(
        seq=seq,
        source=source,
        record_id=record_id,
        kind=kind,
        payload=jsontext.loads_exact(payload),
        asserted_at=_read_time(asserted_at),
        group_key=group_key,
        status=status,
    )


_SQLITE = sqlite.dialect()
_SQLITE_TIME = T.c.asserted_at.type._cached_result_processor(_SQLITE, None)


@functools.lru_cache(maxsize=4096)
def _read_time(stored: Any) -> datetime:
    """A stored ``asserted_at`` as its column type reads it, once per distinct stored value.

    The rows of a source file share a few of them, and SQLAlchemy would parse every row's
    text again: the column is selected untyped (:data:`LANDED_COLUMNS`) and read here. SQLite
    hands back text, PostgreSQL's driver a datetime.
    """
    out: datetime = (
        _SQLITE_TIME(stored)
        if isinstance(stored, str)
        else T.c.asserted_at.type.process_result_value(stored, _SQLITE)
    )
    return out


LANDED_COLUMNS = (
    T.c.seq,
    T.c.source,
    T.c.record_id,
    T.c.kind,
    T.c.payload,
    # untyped: landed_row reads it as the column type does, once per distinct value (_read_time)
    type_coerce(T.c.asserted_at, NullType()).label("asserted_at"),
    T.c.group_key,
    T.c.status,
)


def pending_batch(engine: Engine, source: str, size: int, *, whole_groups: bool = False) -> list[LandedRow]:
    """The next ``size`` pending rows of ``source`` in landing order.

    With ``whole_groups`` the batch is extended with every other pending row of the last
    row's group (a household of the register), so a household is never split between
    two batches: inferences over a whole household then see all of it, and the batch
    boundaries stay the same however often a run is interrupted.
    """
    with engine.connect() as conn:
        rows = [
            landed_row(r)
            for r in conn.execute(
                select(*LANDED_COLUMNS)
                .where(and_(T.c.source == source, T.c.status == "pending"))
                .order_by(T.c.seq)
                .limit(size)
            ).all()
        ]
        if whole_groups and rows and rows[-1].group_key is not None and len(rows) == size:
            seen = {r.seq for r in rows}
            # The status is tested here, not in SQL (see fetch_latest): the group's rows by its index.
            more = conn.execute(
                select(*LANDED_COLUMNS)
                .where(and_(T.c.source == source, T.c.group_key == rows[-1].group_key))
                .order_by(T.c.seq)
            ).all()
            rows += [landed_row(r) for r in more if r.status == "pending" and r.seq not in seen]
    return rows


def fetch_latest(
    engine: Engine, source: str, record_ids: Iterable[str], *, statuses: tuple[str, ...] = ("loaded",)
) -> dict[str, LandedRow]:
    """The newest row in ``statuses`` of each given record id (those that have one).

    The status is tested here, not in SQL: with ``status IN`` in the statement SQLite walks the
    (source, status, seq) index, every loaded row of the source, once per chunk of ids (0.11 s a
    chunk at 84,000 health rows, growing with the county); without it, it looks the ids up in the
    (source, record_id) index. Only the few other versions of these ids are read besides."""
    ids = sorted(set(record_ids))
    out: dict[str, LandedRow] = {}
    with engine.connect() as conn:
        for i in range(0, len(ids), _IN_CHUNK):
            rows = conn.execute(
                select(*LANDED_COLUMNS)
                .where(and_(T.c.source == source, T.c.record_id.in_(ids[i : i + _IN_CHUNK])))
                .order_by(T.c.seq)
            ).all()
            for r in rows:
                if r.status in statuses:
                    out[r.record_id] = landed_row(r)
    return out


def fetch_group(engine: Engine, source: str, group_keys: Iterable[str], exclude: set[int]) -> list[LandedRow]:
    """Loaded rows of the given groups outside the current batch (for household context).

    The status is tested here, not in SQL, so that SQLite reads the groups by their index
    (see :func:`fetch_latest`)."""
    keys = sorted(set(group_keys))
    out: list[LandedRow] = []
    with engine.connect() as conn:
        for i in range(0, len(keys), _IN_CHUNK):
            rows = conn.execute(
                select(*LANDED_COLUMNS)
                .where(and_(T.c.source == source, T.c.group_key.in_(keys[i : i + _IN_CHUNK])))
                .order_by(T.c.seq)
            ).all()
            out += [landed_row(r) for r in rows if r.status == "loaded" and r.seq not in exclude]
    return out


def quarantined_of_groups(engine: Engine, source: str, rows: list[LandedRow]) -> list[LandedRow]:
    """The quarantined rows of these rows' households: they were in the batch the sync made."""
    keys = sorted({r.group_key for r in rows if r.group_key})
    out: list[LandedRow] = []
    with engine.connect() as conn:
        for i in range(0, len(keys), 900):
            out += [
                landed_row(r)
                for r in conn.execute(
                    select(*LANDED_COLUMNS).where(
                        and_(
                            T.c.source == source,
                            # dismissed later by an operator: still what the batch saw then
                            T.c.status.in_(("quarantined", "dismissed")),
                            T.c.group_key.in_(keys[i : i + 900]),
                        )
                    )
                )
            ]
    return out


def count_by_status(engine: Engine, source: str | None = None) -> dict[str, int]:
    stmt = select(T.c.status, func.count()).group_by(T.c.status)
    if source:
        stmt = stmt.where(T.c.source == source)
    with engine.connect() as conn:
        return {status: n for status, n in conn.execute(stmt)}


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
