"""A first load's graph build begun in a worker process while the sync still processes: each source,
once processed, is written into the build's spill (the reference tables first), so that the build at
the end reads only what is left.

Why: the build of a county's first load (``Pipeline._build_graph``, the rebuild's ``expected_graph``)
spent 29 s of 84 at 200,000 persons writing every loaded row's records into its spill on one core,
after a processing phase during which the other core idled. A source's loaded rows do not change
once the sync has processed it; what can still change is who a mention is: a later batch's
automatic merge (or a caseworker's, in the service) moves mentions to another person. So the worker
keeps the links it read each row under, and when told to finish it re-keys the rows whose mentions
have moved since, in place (the same records, in the same order, under today's links): the spill is
then what :func:`connectors.rebuild.project_record` would write now. The sources it wrote, a prefix
of ``SOURCE_NAMES``, are marked on the spill (``Spill.done``) and project_record goes on after them.

Anything unexpected (a source without stored projections, the reference tables changed, a row set
that is not the one written, the worker gone) and :meth:`SpillAhead.finish` returns None: the build
writes its spill from the start, as without this. The spill is a temporary file of the parent's
(``graph.fold.Spill``), deleted by it or, after a SIGKILL, by the next spill's sweep; the worker dies
with its parent (``PR_SET_PDEATHSIG``). Nothing here writes to a store.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import sys
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, func, select

from connectors.projection import decode_plain, resolve_plain
from connectors.rebuild import LinkedKeys, projections_hold, spill_source, write_reference
from connectors.reference import snapshot_reference
from connectors.sources import SOURCE_NAMES
from connectors.tables import LandingProjection, LandingRecord, ReferenceSnapshot
from graph.crash import crash_point
from graph.fold import Spill
from kernel.settings import get_settings
from kernel.worker_process import Lines, die_with_parent, send, start, stop

__all__ = ["SpillAhead"]

log = logging.getLogger("shouhu.sync")
L = LandingRecord.__table__  # type: ignore[attr-defined]
LP = LandingProjection.__table__  # type: ignore[attr-defined]
RS = ReferenceSnapshot.__table__  # type: ignore[attr-defined]


class SpillAhead:
    """The runner's side: a spill, and the worker writing processed sources into it."""

    def __init__(self, engine: Engine, read_chunk: int, batch_size: int) -> None:
        self.spill = Spill(read_chunk=read_chunk)
        self.spill.settle()  # the table made and committed: the worker writes after it
        job = {
            "url": engine.url.render_as_string(hide_password=False),  # on the pipe, never on argv
            "spill": str(self.spill.path),
            "read_chunk": read_chunk,
            "batch_size": batch_size,
        }
        try:
            self._proc = start("connectors.spill_ahead", [str(os.getpid())], own_points="spill_ahead.worker")
        except OSError:  # no worker to be had: the spill goes, the caller builds without one
            self.spill.close()
            raise
        try:
            self._messages = Lines(self._proc.stdout)  # a thread: can fail where the fork could not
        except BaseException:
            stop(self._proc)
            self.spill.close()
            raise
        self._failed = False
        self.summary: dict[str, Any] | None = None  # what the worker wrote (the run report's graph_build)
        self._tell({"job": job})

    def _tell(self, msg: dict[str, Any]) -> None:
        stdin = self._proc.stdin
        if self._failed or stdin is None:
            return
        try:
            stdin.write(json.dumps(msg).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, OSError):
            self._failed = True

    def processed(self, name: str) -> None:
        """``name`` is processed: its loaded rows are final for this run, the worker may write them."""
        self._tell({"processed": name})

    def finish(self) -> Spill | None:
        """The spill holding the sources the worker wrote (``Spill.done``), re-keyed to today's links,
        ready for the build to go on writing; None if anything went wrong (the spill is then gone)."""
        self._tell({"finish": True})
        done: dict[str, Any] | None = None
        why = ""
        silence = get_settings().sync_worker_silence_seconds
        while True:
            try:  # what it said before it stopped is kept; it says something every chunk it writes
                msg = self._messages.wait(silence)
            except TimeoutError:
                why = f"no word for {silence:g} s"
                break
            if msg is None or "error" in msg:
                why = (msg or {}).get("error", "")
                break
            if "finished" in msg:
                done = msg["finished"]
                break
        self._stop_worker()  # reaped: its exit code is known
        if done is None:
            why = why or f"exit code {self._proc.returncode}"
            log.warning("the graph build's worker stopped (%s); the build writes its spill itself", why)
        if done is None:
            self.spill.close()
            return None
        self.summary = {
            "sources": list(done["done"]),
            "rows": int(done["rows"]),
            "rekeyed": int(done["rekeyed"]),
        }
        self.spill.adopt(int(done["elements"]))
        self.spill.done, self.spill.done_rows = tuple(done["done"]), int(done["rows"])
        log.info(
            "the graph build's worker wrote %s (%d rows, %d re-keyed after merges)",
            ", ".join(self.spill.done) or "nothing",
            self.spill.done_rows,
            int(done["rekeyed"]),
        )
        return self.spill

    def _stop_worker(self) -> None:
        self._failed = True
        stop(self._proc, self._messages)

    def close(self) -> None:
        """The worker gone and the spill deleted (a run that stopped before its build)."""
        self._stop_worker()
        self.spill.close()


