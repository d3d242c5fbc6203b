"""The graph a sequence of writes should leave, computed in memory, and its comparison with a store.

``graph verify`` and ``graph rebuild`` need the graph as the system of record says it should be:
the relational store's records asserted again, in order, with the same provenance rules the port
applies (:meth:`graph.port.GraphStore.upsert_nodes`). :class:`Fold` applies them to dictionaries
instead of an engine (the same ``_fold`` code, the same chunking), so its rows are exactly what an
engine would hold; :func:`compare` then sets them against a store's :meth:`~GraphStore.dump` kind by
kind (a count and a SHA-256 over the sorted rows), and the rows bulk-load a new store.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import pickle
import shutil
import sqlite3
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from graph.model import NODE_KINDS, REL_KINDS, SYSTEM_PROPS, label_of
from graph.port import GraphStore, GraphStoreError, _chunks
from graph.provenance import Merged, merge
from graph.records import Assertion, NodeRecord, RelRecord, UpsertResult
from kernel import jsontext

Rows = dict[str, list[dict[str, Any]]]


class Fold:
    """Nodes and relationships as the port's upserts would store them, held in memory."""

    def __init__(self, chunk_size: int = GraphStore.chunk_size) -> None:
        self.chunk_size = chunk_size
        self.nodes: dict[str, dict[str, Merged]] = {label: {} for label in NODE_KINDS}
        self.rels: dict[str, dict[str, tuple[str, str, Merged]]] = {t: {} for t in REL_KINDS}
        # A store deletes a node with its relationships (a merge absorbs a person a case names);
        # when set, a relationship to a node that is not there is left out, as the store has it.
        self.drop_dangling = False
        self.dropped = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writers that open a store transaction (protection's projections) may write here too."""
        yield

    def upsert_nodes(self, records: Iterable[NodeRecord]) -> None:
        by_label: dict[str, list[NodeRecord]] = defaultdict(list)
        for rec in records:
            by_label[rec.label].append(rec)
        for label, all_recs in by_label.items():
            stored = self.nodes[label]
            for recs in _chunks(all_recs, self.chunk_size):
                existing = {r.id: (stored[r.id].sources, stored[r.id].claims) for r in recs if r.id in stored}
                stored.update(GraphStore._fold(recs, existing, UpsertResult()))

    def upsert_rels(self, records: Iterable[RelRecord]) -> None:
        groups: dict[tuple[str, str, str], list[RelRecord]] = defaultdict(list)
        for rec in records:
            groups[(rec.type, label_of(rec.src), label_of(rec.dst))].append(rec)
        for (rel_type, src_label, dst_label), all_recs in groups.items():
            stored = self.rels[rel_type]
            for recs in _chunks(all_recs, self.chunk_size):
                existing = {
                    r.id: (stored[r.id][2].sources, stored[r.id][2].claims) for r in recs if r.id in stored
                }
                if self.drop_dangling:
                    kept = [
                        r for r in recs if r.src in self.nodes[src_label] and r.dst in self.nodes[dst_label]
                    ]
                    self.dropped += len(recs) - len(kept)
                    recs = kept
                merged = GraphStore._fold(recs, existing, UpsertResult())
                ends = {r.id: (r.src, r.dst) for r in recs}
                for rid, m in merged.items():
                    src, dst = ends[rid]
                    if src not in self.nodes[src_label] or dst not in self.nodes[dst_label]:
                        raise GraphStoreError(
                            f"1 {rel_type} relationship(s) name an end node that does not exist"
                        )
                    stored[rid] = (src, dst, m)

    def rows(self) -> tuple[Rows, Rows]:
        """Every node and relationship as the complete row a store holds (``GraphStore.dump``)."""
        nodes = {
            label: [node_row(label, {"id": i, **m.encoded()}) for i, m in sorted(items.items())]
            for label, items in self.nodes.items()
        }
        rels = {
            t: [
                rel_row(t, {"id": i, "src": s, "dst": d, **m.encoded()})
                for i, (s, d, m) in sorted(items.items())
            ]
            for t, items in self.rels.items()
        }
        return nodes, rels

    def count(self) -> int:
        return sum(len(v) for v in self.nodes.values()) + sum(len(v) for v in self.rels.values())


def node_row(label: str, row: dict[str, Any]) -> dict[str, Any]:
    """A node row with exactly the columns of its kind, absent ones None."""
    return {"id": row["id"], **{k: row.get(k) for k in (*NODE_KINDS[label].props, *SYSTEM_PROPS)}}


def rel_row(rel_type: str, row: dict[str, Any]) -> dict[str, Any]:
    cols = (*REL_KINDS[rel_type].props, *SYSTEM_PROPS)
    return {"id": row["id"], "src": row["src"], "dst": row["dst"], **{k: row.get(k) for k in cols}}


def _line(row: dict[str, Any]) -> str:
    """One row as a canonical line: columns sorted, each value by its ``repr`` (type-exact: 1,
    1.0, "1" and True all differ, as their JSON does; the system columns are JSON text already).
    ``repr`` rather than JSON because this runs for every row on both sides of a verify and JSON
    encoding was most of its time. An empty `conflicted` and an absent one mean the same (Neo4j
    stores no empty strings apart)."""
    return "\x1f".join(f"{k}\x1e{v!r}" for k, v in sorted(row.items()) if not (k == "conflicted" and not v))


@dataclass
class KindReport:
    """One node kind or relationship type: counts and content hashes on both sides."""

    kind: str
    expected: int
    actual: int
    expected_hash: str
    actual_hash: str
    missing: list[str] = field(default_factory=list)  # ids the record has and the graph lacks
    extra: list[str] = field(default_factory=list)  # ids the graph has and the record does not
    changed: list[dict[str, Any]] = field(default_factory=list)  # id and the columns that differ

    @property
    def ok(self) -> bool:
        return self.expected_hash == self.actual_hash


@dataclass
class VerifyReport:
    kinds: list[KindReport]

    @property
    def ok(self) -> bool:
        return all(k.ok for k in self.kinds)

    @property
    def content_hash(self) -> str:
        """One hash over every kind's: equal graphs, equal hash."""
        return hashlib.sha256("\n".join(f"{k.kind}:{k.actual_hash}" for k in self.kinds).encode()).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "content_hash": self.content_hash,
            "kinds": [
                {
                    "kind": k.kind,
                    "ok": k.ok,
                    "expected": k.expected,
                    "actual": k.actual,
                    "expected_hash": k.expected_hash,
                    "actual_hash": k.actual_hash,
                    "missing": k.missing,
                    "extra": k.extra,
                    "changed": k.changed,
                }
                for k in self.kinds
            ],
        }


