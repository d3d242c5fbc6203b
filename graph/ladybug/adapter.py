"""The GraphStore port on LadybugDB: a directory under the data dir, in process, no server."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import ladybug
import pyarrow as pa
import pyarrow.parquet as pq

from graph.crash import crash_point
from graph.ladybug import queries as q
from graph.model import NODE_KINDS, REL_KINDS, PropType, label_of
from graph.port import FamilyRows, GraphStore, GraphStoreError, GraphUnavailable, _chunks
from graph.records import Selection, Step
from kernel.messages import say

if TYPE_CHECKING:
    from graph.fold import Spill

_ARROW = {
    PropType.STRING: pa.string(),
    PropType.BOOL: pa.bool_(),
    PropType.INT: pa.int64(),
    PropType.FLOAT: pa.float64(),
}
_INTERNAL = ("_ID", "_LABEL", "_SRC", "_DST")
log = logging.getLogger("shouhu.graph")
T = TypeVar("T")


def write_rel_files(
    directory: Path, prefix: str, kind: str, rows: Iterable[dict[str, Any]], chunk: int
) -> dict[tuple[str, str], tuple[Path, int]]:
    """A relationship type's rows in one Parquet file per end-label pair (one ``COPY`` each), written
    ``chunk`` rows at a time (a chunk per pair held): each pair's file and rows. Files written
    before a failure are deleted (the caller deletes them once loaded)."""
    cols = {"src": PropType.STRING, "dst": PropType.STRING, "id": PropType.STRING, **q.rel_columns(kind)}
    held: dict[tuple[str, str], list[dict[str, Any]]] = {}
    files: dict[tuple[str, str], tuple[Path, pq.ParquetWriter, list[int]]] = {}

    def write(pair: tuple[str, str]) -> None:
        table = arrow_table(held.pop(pair), cols)
        if pair not in files:
            path = directory / f"{prefix}-{kind}-{pair[0]}-{pair[1]}.parquet"
            # No dictionary pages: ids and provenance text are nearly all distinct, and the
            # dictionary cost the worker 0.7 CPU s of a 200,000-person build for nothing.
            writer = pq.ParquetWriter(path, table.schema, compression="none", use_dictionary=False)
            files[pair] = (path, writer, [0])
        files[pair][1].write_table(table)
        files[pair][2][0] += table.num_rows

    try:
        for row in rows:
            pair = (label_of(row["src"]), label_of(row["dst"]))
            batch = held.setdefault(pair, [])
            batch.append(row)
            if len(batch) >= chunk:
                write(pair)
        for pair in list(held):
            write(pair)
    except BaseException:
        for path, writer, _ in files.values():
            writer.close()
            path.unlink(missing_ok=True)
        raise
    for _, writer, _ in files.values():
        writer.close()
    return {pair: (path, n[0]) for pair, (path, _, n) in files.items()}


def copy_can_name(directory: Path) -> bool:
    """Whether a ``COPY … FROM '<file>'`` statement names a file in ``directory`` as it is: not with a
    quote (it ends the string), a backslash (an escape in the string) or a bracket (the name is read as
    a glob pattern: ``a[1]`` does not match itself). Measured on LadybugDB 0.22: under ``a\\b``,
    ``a\\nb`` or ``a[1]`` the ``COPY`` finds no file; ``a"b``, ``a b``, ``a*``, ``a?b``, ``a{b}`` load."""
    return not any(c in str(directory) for c in "'\\[")


def arrow_table(rows: list[dict[str, Any]], columns: dict[str, PropType]) -> pa.Table:
    """Typed columns, so a batch whose values are all null still has the column's real type."""
    fields = [pa.field(f"c_{k}", _ARROW.get(t, pa.string())) for k, t in columns.items()]
    data = {f"c_{k}": [r.get(k) for r in rows] for k in columns}
    return pa.table(data, schema=pa.schema(fields))


def _key(internal_id: dict[str, int]) -> tuple[int, int]:
    return internal_id["table"], internal_id["offset"]


# Up to this many relationships, lookups, updates and deletes go one statement per relationship
# (see graph/ladybug/queries.py, fetch_rel_provenance_one): each is a point lookup.
SMALL_BATCH = 16


