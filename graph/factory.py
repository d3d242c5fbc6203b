"""Choose the graph adapter from the settings (Neo4j when a URI is given, LadybugDB otherwise), and
keep an embedded graph openable: probe it in a child process, move a broken one aside, swap in a
rebuilt one.

Why a child process: after a hard kill LadybugDB's write-ahead-log replay fails more often than not
(measured 9 of 10 here), by raising "the WAL file is corrupted" or by crashing the process. A crash in
a child is an exit code; in the service it would be the service. The graph is a projection of the
relational store, so a graph that cannot be opened is set aside (kept, for whoever wants to look) and
rebuilt from the record (``shouhu.record``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from graph.crash import crash_point
from graph.port import GraphInUse, GraphStore, GraphStoreError
from kernel.settings import Settings

log = logging.getLogger("shouhu.graph")

# The child opens the file (replaying its log), checkpoints and closes: a file it opened is clean.
_PROBE = """
import sys, ladybug
db = ladybug.Database(sys.argv[1], buffer_pool_size=int(sys.argv[2]))
conn = ladybug.Connection(db)
conn.execute("CHECKPOINT")
conn.close()
db.close()
"""
PROBE_TIMEOUT = 600.0


def open_graph(settings: Settings, *, init: bool = True) -> GraphStore:
    """Open (and by default create the schema of) the configured graph store.

    Raises GraphStoreError with one line naming the store and the cause.
    """
    store: GraphStore
    if settings.neo4j_uri:
        from graph.neo4j import Neo4jStore

        store = Neo4jStore(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
        )
    else:
        from graph.ladybug import LadybugStore

        store = LadybugStore(settings.graph_path, settings.graph_buffer_pool_mb, settings.graph_checkpoint_mb)
    if init:
        store.init_schema()
    return store


def wal_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


_LOCKED = re.compile(r"Could not set lock on file.*?\(Lock is held by PID (\d+)\)")


def lock_holder(message: str) -> int | None:
    """The process holding the graph's file lock, when ``message`` is the engine saying so. A graph
    another process holds is in use, not broken: it must never be set aside and rebuilt."""
    m = _LOCKED.search(message)
    return int(m[1]) if m else None


def probe(settings: Settings) -> str | None:
    """None when the embedded graph opens in a child process (its log replayed and checkpointed),
    else why not, in one line. Nothing to probe (no file yet, or Neo4j) is None too; nor is a graph
    this process already holds open. A graph another process holds raises GraphStoreError."""
    path = settings.graph_path
    if settings.neo4j_uri or not (path.exists() or wal_of(path).exists()):
        return None
    pool = settings.graph_buffer_pool_mb * 1024 * 1024
    try:
        done = _run_probe(path, pool)
        if done.returncode and pool and _POOL_FULL in done.stderr:
            # Replaying the log takes pool in proportion to it, and the log is folded only past
            # graph_checkpoint_mb (256) or at a sync's end: after a killed sync a configured pool that
            # serves the checkpointed graph can be too small to replay it (measured at 1,000 persons:
            # a 6.8 MB log needs a 40 MB pool where the folded graph opens in 32). That graph is not
            # broken: replayed here with the engine's own share (a child process, gone after the
            # checkpoint), it opens with the configured pool afterwards, with no log left.
            done = _run_probe(path, 0)
    except subprocess.TimeoutExpired:
        return f"opening it did not finish within {PROBE_TIMEOUT:.0f} s"
    if done.returncode == 0:
        return None
    holder = lock_holder(done.stderr)
    if holder == os.getpid():
        return None  # open in this process (the service's API and its workers share one store)
    if holder is not None:
        raise GraphInUse(
            f"cannot open the LadybugDB graph at {path}: another process (PID {holder}) is using it", holder
        )
    if done.returncode < 0:
        return f"the engine crashed opening it (signal {-done.returncode})"
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"the engine exited with code {done.returncode} opening it"


_POOL_FULL = "The buffer pool is full"


def _run_probe(path: Path, pool: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), str(pool)],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT,
    )


def move_aside(path: Path, why: str) -> Path | None:
    """Move the graph file and its log into ``<name>.aside/<UTC time>-<why>/``; where they went."""
    wal = wal_of(path)
    present = [p for p in (path, wal) if p.exists()]
    if not present:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(path.name + ".aside") / f"{stamp}-{why}"
    target.mkdir(parents=True, exist_ok=True)
    # The log first: it must never meet a new file under the old name.
    for p in sorted(present, key=lambda p: p != wal):
        os.replace(p, target / p.name)
    _fsync_dir(path.parent)
    return target


def rebuild_into(settings: Settings, fill: Callable[[GraphStore], None]) -> Path | None:
    """Build the graph anew with ``fill(store)`` and put it in place of the current one.

    LadybugDB: into a new file beside the current one, checkpointed and closed, then swapped in
    (the current file and its log moved aside first, then one atomic rename); a kill at any point
    leaves either the old graph or none, never a mixture, and the record's watermark tells the next
    open to rebuild. Returns where the replaced file went (None if there was none). Neo4j: the
    database is emptied and filled in place.
    """
    if settings.neo4j_uri:
        store = open_graph(settings)
        try:
            _empty(store)
            fill(store)
        finally:
            store.close()
        return None
    from graph.ladybug import LadybugStore

    path = settings.graph_path
    fresh = path.with_name(path.name + ".rebuild")
    for p in (fresh, wal_of(fresh)):
        if p.exists():
            p.unlink()
    store = LadybugStore(fresh, settings.graph_buffer_pool_mb)
    try:
        store.init_schema()
        fill(store)
    finally:
        store.close()  # checkpoints: the new file stands alone, with no log
    crash_point("rebuild.built")
    aside = move_aside(path, "replaced")
    crash_point("rebuild.aside")
    os.replace(fresh, path)
    _fsync_dir(path.parent)
    return aside


def discard(aside: Path | None) -> None:
    """Delete a replaced graph a manual rebuild set aside (a broken one is kept)."""
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
        parent = aside.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def _empty(store: GraphStore) -> None:
    from graph.model import NODE_KINDS

    for label in NODE_KINDS:
        ids = [r["id"] for r in store._all_nodes(label)]
        for i in range(0, len(ids), store.chunk_size):
            with store.transaction():
                store._delete_nodes(label, ids[i : i + store.chunk_size])


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        log.debug("fsync of %s failed: %s", directory, exc)
    finally:
        os.close(fd)


__all__ = ["GraphStoreError", "discard", "move_aside", "open_graph", "probe", "rebuild_into", "wal_of"]