# ---- the worker ----------------------------------------------------------------------------------


class _Writer:
    """What the worker writes and remembers: each source, once processed, with the reference
    tables before the first; each row's place in the spill and the links it was read under."""

    def __init__(self, engine: Engine, spill: Spill, batch_size: int, alive: Callable[[int], None]) -> None:
        self.engine, self.spill, self.batch_size, self.alive = engine, spill, batch_size, alive
        self.links = LinkedKeys(engine)
        self.done: list[str] = []
        self.stopped = False  # a source it could not write: the build writes that one and what follows
        # Of every row written, in order: its landing seq, first ord and number of records (arrays:
        # 24 bytes a row, this worker's memory adds to the sync's).
        self.seqs, self.firsts, self.counts = array("q"), array("q"), array("q")
        self.written: dict[str, tuple[int, int]] = {}  # source: (rows, sum of seqs) as written
        self.snapshots: list[int] = []
        # The links each mention was read under (every one: a merge may move it between two chunks
        # of the same source), on disk beside the spill (a county's mentions).
        spill._db.execute(
            "CREATE TABLE IF NOT EXISTS used (system TEXT, record_id TEXT, key TEXT,"
            " PRIMARY KEY (system, record_id, key)) WITHOUT ROWID"
        )

    def _start(self) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(select(RS.c.id, RS.c.files, RS.c.asserted_at).order_by(RS.c.id)).all()
        if not found:  # the build may have to take one first (protection.record._reference_kept)
            return False
        for snapshot_id, files, asserted_at in found:
            write_reference(self.spill, snapshot_reference(files), asserted_at)
            self.snapshots.append(int(snapshot_id))
        return True

    def processed(self, name: str) -> None:
        """Write every source up to ``name`` in SOURCE_NAMES order (one not synced now holds what
        earlier runs loaded, which this run does not change)."""
        if self.stopped or name not in SOURCE_NAMES:
            return
        if not self.done and not self.snapshots and not self._start():
            self.stopped = True
            return
        for source in SOURCE_NAMES[len(self.done) : SOURCE_NAMES.index(name) + 1]:
            if not projections_hold(self.engine, source):
                self.stopped = True
                return
            before = len(self.seqs)
            spill_source(
                self.engine,
                source,
                self.spill,
                self.links,
                self.batch_size,
                self.alive,
                rows=self._row,
                used=self._used,
            )
            mine = self.seqs[before:]
            self.written[source] = (len(mine), sum(mine))
            self.done.append(source)
            crash_point("spill_ahead.worker")

    def _row(self, seq: int, first: int, n: int) -> None:
        self.seqs.append(seq)
        self.firsts.append(first)
        self.counts.append(n)

    def _used(self, keys: dict[tuple[str, str], str]) -> None:
        self.spill._db.executemany(
            "INSERT OR IGNORE INTO used VALUES (?, ?, ?)", [(sy, rid, k) for (sy, rid), k in keys.items()]
        )

    def finish(self) -> dict[str, Any] | None:
        """The sources written, once checked against the record and re-keyed; None if the record's
        rows or reference tables are not what was written (the build then writes everything)."""
        if not self.done:
            return {"done": [], "rows": 0, "elements": 0, "rekeyed": 0}
        with self.engine.connect() as conn:
            snapshots = [int(i) for (i,) in conn.execute(select(RS.c.id).order_by(RS.c.id))]
            if snapshots != self.snapshots:
                return None
            for source, (n, total) in self.written.items():
                now = conn.execute(
                    select(func.count(), func.coalesce(func.sum(L.c.seq), 0))
                    .select_from(L.join(LP, LP.c.seq == L.c.seq))
                    .where(and_(L.c.source == source, L.c.status == "loaded"))
                ).one()
                if (int(now[0]), int(now[1])) != (n, total):
                    return None
        rekeyed = self._rekey()
        elements = self.spill.count()
        self.spill.settle()
        return {"done": self.done, "rows": len(self.seqs), "elements": elements, "rekeyed": rekeyed}

    def _rekey(self) -> int:
        """Rows naming a person whose mentions moved since they were written, written again in place:
        the same records in the same order (a person stays a person), under today's links."""
        db: Any = self.spill._db  # the spill's own connection, in its write transaction
        self.spill._flush()
        moved: set[str] = set()
        cursor = db.execute("SELECT system, record_id, key FROM used")
        while chunk := cursor.fetchmany(20_000):
            now = self.links.lookup((sy, rid) for sy, rid, _ in chunk)
            moved.update(f"person:{key}" for sy, rid, key in chunk if now.get((sy, rid)) != key)
        if not moved:
            return 0
        db.execute("CREATE TEMP TABLE moved (id TEXT PRIMARY KEY) WITHOUT ROWID")
        db.executemany("INSERT INTO moved VALUES (?)", [(m,) for m in moved])
        ords = db.execute("SELECT ord FROM rec WHERE id IN moved OR src IN moved OR dst IN moved").fetchall()
        at = sorted({bisect.bisect_right(self.firsts, o) - 1 for (o,) in ords})
        affected = [(self.seqs[i], self.firsts[i], self.counts[i]) for i in at]
        batch = self.spill._batch
        for done, (seq, first, n) in enumerate(affected):
            if done % 1000 == 0:
                self.alive(done)
            with self.engine.connect() as conn:
                text = conn.execute(select(LP.c.records).where(LP.c.seq == seq)).scalar_one()
            nodes, rels = decode_plain(text)
            resolve_plain(nodes, rels, self.links.of_plain_refs([(nodes, rels)]))
            again = self.spill.plain_node_rows(nodes) + self.spill.plain_rel_rows(rels)
            if len(again) != n:
                raise RuntimeError(f"landing row {seq} projects {len(again)} records, was {n}")
            db.executemany(
                "UPDATE rec SET id = ?, src = ?, dst = ? WHERE ord = ?",
                [(r[2], r[5], r[6], first + i) for i, r in enumerate(again)],
            )
        self.spill._batch = batch  # the batches the rows were written with stay theirs
        return len(affected)