class LadybugStore(GraphStore):
    backend = "ladybug"
    # LadybugDB 0.22 keeps buffer-pool memory from every write statement until the database
    # is closed (measured: 256 MB filled after 30 5,000-row MERGEs, 115 CREATEs, whatever the
    # checkpointing; or after 400-1,000 one-row writes; reopening frees it and takes ~0.1 s).
    # So writes are counted in units, a batch statement BATCH_WRITE units and a one-row
    # statement one, and after `reopen_after_writes` units (one per MB of pool, at least 240)
    # the store reopens itself between transactions (the lookups of a write count too).
    BATCH_WRITE = 10
    ARROW_STATEMENT = 16  # budget units of a read statement that scans an Arrow table (LOAD FROM)
    # What is measured decides, not only what is counted: before each transaction the pool's use
    # (``CALL bm_info()``) is read, and above this share of the pool the store reopens first.
    # Why: the pages a committed write touched stay in the pool, and how many depends on the size
    # of the tables, not on the number of statements: at 20,000 persons a 20,000-row sync batch
    # left 40-240 MB behind it, at 200,000 persons the write count allowed some 400 batch
    # statements between reopens and the 4 GB pool filled in the survey source. The rest of the
    # pool is the headroom one transaction needs: a sync writes a batch in parts of
    # `sync_graph_tx_records` records, one transaction each (connectors/pipeline.py), so that
    # headroom grows with the part, not with the batch (one 20,000-record transaction needed more
    # than 60% of 1 GB at 200,000 persons).
    REOPEN_AT_SHARE = 0.4
    READ_CONNECTIONS = 4  # reads at once on their own connections (the engine runs them in parallel)
    # Each read connection pins pool pages of its own: four threads reading 2-hop neighbourhoods
    # filled a 64 or 96 MB pool and every read failed, two in 64 MB and four in 128 MB did not. So
    # a small pool gets fewer read connections: one per this many MB, at least one.
    POOL_MB_PER_READ = 48
    REOPEN_WAIT = 5.0  # seconds a read waits to reopen a store a stopped reopen left closed
    GATE_WAIT = 0.05  # seconds between looks at the pool while waiting (a notification may be lost)

    def __init__(self, path: Path, buffer_pool_mb: int = 0, checkpoint_mb: int = 0) -> None:
        super().__init__()
        self.path = Path(path)
        self._pool_bytes = buffer_pool_mb * 1024 * 1024
        # When to checkpoint (0: as the engine does, inside every COMMIT whose log passes 16 MB, and
        # on every close). A checkpoint that touched a node table rewrites it whole, whatever it
        # changed (2.3 s for one Person updated at 60,000 persons), so the store checkpoints once
        # its log passes this size, after the COMMIT that took it there (`_commit`), and before a
        # reopen (`_fold_log_before_reopen`); a log a kill leaves is replayed when it opens again.
        self._checkpoint_bytes = checkpoint_mb * 1024 * 1024
        self._writes = 0
        # Reads hold pool pages too (measured: a 256 MB pool filled after 190 profile reads at
        # 50,000 persons), so a long-running server reopens after a budget of statements that
        # grows with the pool, between transactions, where nothing is lost by it. The pages held
        # are a `LOAD FROM` of an Arrow table's (measured at 200,000 persons with a 64 MB pool: a
        # 100-row LOAD FROM lookup filled it after 143 statements; the same lookup under UNWIND,
        # a hop of `queries.expand` and a page of `queries.residents` ran 3,000 times each and
        # held nothing), so such a statement costs ARROW_STATEMENT units of the budget and any
        # other one. A reopen costs 0.14-0.26 s on a loaded machine: at one unit a statement a
        # people page's dozen statements no longer reopen the store every 25 pages (the p99).
        pool_mb = buffer_pool_mb or int(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.8 / 2**20
        )
        self._statement_budget = max(16 * self.ARROW_STATEMENT, pool_mb)
        self._read_connections = max(1, min(self.READ_CONNECTIONS, pool_mb // self.POOL_MB_PER_READ))
        self.reopen_after_writes = max(24 * self.BATCH_WRITE, pool_mb)
        self._statements = 0
        self._must_reopen = False  # a failed checkpoint or a full pool: reopen at the next chance
        self._in_tx = False
        self._healthy = False
        self._closed = False
        # Reads run on connections of their own (see `_execute`), at most READ_CONNECTIONS at
        # once; `_gate` guards the pool and the count of reads mid-statement.
        self._gate_lock = threading.RLock()
        self._gate = threading.Condition(self._gate_lock)
        self._pool: list[Any] = []
        self._busy: dict[int, Any] = {}  # the pool's slots a read holds, by index
        self._closing = 0
        self._open()

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = ladybug.Database(
                str(self.path),
                buffer_pool_size=self._pool_bytes,
                auto_checkpoint=not self._checkpoint_bytes,
            )
            self._conn = ladybug.Connection(self._db)
            if self._checkpoint_bytes:
                self._conn.execute("CALL force_checkpoint_on_close=false")
        except (OSError, RuntimeError) as exc:
            raise GraphStoreError(f"cannot open the LadybugDB graph at {self.path}: {exc}") from exc
        self._healthy = True
        self._closed = False

    def _reads(self) -> AbstractContextManager[Any]:
        return nullcontext()  # reads take a connection of their own, statement by statement (`_run`)

    def _execute(self, statement: str, params: dict[str, Any], units: int, take: Callable[[Any], T]) -> T:
        """Run one statement and `take` what it answers. The thread holding the store's lock (a
        transaction, a bulk path, a reopen) runs on the writer connection, inside its transaction.
        Any other thread's statement is a read: it runs on a read connection of the pool, outside any
        transaction, so it sees the last committed state and never waits for a write transaction
        in flight (LadybugDB's snapshot isolation: measured, a read on a second connection answered
        in 1 ms while the first held an open transaction of 200,000 updated rows and ran more).
        The read holds its connection (`_busy`) until its result is taken and closed; a reopen
        (which closes the database) waits for the held ones and holds new reads back meanwhile.

        A request stopped by the API (time budget, client gone) gets an exception raised in its
        thread at its next Python call, wherever that is, once. So nothing here that a read takes
        is given back by a generator's `finally` (one stopped in `__enter__` is left to the garbage
        collector, and the count with it) or by a Condition's own `__enter__`/`__exit__` (Python
        code: a stop there leaves the lock held): the slot is marked and unmarked by dictionary
        operations with no call between them and the `try`, under a C lock (`_gate_lock`), and a
        wait never trusts a notification (one skipped by a stop costs a 50 ms wait, not a hang)."""
        if self._lock._is_owned():  # type: ignore[attr-defined]
            if self._closed:
                raise GraphUnavailable(say("graph.unavailable"))
            if not self._healthy or (not self._in_tx and self._statements >= self._statement_budget):
                self._reopen_when_full()
            self._statements += units
            if self._in_tx:
                crash_point("graph.statement")  # a kill inside a large write (tests only)
            return self._on(self._conn, statement, params, take)
        self._reopen_for_reads()
        slot = -1
        try:
            with self._gate_lock:
                while self._closing or (
                    len(self._busy) >= len(self._pool) and len(self._pool) >= self._read_connections
                ):
                    self._gate.wait(self.GATE_WAIT)
                if self._closed or not self._healthy:
                    raise GraphUnavailable(say("graph.unavailable"))
                free = [i for i in range(len(self._pool)) if i not in self._busy]
                if not free:
                    self._pool += [ladybug.Connection(self._db)]
                    free = [len(self._pool) - 1]
                taken = free[0]
                slot = taken
                self._busy[taken] = self._pool[taken]  # no call between `slot` and the mark
            self._statements += units
            try:
                return self._on(self._busy[slot], statement, params, take)
            except GraphStoreError as exc:
                if "Buffer manager exception" in str(exc):
                    # The pool is full: spend the budget, so the next statement between
                    # transactions reopens the store (frees the pool) instead of failing too.
                    self._statements = self._statement_budget
                    self._must_reopen = True
                raise
        finally:
            if slot >= 0:
                self._busy.pop(slot, None)  # the mark goes first, before any call
                with self._gate_lock:
                    self._gate.notify_all()

    def _on(self, conn: Any, statement: str, params: dict[str, Any], take: Callable[[Any], T]) -> T:
        try:
            result = conn.execute(statement, params)
        except RuntimeError as exc:
            raise GraphStoreError(f"LadybugDB: {exc}") from exc
        if isinstance(result, list):
            raise GraphStoreError("LadybugDB returned several results for one statement")
        try:
            return take(result)
        finally:
            result.close()  # an open result pins buffer-pool pages until it is collected

    def _reopen_for_reads(self) -> None:
        """A read finding the store reopened half-way or its statement budget spent reopens it, but
        only between transactions, and it never waits for a transaction in flight over a spent
        budget (the writer reopens at its next transaction's start)."""
        if self._closed or (self._healthy and self._statements < self._statement_budget):
            return
        try:
            if not self._lock.acquire(timeout=0 if self._healthy else self.REOPEN_WAIT):
                if self._healthy:
                    return
                raise GraphUnavailable(say("graph.unavailable"))
            if not self._in_tx and not self._closed:
                self._reopen_when_full()
        finally:
            if self._lock._is_owned():  # type: ignore[attr-defined]  # (not owned on entry)
                self._lock.release()

    def _exclusively(self, action: Callable[[], T]) -> T:
        """Run `action` with no read mid-statement and none starting (the caller holds the lock, so
        no transaction is in flight on another thread either). Written out, not a context manager,
        for the reason `_execute` gives: a reopen is run by a read too, and may be stopped."""
        entered = False
        try:
            with self._gate_lock:
                self._closing += 1
                entered = True
                while self._busy:
                    self._gate.wait(self.GATE_WAIT)
            return action()
        finally:
            if entered:
                self._closing -= 1
                with self._gate_lock:
                    self._gate.notify_all()

    def _run(self, statement: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        arrow = any(isinstance(v, pa.Table) for v in (params or {}).values())
        # Rows are lists: dictionaries come only from a connection opened to return them.
        units = self.ARROW_STATEMENT if arrow else 1
        return cast(list[list[Any]], self._execute(statement, params or {}, units, lambda r: r.get_all()))

    def _run_rows(self, statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """`_run` for large answers of scalar columns: taken as one Arrow table and zipped, which
        measured 4x faster than row by row (480,000 rows at 200,000 persons: 3 s against 12 s)."""
        table = self._execute(statement, params, 1, lambda r: r.get_as_arrow(0))
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    def init_schema(self) -> None:
        with self._lock:
            for label in NODE_KINDS:
                self._run(q.create_node_table(label))
            for rel_type in REL_KINDS:
                self._run(q.create_rel_table(rel_type))
            self._run(q.create_meta_table())

    def close(self) -> None:
        """Checkpoint first: a store closed cleanly leaves no write-ahead log to replay. Reads in
        flight end first; later ones are refused (GraphStoreError) until the store is opened again."""
        with self._lock:
            try:
                if not self._in_tx and not self._closed:
                    self.checkpoint()
            except GraphStoreError as exc:
                log.warning("LadybugDB checkpoint on close failed: %s", exc)
            finally:
                self._exclusively(self._close_for_good)

    def _close_for_good(self) -> None:
        self._closed = True
        self._close_handles()

    def _close_handles(self) -> None:
        """Close every connection and the database (the caller holds the store exclusively)."""
        self._healthy = False
        handles = [*self._pool, getattr(self, "_conn", None), getattr(self, "_db", None)]
        self._pool, self._busy = [], {}
        for handle in handles:
            if handle is not None:
                try:
                    handle.close()
                except RuntimeError as exc:
                    log.warning("LadybugDB: closing a handle failed: %s", exc)

    def replaced_while_serving(self, replace: Callable[[], T]) -> T:
        """Run ``replace``, which puts a new graph file in place of this store's (graph rebuild), while
        reads go on from the open database, then open the new file. The old file stays readable
        through the open database even once moved aside or deleted (measured: a read after the swap
        answered from the old file, closing it touched nothing at the path, the new file opened with
        its own content). No write transaction runs meanwhile (the lock is held: it would be lost
        with the old file), and the checkpoint first leaves no log of the old file beside the path.
        Reads wait only for the reopen at the end (0.1-0.3 s), as for any reopen."""
        with self._lock:
            self.checkpoint()
            try:
                return replace()
            finally:
                self._reopen()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file: the next open has no log to replay."""
        with self._lock:
            if self._in_tx:
                raise GraphStoreError("cannot checkpoint inside a transaction")
            self._run("CHECKPOINT")

    def wal_bytes(self) -> int:
        """The size of the write-ahead log (0 when there is none)."""
        try:
            return (self.path.parent / (self.path.name + ".wal")).stat().st_size
        except FileNotFoundError:
            return 0

    # ---- the projection's bookkeeping and bulk paths ------------------------------------------
    def _read_meta(self, key: str) -> str | None:
        rows = self._run(q.read_meta(), {"key": key})
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def _write_meta(self, key: str, value: str) -> None:
        self._writes += 1
        self._run(q.write_meta(), {"key": key, "value": value})

    def _all_nodes(self, label: str) -> list[dict[str, Any]]:
        return [self._clean(r[0]) for r in self._run(q.all_nodes(label))]

    def _all_rels(self, rel_type: str) -> list[dict[str, Any]]:
        return [{**self._clean(e), "src": src, "dst": dst} for src, dst, e in self._run(q.all_rels(rel_type))]

    def _rows_after(
        self, section: str, kind: str, after: str | None, limit: int
    ) -> list[dict[str, Any]] | None:
        """One page of ``scan``: a statement per page, the kind's rows above ``after`` by id."""
        params = {"after": after or "", "limit": limit}
        if section == "node":
            return [self._clean(r[0]) for r in self._run(q.nodes_after(kind), params)]
        return [
            {**self._clean(e), "src": src, "dst": dst}
            for src, dst, e in self._run(q.rels_after(kind), params)
        ]

    def bulk_load(
        self,
        nodes: dict[str, list[dict[str, Any]]],
        rels: dict[str, list[dict[str, Any]]],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """``COPY`` from Arrow tables, one statement per table (and per end-label pair): the only
        form fast enough for a county (per-row relationship creation measured 120 s per 1,000)."""
        with self._lock:
            for label, rows in nodes.items():
                if rows:
                    cols = {"id": PropType.STRING, **q.node_columns(label)}
                    self._copy_nodes(label, arrow_table(rows, cols), progress)
            for rel_type, all_rows in rels.items():
                by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
                for row in all_rows:
                    by_pair.setdefault((label_of(row["src"]), label_of(row["dst"])), []).append(row)
                cols = {
                    "src": PropType.STRING,
                    "dst": PropType.STRING,
                    "id": PropType.STRING,
                    **q.rel_columns(rel_type),
                }
                for (src_label, dst_label), rows in sorted(by_pair.items()):
                    self._run(q.copy_rels(rel_type, src_label, dst_label), {"rows": arrow_table(rows, cols)})
                    if progress:
                        progress(len(rows))
            self.checkpoint()
            self._reopen()  # the pool pages the copies touched are freed

    def _copy_nodes(self, label: str, table: pa.Table, progress: Callable[[int], None] | None) -> None:
        self._run(q.copy_nodes(label), {"rows": table})
        if progress:
            progress(table.num_rows)

    @staticmethod
    def _sections(
        section: str, kind: str, batch: list[dict[str, Any]]
    ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
        """``bulk_load``'s nodes and relationships arguments for one kind's rows."""
        return ({kind: batch}, {}) if section == "node" else ({}, {kind: batch})

    def copy_kind(
        self,
        section: str,
        kind: str,
        rows: Iterable[dict[str, Any]],
        directory: Path,
        chunk: int,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Every row of one node kind or relationship type (a rebuild's, into empty tables).

        Relationships: one ``COPY`` per end-label pair, from a Parquet file the rows are written to
        ``chunk`` at a time in ``directory`` (held: a chunk per pair). A relationship ``COPY`` into
        a table that already holds rows costs several times one into an empty table (measured:
        200,000 relationships in 20,000-row ``bulk_load`` calls 6.9 CPU s, from one file 1.5).
        Nodes (and relationships when ``directory``'s name has a quote or such, which a ``COPY``
        statement cannot name: ``copy_can_name``): ``bulk_load`` ``chunk`` rows at a time, as before:
        a node ``COPY`` holds memory in proportion to what it loads (the 60,000 people of a county in
        one: 0.7 GB more at its peak), and costs less than twice as much in parts. Returns the rows loaded."""
        if section == "node" or not copy_can_name(directory):  # (a COPY statement cannot name that file)
            batch: list[dict[str, Any]] = []
            loaded = 0
            for row in rows:
                batch.append(row)
                if len(batch) >= chunk:
                    self.bulk_load(*self._sections(section, kind, batch), progress)
                    loaded += len(batch)
                    batch = []
            if batch:
                self.bulk_load(*self._sections(section, kind, batch), progress)
                loaded += len(batch)
            return loaded
        return self._copy_rel_files(
            kind, write_rel_files(directory, f"copy-{section}", kind, rows, chunk), progress
        )

    def _copy_rel_files(
        self,
        kind: str,
        files: dict[tuple[str, str], tuple[Path, int]],
        progress: Callable[[int], None] | None,
    ) -> int:
        """One ``COPY`` per end-label pair of a relationship type, from its Parquet file, in pair
        order; then a checkpoint and a reopen. The files are deleted, loaded or not. Returns the
        rows loaded."""
        loaded = 0
        try:
            with self._lock:
                for pair, (path, n) in sorted(files.items()):
                    self._run(f"COPY {kind} FROM '{path}' (from='{pair[0]}', to='{pair[1]}')")
                    loaded += n
                    if progress:
                        progress(n)
                if files:
                    self.checkpoint()
                    self._reopen()  # the pool pages the copies touched are freed
        finally:
            for path, _ in files.values():
                path.unlink(missing_ok=True)
        return loaded

    def copy_spill(
        self, spill: Spill, chunk: int, progress: Callable[[int], None] | None = None, ahead: int = 0
    ) -> tuple[int, int] | None:
        """Every kind of ``spill`` (a rebuild's, into empty tables) as :meth:`copy_kind` loads them
        one after the other, the fold and the Parquet files made meanwhile in a worker process
        (graph/ladybug/build_worker.py, at most ``ahead`` rows ahead of the loads): the same rows
        and relationship files in the same order, on two cores; each node file ``COPY``-ed from its
        path (read into an Arrow table here first, the table and the ``COPY`` of it took 0.35 GB more
        at their peak), a node group at a time. Returns (nodes, relationships) loaded; None, nothing
        done, when the spill's directory cannot be named in a ``COPY`` statement (then
        :meth:`copy_kind` it is)."""
        if not copy_can_name(spill.path):
            return None
        from graph.ladybug.build_worker import FoldWorker
        from kernel.worker_process import why_not_started

        counts = {"node": 0, "rel": 0}
        files: dict[tuple[str, str], tuple[Path, int]] = {}
        try:
            worker = FoldWorker(spill, chunk, ahead)
        except OSError as exc:  # no process to be had (EAGAIN, ENOMEM): one process folds and copies
            log.warning(
                "the rebuild's worker could not be started (%s); this process folds the graph",
                why_not_started(exc),
            )
            return None
        with worker:
            for msg in worker.messages():
                section, kind = msg["section"], msg["kind"]
                if "file" in msg:
                    path = Path(msg["file"])
                    if section == "rel":
                        files[(msg["pair"][0], msg["pair"][1])] = (path, msg["rows"])
                        continue
                    try:  # as bulk_load: each chunk of nodes its own COPY, then a reopen
                        with self._lock:
                            self._run(f"COPY {kind} FROM '{path}'")
                            self.checkpoint()
                            self._reopen()
                    finally:
                        path.unlink(missing_ok=True)  # a COPY error stays the error
                    counts["node"] += msg["rows"]
                    if progress:
                        progress(msg["rows"])
                    continue
                if files:  # the end of a relationship type: its pairs copied, from their files
                    counts["rel"] += self._copy_rel_files(kind, files, progress)
                    files = {}
                crash_point("rebuild.kind_loaded")
                worker.ack()
        return counts["node"], counts["rel"]

    def _reopen(self) -> None:
        # Unhealthy until the new connection is open: a request stopped half-way through a reopen
        # (the API cancels a request past its time budget with an asynchronous exception) leaves
        # the store to be reopened by the next statement, not closed for every later request.
        with self._lock:
            self._fold_log_before_reopen()
            self._exclusively(self._reopened)

    def _fold_log_before_reopen(self) -> None:
        """Checkpoint before a reopen when a log is pending: opening replays it otherwise, and a replay
        costs more than the checkpoint and leaves its pages in the pool (measured: a 149 MB log,
        pool 222 MB; reopened as it was, 22.9 s and 114 MB still in use; checkpointed first, 2.3 s +
        0.1 s and 15 MB). With the log left, the sync's pool-pressure reopens replayed it again and
        again (48 of 69 s sampled at 200,000 persons)."""
        if not self._checkpoint_bytes or self._in_tx or not self._healthy or self._closed:
            return
        if self.wal_bytes() == 0:
            return
        try:  # on the connection itself: `_run` may reopen (the statement budget), which lands here
            self._on(self._conn, "CHECKPOINT", {}, lambda r: None)
        except GraphStoreError as exc:
            log.warning("LadybugDB checkpoint before reopening failed; the log is replayed on open: %s", exc)

    def _reopen_when_full(self) -> None:
        """A spent count (statements or writes) reopens the store only if the pool's use says so
        (above REOPEN_AT_SHARE), else the counts start again. The counts stand in for pages held
        until a reopen, which the pool's use measures: in a 60,000-person sync every one of its seven
        reopens came from a count (LOAD FROM writes cost ARROW_STATEMENT units each) with the pool
        at 318-684 MB of 1,536, and each reopen checkpointed first (1.5-45 s on a loaded machine,
        the checkpoint rewriting each touched table whole). A store that must reopen (a failed
        checkpoint, a full pool, a pool that cannot be read) reopens."""
        if self._healthy and not self._must_reopen:
            try:
                rows = self._on(self._conn, "CALL bm_info() RETURN *", {}, lambda r: r.get_all())
                used, size = int(rows[0][1]), int(rows[0][0])
            except GraphStoreError:
                used, size = 1, 0
            if used <= size * self.REOPEN_AT_SHARE:
                self._writes = self._statements = 0
                return
        self._reopen()

    def _reopened(self) -> None:
        self._close_handles()
        self._must_reopen = False
        self._writes = self._statements = 0
        self._in_tx = False
        self._open()

    def pool_use(self) -> tuple[int, int]:
        """(bytes in use, pool size in bytes) of the buffer pool, as the engine counts them."""
        with self._lock:
            rows = self._run("CALL bm_info() RETURN *")
        return int(rows[0][1]), int(rows[0][0])

    def _begin(self) -> None:
        used, size = self.pool_use()
        if used > size * self.REOPEN_AT_SHARE:
            self._reopen()  # frees what earlier statements left (a pending log folded first)
        self._run("BEGIN TRANSACTION")
        self._in_tx = True

    def _commit(self) -> None:
        try:
            self._run("COMMIT")
        except GraphStoreError as exc:
            self._in_tx = False
            # The data is durable; only the checkpoint after it ran out of buffer pool. Reopening
            # frees the pool and replays the write-ahead log, so the next checkpoint succeeds.
            if "committed successfully" not in str(exc):
                raise
            log.warning("LadybugDB checkpoint after commit failed; reopening the database")
            self._must_reopen = True
        self._in_tx = False
        if self._checkpoint_bytes and self.wal_bytes() > self._checkpoint_bytes:
            crash_point("graph.checkpoint_due")  # committed, the log not yet folded (tests only)
            try:
                self.checkpoint()
            except GraphStoreError as exc:
                # The commit stands (it is in the log). A reopen frees the pool; the next COMMIT
                # past the size checkpoints again.
                log.warning("LadybugDB checkpoint failed; reopening the database: %s", exc)
                self._must_reopen = True
        if self._must_reopen or self._writes >= self.reopen_after_writes:
            self._reopen_when_full()

    def _rollback(self) -> None:
        # LadybugDB aborts the transaction itself when a statement in it fails.
        try:
            self._run("ROLLBACK")
        except GraphStoreError as exc:
            if "No active transaction" not in str(exc):
                raise
        finally:
            self._in_tx = False

    @staticmethod
    def _clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in _INTERNAL}

    def _fetch_nodes(self, label: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = self._run(q.fetch_nodes(label), {"ids": list(ids)})
        return [self._clean(r[0]) for r in rows]

    def _fetch_rel_provenance(
        self, rel_type: str, src_label: str, dst_label: str, keys: Sequence[tuple[str, str]]
    ) -> dict[str, tuple[str, str]]:
        if not keys:
            return {}
        if len(keys) <= SMALL_BATCH:
            self._writes += 1  # (counted as before; the batch form below holds no pages, see the query)
            one = q.fetch_rel_provenance_one(rel_type, src_label)
            rows = [r for rel_id, src in keys for r in self._run(one, {"src": src, "id": rel_id})]
            return {r[0]: (r[1], r[2]) for r in rows}
        wanted = set(keys)
        srcs = sorted({src for _, src in keys})
        rows = self._run(q.fetch_rel_provenance(rel_type, src_label), {"ids": srcs})
        return {r[0]: (r[2], r[3]) for r in rows if (r[0], r[1]) in wanted}

    def _weight(self, rows: int) -> int:
        return 1 if rows <= SMALL_BATCH else self.BATCH_WRITE

    def _write_nodes(self, label: str, rows: list[dict[str, Any]], *, new: bool) -> None:
        self._writes += self._weight(len(rows))
        statement = q.create_nodes(label) if new else q.update_nodes(label)
        self._run(statement, {"rows": arrow_table(rows, {"id": PropType.STRING, **q.node_columns(label)})})

    def _write_rels(
        self, rel_type: str, src_label: str, dst_label: str, rows: list[dict[str, Any]], *, new: bool
    ) -> int:
        cols = {
            "id": PropType.STRING,
            "src": PropType.STRING,
            "dst": PropType.STRING,
            **q.rel_columns(rel_type),
        }
        self._writes += self._weight(len(rows))
        if not new and len(rows) <= SMALL_BATCH:
            one = q.update_rel_one(rel_type, src_label)
            written = 0
            for row in rows:
                params = {
                    "src": row["src"],
                    "id": row["id"],
                    **{f"p_{k}": row.get(k) for k in q.rel_columns(rel_type)},
                }
                result = self._run(one, params)
                written += int(result[0][0]) if result else 0
            return written
        statement = (
            q.create_rels(rel_type, src_label, dst_label) if new else q.update_rels(rel_type, src_label)
        )
        result = self._run(statement, {"rows": arrow_table(rows, cols)})
        return int(result[0][0]) if result else 0

    def _delete_nodes(self, label: str, ids: Sequence[str]) -> None:
        self._writes += self._weight(len(ids))
        self._run(
            q.delete_nodes(label), {"rows": arrow_table([{"id": i} for i in ids], {"id": PropType.STRING})}
        )

    def _delete_rels(self, rel_type: str, src_label: str, keys: Sequence[tuple[str, str]]) -> None:
        self._writes += self._weight(len(keys))
        if len(keys) <= SMALL_BATCH:
            for rel_id, src in keys:
                self._run(q.delete_rel_one(rel_type, src_label), {"src": src, "id": rel_id})
            return
        rows = [{"id": rel_id, "src": src} for rel_id, src in keys]
        cols = {"id": PropType.STRING, "src": PropType.STRING}
        self._run(q.delete_rels(rel_type, src_label), {"rows": arrow_table(rows, cols)})

    def _rel_row(self, e: dict[str, Any], ids_by_internal: dict[tuple[int, int], str]) -> dict[str, Any]:
        return {
            **self._clean(e),
            "type": e["_LABEL"],
            "src": ids_by_internal[_key(e["_SRC"])],
            "dst": ids_by_internal[_key(e["_DST"])],
        }

    def _neighbourhoods(
        self,
        starts: list[dict[str, Any]],
        depth: int,
        rel_types: Sequence[str] | None,
        not_through: frozenset[str] = frozenset(),
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Breadth first, as the port's default, with ids only on the way: per hop, two
        statements (out, in) per label of the frontier, each from primary-key lookups of the
        frontier (`queries.expand`); then one node fetch per label reached. The count is bounded
        by depth and kinds, not by the number of starts, and no statement scans a table: a
        recursive pattern from a set of starts scanned the start label's table (`a.id IN $ids`),
        and its hub filter every node table, on every read (0.8 s for a page at 200,000 persons,
        36 ms for one profile)."""
        nodes = {row["id"]: row for row in starts}
        seen: set[str] = set(nodes)
        rels: dict[str, dict[str, Any]] = {}
        frontier = list(nodes)
        for _ in range(depth):
            by_label: dict[str, list[str]] = {}
            for i in frontier:
                kind = label_of(i)
                if i in nodes or kind not in not_through:
                    by_label.setdefault(kind, []).append(i)
            nxt: list[str] = []
            for kind, ids in by_label.items():
                for outgoing in (True, False):
                    types = q.expand_types(kind, rel_types, outgoing)
                    if not types:
                        continue
                    props = q.expand_props(types)
                    statement = q.expand(kind, types, outgoing)
                    for chunk in _chunks(ids, self.chunk_size):
                        for a_id, b_id, rel_type, rel_id, *values in self._run(statement, {"ids": chunk}):
                            if b_id is None:
                                continue  # the start has no relationship of these types this way
                            if rel_id not in rels:
                                row = dict(zip(props, values, strict=True))
                                src, dst = (a_id, b_id) if outgoing else (b_id, a_id)
                                rels[rel_id] = {**row, "id": rel_id, "type": rel_type, "src": src, "dst": dst}
                            if b_id not in seen:
                                seen.add(b_id)
                                nxt.append(b_id)
            frontier = nxt
            if not frontier:
                break
        reached: dict[str, list[str]] = {}
        for i in seen - set(nodes):
            reached.setdefault(label_of(i), []).append(i)
        for kind, ids in reached.items():
            for chunk in _chunks(sorted(ids), self.chunk_size):
                for row in self._fetch_nodes(kind, chunk):
                    nodes.setdefault(row["id"], row)
        return list(nodes.values()), list(rels.values())

    def _shortest(
        self, a: str, b: str, max_depth: int, rel_types: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        rows = self._run(q.shortest(label_of(a), label_of(b), max_depth, rel_types), {"a": a, "b": b})
        if not rows:
            return None
        nodes, rels = rows[0]
        internal = {_key(n["_ID"]): n["id"] for n in nodes}
        return [self._clean(n) for n in nodes], [self._rel_row(e, internal) for e in rels]

    def _list_division(self, label: str, prefix: str, after: str, limit: int) -> list[dict[str, Any]]:
        rows = self._run(q.list_division(label), {"prefix": prefix, "after": after, "limit": limit})
        return [self._clean(r[0]) for r in rows]

    def _residents(self, prefix: str, after: str, limit: int) -> list[str]:
        whole = len(prefix) == 12
        params = {"division": f"division:{prefix}", "after": after, "limit": limit}
        found = {r[0] for hh in (False, True) for r in self._run(q.residents(whole, hh), params)}
        return sorted(found)[:limit]  # each way's first `limit` hold the union's first `limit`

    def _conflicted(self, label: str, limit: int) -> list[dict[str, Any]]:
        return [self._clean(r[0]) for r in self._run(q.conflicted(label), {"limit": limit})]

    def _find(self, label: str, prop: str, values: Sequence[Any], limit: int) -> list[dict[str, Any]]:
        rows = self._run(q.find(label, prop), {"values": list(values), "limit": limit})
        return [self._clean(r[0]) for r in rows]

    def _guardian_loads(
        self, prefix: str, min_children: int, as_of: str, limit: int
    ) -> list[tuple[str, list[str]]]:
        params = {"prefix": prefix, "k": min_children, "as_of": as_of, "limit": limit}
        return [(r[0], sorted(r[1])) for r in self._run(q.guardian_loads(), params)]

    def _case_subjects(self, label: str, prefix: str, limit: int) -> list[tuple[str, str]]:
        if limit <= 0:
            return []
        return [(r[0], r[1]) for r in self._run(q.case_subjects(label), {"prefix": prefix, "limit": limit})]

    def _household_members(self, prefix: str, after: str, limit: int) -> list[tuple[str, str | None]]:
        rows = self._run(q.household_members(), {"prefix": prefix, "after": after, "limit": limit})
        return [(r[0], r[1]) for r in rows]

    def _child_guardians(
        self, prefix: str, born_after: str, after: str, limit: int
    ) -> list[tuple[str, str | None, str | None, str | None]]:
        params = {"prefix": prefix, "born_after": born_after, "after": after, "limit": limit}
        return [(r[0], r[1], r[2], r[3]) for r in self._run(q.child_guardians(), params)]

    def _child_families(self, prefix: str, born_since: str, claim_key: str, system_key: str) -> FamilyRows:
        params: dict[str, Any] = {"prefix": prefix, "born": born_since}
        claim = {**params, "key": claim_key}
        return FamilyRows(
            cast(Any, self._run_rows(q.family_people(), params)),
            cast(Any, self._run_rows(q.family_enrolments(), params)),
            cast(Any, self._run_rows(q.family_parents(), params)),
            cast(Any, self._run_rows(q.family_households(), params)),
            cast(Any, self._run_rows(q.family_parent_claims(), claim)),
            cast(Any, self._run_rows(q.family_parent_households(), {**claim, "system": system_key})),
        )

    def _set_params(self, selection: Selection) -> list[dict[str, Any]]:
        """One parameter set per statement: one per id, or one for the division."""
        if selection.division_prefix is None:
            return [{"id": i} for i in selection.ids]
        params: dict[str, Any] = {"prefix": selection.division_prefix}
        if selection.born_from is not None:
            params["born_from"] = selection.born_from
        return [params]

    def _select(self, selection: Selection) -> list[dict[str, Any]]:
        if selection.division_prefix is None:
            return self._fetch_nodes(selection.label, list(selection.ids))
        statement = q.select(selection.label, False, selection.born_from is not None)
        cols = q.set_columns([selection.label])
        return [
            dict(zip(cols, r, strict=True))
            for p in self._set_params(selection)
            for r in self._run(statement, p)
        ]

    def _hops(
        self, selection: Selection, path: Sequence[Step]
    ) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        by_id = selection.division_prefix is None
        steps = [(s.rel_type, s.direction, s.label) for s in path]
        statement = q.hops(selection.label, steps, by_id, selection.born_from is not None)
        last = path[-1]
        rel_cols = ["id", *q.rel_columns(last.rel_type)]
        far_cols = q.set_columns(q.end_labels(last.rel_type, last.direction, last.label))
        n_rel = len(rel_cols)
        out = []
        for params in self._set_params(selection):
            for row in self._run(statement, params):
                near, rel, far = (
                    row[0],
                    dict(zip(rel_cols, row[1 : 1 + n_rel], strict=True)),
                    row[1 + n_rel :],
                )
                far_row = dict(zip(far_cols, far, strict=True))
                src, dst = (near, far_row["id"]) if last.direction == "out" else (far_row["id"], near)
                out.append((near, {**rel, "type": last.rel_type, "src": src, "dst": dst}, far_row))
        return out

    def _count_nodes(self, label: str) -> int:
        return int(self._run(q.count_nodes(label))[0][0])

    def _count_rels(self, rel_type: str) -> int:
        return int(self._run(q.count_rels(rel_type))[0][0])