def content_hash(rows: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for line in sorted(_line(r) for r in rows):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def compare(expected: tuple[Rows, Rows], actual: tuple[Rows, Rows], first: int = 10) -> VerifyReport:
    """Kind by kind: counts, content hashes and the first ``first`` differing ids of each sort."""
    out: list[KindReport] = []
    for section, (exp, act) in (("node", (expected[0], actual[0])), ("rel", (expected[1], actual[1]))):
        for kind in exp.keys() | act.keys():
            e_rows = {r["id"]: r for r in exp.get(kind, [])}
            a_rows = {r["id"]: r for r in act.get(kind, [])}
            rep = KindReport(
                f"{section} {kind}",
                len(e_rows),
                len(a_rows),
                content_hash(list(e_rows.values())),
                content_hash(list(a_rows.values())),
            )
            if not rep.ok:
                rep.missing = sorted(e_rows.keys() - a_rows.keys())[:first]
                rep.extra = sorted(a_rows.keys() - e_rows.keys())[:first]
                for i in sorted(e_rows.keys() & a_rows.keys()):
                    if _line(e_rows[i]) != _line(a_rows[i]):
                        cols = sorted(
                            k
                            for k in e_rows[i].keys() | a_rows[i].keys()
                            if e_rows[i].get(k) != a_rows[i].get(k)
                            and (k != "conflicted" or e_rows[i].get(k) or a_rows[i].get(k))
                        )
                        rep.changed.append({"id": i, "columns": cols})
                        if len(rep.changed) >= first:
                            break
            out.append(rep)
    out.sort(key=lambda k: k.kind)
    return VerifyReport(out)


# ---- the same fold and comparison, streamed (graph verify and rebuild at county scale) ------------
#
# Held in memory, the fold of a 200,000-person county took 13 GB (verify) and 9.9 GB (rebuild). The
# streamed path keeps every asserted record in a temporary SQLite file instead (:class:`Spill`), in
# the order it was asserted, then reads them back sorted by element, so each element's records are
# folded together and the element is done: what is held is one element's records and one chunk of
# rows. The fold per element is the in-memory one's (the same ``GraphStore._fold`` over the same
# upsert chunks, recorded as a batch number), so the rows are the same; the content hash per kind is
# the same SHA-256 over the sorted lines, the lines sorted in runs of ``chunk`` spilled to files and
# merged (:class:`SortedDigest`); and the graph is read in pages in id order (``GraphStore.scan``),
# so the differences are found by walking both sides in id order together (:func:`compare_streams`).

_NODE, _REL = 0, 1


class _Source:
    """An assertion as the spill keeps it (its time already ISO text): what ``merge`` reads of it."""

    __slots__ = ("at", "record_id", "system")

    def __init__(self, system: str, record_id: str, at: str) -> None:
        self.system, self.record_id, self.at = system, record_id, at

    def as_json(self) -> dict[str, str]:  # as Assertion.as_json: the same keys, the same text
        return {"system": self.system, "record_id": self.record_id, "at": self.at}


class _Rec:
    """What ``GraphStore._fold`` reads of a record."""

    __slots__ = ("id", "props", "source")

    def __init__(self, rid: str, props: dict[str, Any], source: Any) -> None:
        self.id, self.props, self.source = rid, props, source


_PLAIN = frozenset((str, int, bool, type(None)))


def _body(props: dict[str, Any], source: Assertion) -> bytes:
    """A record as the spill keeps it: plain values only (a dataclass and a datetime cost ten times
    as much to pickle and unpickle as the tuple, and ``merge`` wants the time as text anyway)."""
    return pickle.dumps((props, source.system, source.record_id, source.at.isoformat()), 5)


_ISO: dict[str, str] = {}


def _iso(text: str) -> str:
    """``datetime.fromisoformat(text).isoformat()`` (what a decoded record's ``as_json`` gives),
    remembered: a county's records are asserted at far fewer times than there are records."""
    iso = _ISO.get(text)
    if iso is None:
        if len(_ISO) >= 100_000:
            _ISO.clear()
        iso = _ISO[text] = datetime.fromisoformat(text).isoformat()
    return iso


_NODE_PROPS = {label: frozenset(kind.props) for label, kind in NODE_KINDS.items()}
_REL_PROPS: dict[tuple[str, str, str], frozenset[str]] = {}


def _rel_props(rel_type: str, src_label: str, dst_label: str) -> frozenset[str]:
    """The properties a relationship of the type between nodes of these kinds may have; ValueError
    as :class:`RelRecord` raises it when there is no such relationship."""
    allowed = _REL_PROPS.get((rel_type, src_label, dst_label))
    if allowed is None:
        kind = REL_KINDS.get(rel_type)
        if kind is None:
            raise ValueError(f"unknown relationship type {rel_type!r}")
        if (src_label, dst_label) not in kind.pairs:
            raise ValueError(f"{rel_type} does not go from {src_label} to {dst_label}")
        allowed = _REL_PROPS[(rel_type, src_label, dst_label)] = frozenset(kind.props)
    return allowed


def _encoded_row(row: dict[str, Any], cols: tuple[str, ...], m: Merged, plain: bool) -> dict[str, Any]:
    """``node_row``/``rel_row`` of ``m.encoded()`` built at once into ``row`` (its id, and ends). With
    ``plain`` (every value a string, integer, boolean or None) the JSON has no float to check."""
    props = m.props
    for k in cols:
        row[k] = props.get(k)
    row["sources"] = jsontext.dumps_sorted(m.sources, floats=not plain)
    row["claims"] = jsontext.dumps_sorted(m.claims, floats=not plain)
    row["conflicted"] = ",".join(m.conflicted)
    return row


SPILL_PREFIX = "shouhu-fold-"
"""A spill's directory is named ``shouhu-fold-<pid of its writer>-<random>`` in the temporary
directory (``TMPDIR``)."""


def _sweep_abandoned() -> None:
    """Delete the spills of writers that are gone. A spill holds the record's whole graph (personal
    data) and a build killed with SIGKILL cannot delete its own, so the next one does: a directory
    of this user named for a process that no longer runs. A live (or reused) pid keeps its
    directory; a name without a pid (an older spill) is left alone."""
    root = Path(tempfile.gettempdir())
    try:
        found = [p for p in root.iterdir() if p.name.startswith(SPILL_PREFIX)]
    except OSError:
        return
    for path in found:
        pid = path.name[len(SPILL_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if path.lstat().st_uid != os.getuid() or not path.is_dir() or path.is_symlink():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:  # alive under another user (EPERM), or unreadable: not ours to delete
            continue


class Spill:
    """The writes of :class:`Fold`, kept on disk in the order they were made and folded per element
    when read back (:meth:`elements`): memory bounded by one element and a chunk, not the county."""

    def __init__(
        self,
        chunk_size: int = GraphStore.chunk_size,
        read_chunk: int = 20_000,
        written: Path | None = None,
        *,
        append: bool = False,
    ) -> None:
        """A new spill in a temporary directory of its own, or (``written``: that directory) the
        one another process made and :meth:`settle`-d: opened to be read back (the rebuild's worker
        process, graph/ladybug/build_worker.py), or with ``append`` to write more after what it
        holds (a first load's spill written ahead, connectors/spill_ahead.py); the directory stays
        its maker's."""
        self.chunk_size = chunk_size  # the store's (and Fold's) upsert chunk: part of the fold's result
        self.read_chunk = read_chunk
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        if written is None:
            _sweep_abandoned()
            self._dir = tempfile.TemporaryDirectory(prefix=f"{SPILL_PREFIX}{os.getpid()}-")
        self.path = written or Path(self._dir.name)  # type: ignore[union-attr]  # one is set
        # Read back in another process, a small page cache: the worker's memory adds to the parent's
        # (measured at 60,000 persons, 64 MB: the worker's peak 591 MB; 8 MB: 474 MB, and less CPU).
        self._cache_kib = 8192 if written and not append else 65536
        self._db = self._connect()
        self._batch = 0
        self._pending: list[tuple[Any, ...]] = []
        self._keys = array("q")  # each record's hash((section, id)), for count()
        self.others = 0  # distinct elements another process wrote here (adopt), for count()
        self.next_ord = 1  # the ord the next record written gets (rowids in order: nothing is deleted)
        self.drop_dangling = False  # as Fold's: workflow records' relationships to absent nodes are left out
        self.dropped = 0
        self.done: tuple[str, ...] = ()  # sources another process wrote here (connectors.spill_ahead)
        self.done_rows = 0  # their landing rows (for a rebuild's progress)
        if written and append:
            self.adopt(0)
            return
        if written:
            return
        self._db.execute(
            "CREATE TABLE rec (ord INTEGER PRIMARY KEY, sec INTEGER, kind TEXT, id TEXT, batch INTEGER,"
            " droppable INTEGER, src TEXT, dst TEXT, body BLOB)"
        )
        self._db.execute("CREATE TABLE have (id TEXT PRIMARY KEY) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path / "fold.sqlite3", isolation_level=None)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "temp_store=FILE",
            f"cache_size=-{self._cache_kib}",
        ):
            db.execute(f"PRAGMA {pragma}")
        return db

    def adopt(self, elements: int) -> None:
        """Go on writing after what another process wrote into this spill (``elements`` distinct
        elements, which count() adds): batches and ords continue after its."""
        self._commit()
        if self._dir is not None:  # its maker: the file was written by another connection since
            self._db.close()
            self._db = self._connect()
        batch, top = self._db.execute(
            "SELECT coalesce(max(batch), 0), coalesce(max(ord), 0) FROM rec"
        ).fetchone()
        self._batch, self.next_ord, self.others = int(batch), int(top) + 1, elements
        self._db.execute("BEGIN")

    def close(self) -> None:
        self._db.close()
        if self._dir is not None:
            self._dir.cleanup()

    def settle(self) -> None:
        """Every write in the file and committed, so another connection (a worker process reading
        the spill back, :meth:`elements` there) sees all of it; nothing is written here after, so
        the pages this connection caches are given back (up to 64 MB, while the worker holds its own)."""
        self._commit()
        self._db.execute("PRAGMA shrink_memory")

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def _next_batch(self) -> int:
        self._batch += 1
        return self._batch

    def upsert_nodes(self, records: Iterable[NodeRecord]) -> None:
        by_label: dict[str, list[NodeRecord]] = defaultdict(list)
        for rec in records:
            by_label[rec.label].append(rec)
        rows = []
        for label, all_recs in by_label.items():
            for recs in _chunks(all_recs, self.chunk_size):
                batch = self._next_batch()
                rows += [(_NODE, label, r.id, batch, 0, None, None, _body(r.props, r.source)) for r in recs]
        self._insert(rows)

    def upsert_rels(self, records: Iterable[RelRecord]) -> None:
        groups: dict[tuple[str, str, str], list[RelRecord]] = defaultdict(list)
        for rec in records:
            groups[(rec.type, label_of(rec.src), label_of(rec.dst))].append(rec)
        rows = []
        drop = int(self.drop_dangling)
        for (rel_type, _, _), all_recs in groups.items():
            for recs in _chunks(all_recs, self.chunk_size):
                batch = self._next_batch()
                rows += [
                    (_REL, rel_type, r.id, batch, drop, r.src, r.dst, _body(r.props, r.source)) for r in recs
                ]
        self._insert(rows)

    def upsert_plain_nodes(self, records: Iterable[tuple[str, dict[str, Any], str, str, str]]) -> None:
        """:meth:`upsert_nodes` of records given as ``(id, props, system, record_id, at)`` (``at`` ISO
        text), as a landing projection holds them: the same checks as a :class:`NodeRecord`'s, the
        same batches, and no record object made."""
        self._insert(self.plain_node_rows(records))

    def plain_node_rows(
        self, records: Iterable[tuple[str, dict[str, Any], str, str, str]]
    ) -> list[tuple[Any, ...]]:
        """The spill's rows of :meth:`upsert_plain_nodes`, in the order it writes them."""
        by_label: dict[str, list[tuple[str, dict[str, Any], str, str, str]]] = defaultdict(list)
        for rec in records:
            label = label_of(rec[0])
            if not _NODE_PROPS[label].issuperset(rec[1]):
                raise ValueError(f"{label} has no properties {sorted(set(rec[1]) - _NODE_PROPS[label])}")
            by_label[label].append(rec)
        rows = []
        dumps = pickle.dumps
        for label, all_recs in by_label.items():
            for recs in _chunks(all_recs, self.chunk_size):
                batch = self._next_batch()
                rows += [
                    (_NODE, label, i, batch, 0, None, None, dumps((p, sy, ri, _iso(at)), 5))
                    for i, p, sy, ri, at in recs
                ]
        return rows

    def upsert_plain_rels(
        self, records: Iterable[tuple[str, str, str, dict[str, Any], str, str, str, str]]
    ) -> None:
        """:meth:`upsert_rels` of records given as ``(type, src, dst, props, system, record_id, at,
        qualifier)``, checked as a :class:`RelRecord` checks its own."""
        self._insert(self.plain_rel_rows(records))

    def plain_rel_rows(
        self, records: Iterable[tuple[str, str, str, dict[str, Any], str, str, str, str]]
    ) -> list[tuple[Any, ...]]:
        """The spill's rows of :meth:`upsert_plain_rels`, in the order it writes them."""
        groups: dict[tuple[str, str, str], list[tuple[str, str, str, dict[str, Any], str, str, str, str]]]
        groups = defaultdict(list)
        for rec in records:
            key = (rec[0], label_of(rec[1]), label_of(rec[2]))
            allowed = _rel_props(*key)
            if not allowed.issuperset(rec[3]):
                raise ValueError(f"{rec[0]} has no properties {sorted(set(rec[3]) - allowed)}")
            groups[key].append(rec)
        rows = []
        drop = int(self.drop_dangling)
        dumps = pickle.dumps
        for (rel_type, _, _), all_recs in groups.items():
            for recs in _chunks(all_recs, self.chunk_size):
                batch = self._next_batch()
                rows += [
                    (
                        _REL,
                        rel_type,
                        f"{t}:{sr}>{ds}#{q}" if q else f"{t}:{sr}>{ds}",  # RelRecord.id
                        batch,
                        drop,
                        sr,
                        ds,
                        dumps((p, sy, ri, _iso(at)), 5),
                    )
                    for t, sr, ds, p, sy, ri, at, q in recs
                ]
        return rows

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows are written a few thousand at a time (a projection's row holds a handful of records):
        in the order they came, so ``ord`` is still the order they were asserted."""
        self._pending += rows
        self.next_ord += len(rows)
        if len(self._pending) >= 5_000:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._keys.extend([hash((r[0], r[2])) for r in self._pending])
            self._db.executemany(
                "INSERT INTO rec (sec, kind, id, batch, droppable, src, dst, body) VALUES (?,?,?,?,?,?,?,?)",
                self._pending,
            )
            self._pending = []

    def count(self) -> int:
        """Distinct elements asserted (what a rebuild will load, for its progress): the distinct
        64-bit hashes of the elements' (section, id), kept as the records were written (8 bytes a
        record), so no pass over the disk. The kind is part of every id (a node's prefix, a
        relationship's type); two elements of a county of millions share a hash with a chance
        under one in a million, and then the count is one short."""
        import numpy as np  # here: only a rebuild counts

        self._commit()
        # Sorted in place and the changes counted: ``np.unique`` took 1.5-1.9 s for the 1.5 million
        # keys of a 200,000-person county (its hash path), this 0.02 s.
        keys = np.frombuffer(self._keys, dtype=np.int64).copy()
        keys.sort()
        return int(keys.size and 1 + np.count_nonzero(keys[1:] != keys[:-1])) + self.others

    def _commit(self) -> None:
        self._flush()
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        cur = self._db.execute(sql, params)
        while True:
            chunk = cur.fetchmany(self.read_chunk)
            if not chunk:
                return
            yield from chunk

    def elements(self) -> Iterator[tuple[str, str, Iterator[dict[str, Any]]]]:
        """Each kind with its rows in ascending id order, as ``Fold.rows`` gives them: node kinds
        first, then relationship types, every kind of the model (empty ones too), in sorted order.
        Each kind's rows must be consumed before the next kind is taken."""
        self._commit()
        self._db.execute("BEGIN")  # the ids of the nodes folded (`have`), for the relationships' ends
        nodes = self._folded(
            "SELECT kind, id, batch, 0, NULL, NULL, body, 1 FROM rec WHERE sec = 0 ORDER BY kind, id, ord",
            _NODE,
        )
        yield from self._by_kind("node", sorted(NODE_KINDS), nodes)
        self._commit()
        rels = self._folded(
            "SELECT r.kind, r.id, r.batch, r.droppable, r.src, r.dst, r.body,"
            " EXISTS (SELECT 1 FROM have h WHERE h.id = r.src)"
            " AND EXISTS (SELECT 1 FROM have h WHERE h.id = r.dst)"
            " FROM rec r WHERE r.sec = 1 ORDER BY r.kind, r.id, r.ord",
            _REL,
        )
        yield from self._by_kind("rel", sorted(REL_KINDS), rels)

    def _by_kind(
        self, section: str, kinds: list[str], rows: Iterator[tuple[str, dict[str, Any]]]
    ) -> Iterator[tuple[str, str, Iterator[dict[str, Any]]]]:
        pending: list[tuple[str, dict[str, Any]]] = []
        for kind in kinds:

            def of_kind(kind: str = kind) -> Iterator[dict[str, Any]]:
                while True:
                    if not pending:
                        nxt = next(rows, None)
                        if nxt is None:
                            return
                        pending.append(nxt)
                    k, row = pending[0]
                    if k != kind:
                        if k not in kinds or k < kind:
                            raise GraphStoreError(f"the fold of the record names an unknown kind {k!r}")
                        return
                    pending.pop()
                    yield row

            it = of_kind()
            yield section, kind, it
            for _ in it:  # what the caller left unread of this kind
                pass

    def _folded(self, sql: str, sec: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """(kind, row) per element, folded from its records in the order they were asserted, each
        upsert chunk (batch) as ``GraphStore._fold`` takes it."""
        have: list[tuple[str]] = []
        for _, records in groupby(self._fetch(sql), key=itemgetter(0, 1)):
            group = list(records)
            row = self._fold_one(sec, group)
            if row is not None:
                yield group[0][0], row
                if sec == _NODE:
                    have.append((row["id"],))
            if len(have) >= self.read_chunk:
                self._have(have)
        self._have(have)

    def _have(self, ids: list[tuple[str]]) -> None:
        if ids:
            self._db.executemany("INSERT INTO have (id) VALUES (?)", ids)
            ids.clear()

    def _fold_one(self, sec: int, group: list[tuple[Any, ...]]) -> dict[str, Any] | None:
        kind, rid, _, _, src, dst, _, ends_exist = group[0]
        if sec == _REL and not ends_exist:
            kept = [g for g in group if not g[3]]
            self.dropped += len(group) - len(kept)
            if kept:
                raise GraphStoreError(f"1 {kind} relationship(s) name an end node that does not exist")
            return None
        loads = pickle.loads
        if len(group) == 1:  # the common case: one record asserts the element (what _fold does with it)
            props, system, record_id, at = loads(group[0][6])
            stored: Merged | None = merge([], {}, props, _Source(system, record_id, at))  # type: ignore[arg-type]
            plain = type(system) is str and type(record_id) is str and _is_plain(props)
        else:
            stored = None
            plain = True
            for _, recs in groupby(group, key=itemgetter(2)):
                existing: dict[str, Any] = {rid: (stored.sources, stored.claims)} if stored else {}
                batch: Any = []  # what _fold reads of a record
                for r in recs:
                    props, system, record_id, at = loads(r[6])
                    plain = plain and type(system) is str and type(record_id) is str and _is_plain(props)
                    batch.append(_Rec(rid, props, _Source(system, record_id, at)))
                touched = GraphStore._fold(batch, existing, UpsertResult())
                if rid in touched:
                    stored = touched[rid]
        if stored is None:  # the first batch of an element always touches it
            raise GraphStoreError(f"the record's first assertion of {rid} folded to nothing")
        if sec == _NODE:
            return _encoded_row({"id": rid}, _NODE_COLS[kind], stored, plain)
        return _encoded_row({"id": rid, "src": src, "dst": dst}, _REL_COLS[kind], stored, plain)


def _is_plain(props: dict[str, Any]) -> bool:
    return all(type(v) in _PLAIN for v in props.values())


_NODE_COLS = {
    label: tuple(k for k in kind.props if k not in SYSTEM_PROPS) for label, kind in NODE_KINDS.items()
}
_REL_COLS = {t: tuple(k for k in kind.props if k not in SYSTEM_PROPS) for t, kind in REL_KINDS.items()}


class SortedDigest:
    """``content_hash`` of lines added one at a time: runs of ``chunk`` lines sorted in memory and
    spilled to files, then merged; nothing spilled when a kind fits in one run."""

    def __init__(self, directory: Path, chunk: int) -> None:
        self.directory, self.chunk = directory, chunk
        self._lines: list[str] = []
        self._runs: list[Path] = []

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= self.chunk:
            self._spill()

    def _spill(self) -> None:
        fd, name = tempfile.mkstemp(dir=self.directory, suffix=".run")
        # A line holds no newline and no character below 0x1e (values are repr()s, printable;
        # columns are separated by 0x1e and 0x1f): the runs' bytes, newline-ended, merge in the
        # order of the lines themselves (UTF-8 keeps code point order).
        with os.fdopen(fd, "wb") as out:
            out.writelines(f"{line}\n".encode() for line in sorted(self._lines))
        self._lines = []
        self._runs.append(Path(name))

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        if not self._runs:
            for line in sorted(self._lines):
                digest.update(line.encode())
                digest.update(b"\n")
            return digest.hexdigest()
        if self._lines:
            self._spill()
        files = [p.open("rb") for p in self._runs]
        try:
            for raw in heapq.merge(*files):
                digest.update(raw)
        finally:
            for f in files:
                f.close()
            for p in self._runs:
                p.unlink()
        return digest.hexdigest()


def compare_streams(
    expected: Iterator[tuple[str, str, Iterator[dict[str, Any]]]],
    graph: GraphStore,
    directory: Path,
    chunk: int,
    first: int = 10,
) -> VerifyReport:
    """:func:`compare` of each kind's expected rows (ascending ids) with the graph's, read from the
    store ``chunk`` rows at a time in id order: the same counts, hashes and first differences."""
    out: list[KindReport] = []
    for section, kind, exp_rows in expected:
        act_rows = _deduplicated(_ordered(graph.scan(section, kind, chunk), kind))
        out.append(_compare_kind(f"{section} {kind}", exp_rows, act_rows, directory, chunk, first))
    out.sort(key=lambda k: k.kind)
    return VerifyReport(out)


def _ordered(pages: Iterator[list[dict[str, Any]]], kind: str) -> Iterator[dict[str, Any]]:
    last: str | None = None
    for page in pages:
        for row in page:
            if last is not None and row["id"] < last:
                raise GraphStoreError(f"the graph's {kind} rows did not come in id order")
            last = row["id"]
            yield row


def _deduplicated(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """One row per id, the last one read (as ``compare``'s dictionary keeps it)."""
    held: dict[str, Any] | None = None
    for row in rows:
        if held is not None and row["id"] != held["id"]:
            yield held
        held = row
    if held is not None:
        yield held


def _compare_kind(
    name: str,
    exp_rows: Iterator[dict[str, Any]],
    act_rows: Iterator[dict[str, Any]],
    directory: Path,
    chunk: int,
    first: int,
) -> KindReport:
    e_digest, a_digest = SortedDigest(directory, chunk), SortedDigest(directory, chunk)
    counts = [0, 0]
    missing: list[str] = []
    extra: list[str] = []
    changed: list[dict[str, Any]] = []
    e = next(exp_rows, None)
    a = next(act_rows, None)
    while e is not None or a is not None:
        if e is not None and (a is None or e["id"] < a["id"]):
            e_digest.add(_line(e))
            counts[0] += 1
            if len(missing) < first:
                missing.append(e["id"])
            e = next(exp_rows, None)
        elif a is not None and (e is None or a["id"] < e["id"]):
            a_digest.add(_line(a))
            counts[1] += 1
            if len(extra) < first:
                extra.append(a["id"])
            a = next(act_rows, None)
        elif e is not None and a is not None:  # the same id on both sides
            e_line, a_line = _line(e), _line(a)
            e_digest.add(e_line)
            a_digest.add(a_line)
            counts[0] += 1
            counts[1] += 1
            if e_line != a_line and len(changed) < first:
                cols = sorted(
                    k
                    for k in e.keys() | a.keys()
                    if e.get(k) != a.get(k) and (k != "conflicted" or e.get(k) or a.get(k))
                )
                changed.append({"id": e["id"], "columns": cols})
            e = next(exp_rows, None)
            a = next(act_rows, None)
    rep = KindReport(name, counts[0], counts[1], e_digest.hexdigest(), a_digest.hexdigest())
    if not rep.ok:
        rep.missing, rep.extra, rep.changed = missing, extra, changed
    return rep