def main(argv: list[str]) -> int:
    """``python -m connectors.spill_ahead PARENT_PID``; its orders on stdin, a JSON line each."""
    import gc

    from kernel.db import make_engine
    from kernel.logs import withhold_exception_text

    die_with_parent(int(argv[0]))
    withhold_exception_text(get_settings())
    gc.disable()  # as the rebuild's own pause (kernel.collector): many objects, no cycles
    out = sys.stdout.buffer
    orders = sys.stdin.buffer
    job = json.loads(orders.readline())["job"]
    engine = make_engine(job["url"])
    spill = Spill(read_chunk=int(job["read_chunk"]), written=Path(job["spill"]), append=True)
    writer = _Writer(engine, spill, int(job["batch_size"]), lambda n: send(out, {"alive": n}))
    try:
        for line in orders:
            order = json.loads(line)
            if "processed" in order:
                writer.processed(order["processed"])
            elif order.get("finish"):
                result = writer.finish()
                send(out, {"finished": result} if result is not None else {"error": "the record moved"})
                return 0
        return 1  # the parent closed the pipe: it is gone, or gave up on this
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the kind only: the text may quote a record
        with contextlib.suppress(BrokenPipeError):
            send(out, {"error": type(exc).__name__})
        return 1
    finally:
        spill.close()
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
