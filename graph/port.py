"""The GraphStore port: what the rest of the platform may ask of a graph engine.

The provenance rules (graph.provenance) and the batching live here once; an adapter only
supplies the engine primitives below, each holding its own Cypher beside it.
"""

from __future__ import annotations

import abc
import json
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from graph.model import NODE_KINDS, REL_KINDS, label_of
from graph.provenance import Merged, load, merge, without
from graph.records import (
    ChildFamilies,
    Conflict,
    Node,
    NodeRecord,
    Page,
    Path,
    Rel,
    RelRecord,
    RetractResult,
    Selection,
    Step,
    Subgraph,
    UpsertResult,
    YoungPerson,
)
from kernel.messages import say

T = TypeVar("T")


class FamilyRows(NamedTuple):
    """What an adapter's `_child_families` returns: plain rows, JSON columns still as text."""

    # (id, division, birth_date, deceased, hukou_type, conflicted, sources JSON)
    people: list[tuple[str, str | None, str | None, bool | None, str | None, str | None, str | None]]
    enrolments: list[tuple[str, str | None]]  # (person id, ENROLLED_AT status)
    parents: list[tuple[str, str, str | None, str]]  # (person id, parent id, role, PARENT_OF id)
    households: list[tuple[str, str]]  # (person id, household id)
    parent_claims: list[tuple[str, str | None]]  # (parent id, claims JSON)
    parent_households: list[tuple[str, str]]  # (parent id, household id)


class GraphStoreError(RuntimeError):
    """A graph engine refused or failed an operation; the message is safe to show."""


class GraphInUse(GraphStoreError):
    """The embedded graph's file is held by another process (a sync, a service): in use, not broken."""

    def __init__(self, message: str, holder: int) -> None:
        super().__init__(message)
        self.holder = holder


class GraphUnavailable(GraphStoreError):
    """The store is closed or being reopened: nothing was read or written; the same call may
    succeed shortly. Never an answer about the records asked for (not "absent")."""


_WRITE_WAIT: ContextVar[float | None] = ContextVar("graph_write_wait", default=None)


@contextmanager
def writes_wait_at_most(seconds: float | None) -> Iterator[None]:
    """Graph write transactions begun inside wait at most ``seconds`` for the store's writer, then
    raise GraphUnavailable. Why: a sync's batch holds the writer for seconds and a first load's build
    for minutes; a caseworker's change should fail clearly and be sent again, not hang behind it.
    Outside (a sync, a drain, the CLI) a write waits its turn."""
    token = _WRITE_WAIT.set(seconds)
    try:
        yield
    finally:
        _WRITE_WAIT.reset(token)


def write_wait() -> float | None:
    """The seconds a write transaction begun now may wait for the writer (None: as long as it takes)."""
    return _WRITE_WAIT.get()


class GraphWriterBusy(GraphUnavailable):
    """Another write held the store's writer past the caller's bounded wait (`writes_wait_at_most`):
    nothing was written; the same change may be sent again shortly."""


class GraphStore(abc.ABC):
    """Idempotent writes with provenance, reads, traversals and transactions."""

    backend: str = ""
    max_depth: int = 6
    max_hops: int = 2  # steps of a set walk (hops): each shape is one statement per engine
    # Rows per engine statement. Bounded so one statement's working memory is bounded: a
    # 280,000-row relationship MERGE exhausted a 1 GB LadybugDB buffer pool here.
    chunk_size: int = 20_000

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tx_depth = 0

    def _reads(self) -> AbstractContextManager[Any]:
        """What a read holds around its engine calls. Here the store's lock: reads and writes share
        one session, so a read waits for a transaction in flight to end. An adapter whose reads run
        on sessions of their own, seeing the last committed state (LadybugStore), holds nothing here
        and never makes a read wait for a write transaction; a read inside a transaction (the thread
        holding the lock) still runs in that transaction and sees its writes."""
        return self._lock

    # ---- engine primitives, one set per adapter ---------------------------------------------
    @abc.abstractmethod
    def init_schema(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def _begin(self) -> None: ...

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def _rollback(self) -> None: ...

    @abc.abstractmethod
    def _fetch_nodes(self, label: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Raw stored rows (every property including the system ones) of the given ids."""

    @abc.abstractmethod
    def _fetch_rel_provenance(
        self, rel_type: str, src_label: str, dst_label: str, keys: Sequence[tuple[str, str]]
    ) -> dict[str, tuple[str, str]]:
        """id -> (sources, claims) JSON of existing relationships, given (id, src) keys."""

    @abc.abstractmethod
    def _write_nodes(self, label: str, rows: list[dict[str, Any]], *, new: bool) -> None:
        """Create (new=True) or replace the given node rows (all properties given) in one statement."""

    @abc.abstractmethod
    def _write_rels(
        self, rel_type: str, src_label: str, dst_label: str, rows: list[dict[str, Any]], *, new: bool
    ) -> int:
        """Create (new=True) or replace the properties of existing relationships.

        Rows carry id, src, dst and all properties; the port has already looked up which
        exist, so an engine whose MERGE is slow at scale can CREATE instead. Returns how many
        rows found both endpoints.
        """

    def _expand(
        self, ids_by_label: dict[str, list[str]], rel_types: Sequence[str] | None
    ) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        """One hop from the given nodes: (rel row with src/dst ids, neighbour row, from-node row).

        Used by the default breadth-first `_neighbourhood`; an adapter that overrides that
        need not supply it.
        """
        raise NotImplementedError

    def _neighbourhood(
        self,
        start: dict[str, Any],
        depth: int,
        rel_types: Sequence[str] | None,
        not_through: frozenset[str] = frozenset(),
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Node rows and relationship rows within `depth` hops: breadth first, one call per hop.
        A node whose label is in `not_through` is reached but not walked on from."""
        return self._neighbourhoods([start], depth, rel_types, not_through)

    def _neighbourhoods(
        self,
        starts: list[dict[str, Any]],
        depth: int,
        rel_types: Sequence[str] | None,
        not_through: frozenset[str] = frozenset(),
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The union of several start nodes' neighbourhoods, breadth first over all of them at
        once: one call per hop whatever the number of starts. A node first reached from one start
        is expanded once for all, so the union holds each start's whole neighbourhood (a node
        within `depth - 1` hops of any start has every relationship fetched)."""
        nodes = {row["id"]: row for row in starts}
        starts_ids = set(nodes)
        rels: dict[str, dict[str, Any]] = {}
        frontier = list(nodes)
        for _ in range(depth):
            by_label: dict[str, list[str]] = defaultdict(list)
            for i in frontier:
                if i in starts_ids or label_of(i) not in not_through:
                    by_label[label_of(i)].append(i)
            if not by_label:
                break
            nxt: list[str] = []
            for rel_row, nb_row, _from in self._expand(by_label, rel_types):
                rels.setdefault(rel_row["id"], rel_row)
                if nb_row["id"] not in nodes:
                    nodes[nb_row["id"]] = nb_row
                    nxt.append(nb_row["id"])
            frontier = nxt
            if not frontier:
                break
        return list(nodes.values()), list(rels.values())

    @abc.abstractmethod
    def _shortest(
        self, a: str, b: str, max_depth: int, rel_types: Sequence[str] | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None: ...

    @abc.abstractmethod
    def _list_division(self, label: str, prefix: str, after: str, limit: int) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def _residents(self, prefix: str, after: str, limit: int) -> list[str]:
        """Ids (in id order, after `after`, at most `limit`) of the people with a RESIDES_IN or
        REGISTERED_IN relationship to a Division whose code starts with `prefix`, or MEMBER_OF a
        Household LOCATED_IN one, each once."""

    @abc.abstractmethod
    def _conflicted(self, label: str, limit: int) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def _find(self, label: str, prop: str, values: Sequence[Any], limit: int) -> list[dict[str, Any]]: ...

    # ---- network analysis primitives (graph.network), ids only: the port fetches the rows -------
    @abc.abstractmethod
    def _guardian_loads(
        self, prefix: str, min_children: int, as_of: str, limit: int
    ) -> list[tuple[str, list[str]]]:
        """(guardian id, ward ids) for guardians in the division with ≥ min_children current wards."""

    @abc.abstractmethod
    def _case_subjects(self, label: str, prefix: str, limit: int) -> list[tuple[str, str]]:
        """(case or report id, person id) for the people of the division a record of `label` concerns."""

    @abc.abstractmethod
    def _household_members(self, prefix: str, after: str, limit: int) -> list[tuple[str, str | None]]:
        """(household id, member id or None) for a page of the division's households, by id."""

    @abc.abstractmethod
    def _child_guardians(
        self, prefix: str, born_after: str, after: str, limit: int
    ) -> list[tuple[str, str | None, str | None, str | None]]:
        """(child id, guardian id, PARENT_OF|GUARDIAN_OF, until) for a page of the division's children."""

    # ---- set reads (select, hops): a whole division's or id list's records in a few statements ----
    @abc.abstractmethod
    def _select(self, selection: Selection) -> list[dict[str, Any]]:
        """Raw rows of the selected nodes (as `_fetch_nodes` gives them)."""

    @abc.abstractmethod
    def _hops(
        self, selection: Selection, path: Sequence[Step]
    ) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(near id, relationship row with src/dst ids, far node row) for the last hop of every
        walk along `path` from the selected nodes; a walk uses each relationship at most once."""

    @abc.abstractmethod
    def _child_families(self, prefix: str, born_since: str, claim_key: str, system_key: str) -> FamilyRows:
        """The rows of `child_families`, one engine statement each (see `FamilyRows`): people of
        the division whose birth_date >= born_since, and their enrolments, parents, households;
        the parents whose claims JSON text contains `claim_key` (the quoted attribute name and
        its colon), with their claims, and the households whose membership's sources JSON text
        contains `system_key`. The port groups them; an adapter may return duplicates."""

    @abc.abstractmethod
    def _count_nodes(self, label: str) -> int: ...

    @abc.abstractmethod
    def _delete_nodes(self, label: str, ids: Sequence[str]) -> None:
        """Delete nodes with their relationships."""

    @abc.abstractmethod
    def _delete_rels(self, rel_type: str, src_label: str, keys: Sequence[tuple[str, str]]) -> None:
        """Delete relationships given as ``(id, src id)``."""

    @abc.abstractmethod
    def _count_rels(self, rel_type: str) -> int: ...

    # ---- the projection's bookkeeping and bulk paths (graph rebuild and verify) ----------------
    @abc.abstractmethod
    def _read_meta(self, key: str) -> str | None:
        """A value the store keeps about itself (outside the domain model), or None."""

    @abc.abstractmethod
    def _write_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def _all_nodes(self, label: str) -> list[dict[str, Any]]:
        """Every stored row of a kind, with every column (as ``_fetch_nodes`` gives them)."""

    @abc.abstractmethod
    def _all_rels(self, rel_type: str) -> list[dict[str, Any]]:
        """Every relationship of a type as a row: id, src, dst and every column."""

    def checkpoint(self) -> None:  # noqa: B027 (a no-op unless the engine keeps its own log)
        """Make every committed transaction part of the main store file (no-op where the engine
        has no write-ahead log of its own to bound). Called after each sync batch and on close."""

    WATERMARK = "projection"

    def watermark(self) -> tuple[str, int] | None:
        """(epoch, seq) of the last projection batch this graph committed (see connectors.tables)."""
        with self._lock:
            raw = self._read_meta(self.WATERMARK)
        if not raw:
            return None
        epoch, _, seq = raw.partition(":")
        return epoch, int(seq or 0)

    def set_watermark(self, epoch: str, seq: int) -> None:
        """Written inside the transaction of the batch it counts, so both commit together."""
        with self.transaction():
            self._write_meta(self.WATERMARK, f"{epoch}:{int(seq)}")

    def dump(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
        """Every node row by kind and every relationship row by type (for ``graph verify``)."""
        with self._lock:
            nodes = {label: self._all_nodes(label) for label in NODE_KINDS}
            rels = {rel_type: self._all_rels(rel_type) for rel_type in REL_KINDS}
        return nodes, rels

    def scan(self, section: str, kind: str, size: int) -> Iterator[list[dict[str, Any]]]:
        """Every row of one node kind (``section`` "node") or relationship type ("rel"), as ``dump``
        gives them, in ascending id order, ``size`` rows at a time (``graph verify`` at county scale).

        This portable form reads the kind whole, then pages it; an engine that can page by id in one
        statement (LadybugDB) overrides ``_rows_after`` and holds one page at a time."""
        after: str | None = None
        while True:
            with self._lock:
                page = self._rows_after(section, kind, after, size)
            if page is None:
                with self._lock:
                    rows = self._all_nodes(kind) if section == "node" else self._all_rels(kind)
                rows.sort(key=itemgetter("id"))
                yield from _chunks(rows, size)
                return
            if not page:
                return
            yield page
            if len(page) < size:
                return
            after = page[-1]["id"]

    def _rows_after(
        self, section: str, kind: str, after: str | None, limit: int
    ) -> list[dict[str, Any]] | None:
        """Up to ``limit`` rows of a kind with ids above ``after`` (all when None), ascending by id;
        None where the engine does not page (``scan`` then reads the kind whole)."""
        return None

    def bulk_load(
        self,
        nodes: dict[str, list[dict[str, Any]]],
        rels: dict[str, list[dict[str, Any]]],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Load complete rows (as ``dump`` gives them) into an empty store, nodes first.

        The portable path writes chunks through the adapter's create primitives; an engine with
        a bulk loader (LadybugDB's ``COPY``) overrides it.
        """
        for label, rows in nodes.items():
            for chunk in _chunks(rows, self.chunk_size):
                with self.transaction():
                    self._write_nodes(label, chunk, new=True)
                if progress:
                    progress(len(chunk))
        for rel_type, rows in rels.items():
            by_pair: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                by_pair[(label_of(row["src"]), label_of(row["dst"]))].append(row)
            for (src_label, dst_label), pair_rows in by_pair.items():
                for chunk in _chunks(pair_rows, self.chunk_size):
                    with self.transaction():
                        written = self._write_rels(rel_type, src_label, dst_label, chunk, new=True)
                    if written != len(chunk):
                        raise GraphStoreError(f"{len(chunk) - written} {rel_type} rows lack an end node")
                    if progress:
                        progress(len(chunk))

    # ---- transactions ----------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[None]:
        """The store's writer held, no transaction begun: a caller that must change another store
        and then this one as one decision (a caseworker's merge: the links, then the people in the
        graph) takes it first, so a busy writer refuses the decision before anything is saved
        rather than after the other store committed. Waits as `transaction` waits; re-entrant."""
        wait = write_wait()
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            raise GraphWriterBusy(say("graph.write_busy", seconds=f"{wait:g}"))
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nesting joins the outer one. Waits for
        the writer at most as long as `writes_wait_at_most` allows (an API mutation), else as long
        as it takes."""
        with self.writer():
            outer = self._tx_depth == 0
            if outer:
                self._begin()
            self._tx_depth += 1
            try:
                yield
            except BaseException:
                self._tx_depth -= 1
                if outer:
                    self._rollback()
                raise
            self._tx_depth -= 1
            if outer:
                self._commit()

    # ---- writes ----------------------------------------------------------------------------
    def upsert_nodes(self, records: Iterable[NodeRecord]) -> UpsertResult:
        """Idempotent: the same records again change nothing; a new source adds provenance."""
        by_label: dict[str, list[NodeRecord]] = defaultdict(list)
        for rec in records:
            by_label[rec.label].append(rec)
        result = UpsertResult()
        with self.transaction():
            for label, all_recs in by_label.items():
                for recs in _chunks(all_recs, self.chunk_size):
                    existing = {
                        row["id"]: (load(row.get("sources"), []), load(row.get("claims"), {}))
                        for row in self._fetch_nodes(label, sorted({r.id for r in recs}))
                    }
                    merged = self._fold(recs, existing, result)
                    for is_new in (True, False):
                        rows = [
                            {"id": i, **m.encoded()}
                            for i, m in merged.items()
                            if (i not in existing) is is_new
                        ]
                        if rows:
                            self._write_nodes(label, rows, new=is_new)
        return result

    def upsert_rels(self, records: Iterable[RelRecord]) -> UpsertResult:
        """Idempotent like upsert_nodes; both end nodes must exist already."""
        groups: dict[tuple[str, str, str], list[RelRecord]] = defaultdict(list)
        for rec in records:
            groups[(rec.type, label_of(rec.src), label_of(rec.dst))].append(rec)
        result = UpsertResult()
        with self.transaction():
            for (rel_type, src_label, dst_label), all_recs in groups.items():
                for recs in _chunks(all_recs, self.chunk_size):
                    keys = sorted({(r.id, r.src) for r in recs})
                    stored = self._fetch_rel_provenance(rel_type, src_label, dst_label, keys)
                    existing = {i: (load(s, []), load(c, {})) for i, (s, c) in stored.items()}
                    merged = self._fold(recs, existing, result)
                    if not merged:
                        continue
                    ends = {r.id: (r.src, r.dst) for r in recs}
                    for is_new in (True, False):
                        rows = [
                            {"id": i, "src": ends[i][0], "dst": ends[i][1], **m.encoded()}
                            for i, m in merged.items()
                            if (i not in existing) is is_new
                        ]
                        if not rows:
                            continue
                        written = self._write_rels(rel_type, src_label, dst_label, rows, new=is_new)
                        if written != len(rows):
                            missing = len(rows) - written
                            raise GraphStoreError(
                                f"{missing} {rel_type} relationship(s) name an end node that does not exist"
                            )
        return result

    def retract(
        self, node_ids: Iterable[str], sources: Iterable[tuple[str, str]], *, keep_nodes: bool = False
    ) -> RetractResult:
        """Take back what the source records ``(system, record_id)`` asserted about these nodes
        and every relationship touching them; an element no source asserts any more is deleted.

        Entity resolution calls this for the people a merge (or its undoing) changed, then
        asserts the same records again under the new person keys: the graph ends as if the
        records had always been resolved that way, and other sources' claims stay untouched.
        With ``keep_nodes`` a node left without sources stays (empty, with its relationships)
        for the caller to assert again, and :meth:`prune` removes the ones nothing re-asserted.
        """
        drop = set(sources)
        result = RetractResult()
        with self.transaction():
            ids = list(dict.fromkeys(node_ids))
            # One read for the set (a bounded number of statements), each node's own subgraph cut
            # from it as its `neighbourhood` would give it; the writes set-based, per kind.
            subs = self.neighbourhoods(ids, 1)
            nodes: dict[str, Node] = {i: subs[i].nodes[i] for i in ids if i in subs and i in subs[i].nodes}
            rels: dict[str, Rel] = {}
            for node_id in ids:
                if node_id in subs:
                    for rel in subs[node_id].rels.values():
                        rels[rel.id] = rel
            kept_rels: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
            dead_rels: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
            for rel in rels.values():
                m = without(rel.sources, rel.claims, drop)
                if not m.changed:
                    continue
                if m.sources:
                    key = (rel.type, label_of(rel.src), label_of(rel.dst))
                    kept_rels[key].append({"id": rel.id, "src": rel.src, "dst": rel.dst, **m.encoded()})
                    result.updated += 1
                else:
                    dead_rels[(rel.type, label_of(rel.src))].append((rel.id, rel.src))
                    result.deleted += 1
            for key, rows in kept_rels.items():
                for chunk in _chunks(rows, self.chunk_size):
                    self._write_rels(*key, chunk, new=False)
            for (rel_type, src_label), keys in dead_rels.items():
                self._delete_rels(rel_type, src_label, keys)
            kept_nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
            dead_nodes: dict[str, list[str]] = defaultdict(list)
            for node in nodes.values():
                m = without(node.sources, node.claims, drop)
                if not m.changed:
                    continue
                if m.sources or keep_nodes:
                    kept_nodes[node.label].append({"id": node.id, **m.encoded()})
                    result.updated += 1
                else:
                    dead_nodes[node.label].append(node.id)
                    result.deleted += 1
            for label, node_rows in kept_nodes.items():
                for chunk in _chunks(node_rows, self.chunk_size):
                    self._write_nodes(label, chunk, new=False)
            for label, dead in dead_nodes.items():
                self._delete_nodes(label, dead)
        return result

    def prune(self, node_ids: Iterable[str]) -> int:
        """Delete those of the given nodes no source asserts any more, with their relationships."""
        with self.transaction():
            dead = [n for n in self.get_nodes(node_ids).values() if not n.sources]
            by_label: dict[str, list[str]] = defaultdict(list)
            for n in dead:
                by_label[n.label].append(n.id)
            for label, ids in by_label.items():
                self._delete_nodes(label, ids)
        return len(dead)

    @staticmethod
    def _fold(
        recs: Sequence[NodeRecord] | Sequence[RelRecord],
        existing: dict[str, tuple[list[dict[str, str]], dict[str, list[dict[str, Any]]]]],
        result: UpsertResult,
    ) -> dict[str, Merged]:
        current = dict(existing)
        touched: dict[str, Merged] = {}
        for rec in recs:
            sources, claims = current.get(rec.id, ([], {}))
            m = merge(sources, claims, rec.props, rec.source)
            current[rec.id] = (m.sources, m.claims)
            if m.changed or rec.id not in existing:
                touched[rec.id] = m
        for rid in touched:
            if rid in existing:
                result.updated += 1
            else:
                result.created += 1
        result.unchanged += len({r.id for r in recs} - set(touched))
        return touched

    # ---- reads -----------------------------------------------------------------------------
    def get_node(self, node_id: str) -> Node | None:
        return self.get_nodes([node_id]).get(node_id)

    def get_nodes(self, ids: Iterable[str]) -> dict[str, Node]:
        """Batch read: one engine call per label, whatever the number of ids."""
        by_label: dict[str, list[str]] = defaultdict(list)
        for i in ids:
            by_label[label_of(i)].append(i)
        out: dict[str, Node] = {}
        with self._reads():
            for label, label_ids in by_label.items():
                for row in self._fetch_nodes(label, sorted(set(label_ids))):
                    out[row["id"]] = to_node(label, row)
        return out

    def find(self, label: str, prop: str, values: Sequence[Any], limit: int = 100) -> list[Node]:
        """Nodes of one kind whose property equals one of the values (e.g. an ID number)."""
        if prop not in NODE_KINDS[label].props and prop != "id":
            raise GraphStoreError(f"{label} has no property {prop!r}")
        with self._reads():
            return [to_node(label, r) for r in self._find(label, prop, list(values), limit)]

    def neighbourhood(
        self,
        node_id: str,
        depth: int = 1,
        rel_types: Sequence[str] | None = None,
        *,
        not_through: Collection[str] = (),
    ) -> Subgraph:
        """Every node within `depth` hops in either direction, and every relationship walked to reach them.

        `not_through` names labels of hubs (a village every resident is registered in): such a node
        is reached, with the relationship to it, but the walk does not go on through it, so the read
        stays the size of one record's surroundings however many records hang off the hub."""
        if not 1 <= depth <= self.max_depth:
            raise GraphStoreError(f"depth must be between 1 and {self.max_depth}, not {depth}")
        _check_rel_types(rel_types)
        hubs = frozenset(not_through)
        unknown = sorted(h for h in hubs if h not in NODE_KINDS)
        if unknown:
            raise GraphStoreError(f"unknown node labels {unknown}")
        sub = Subgraph()
        with self._reads():
            start = self._fetch_nodes(label_of(node_id), [node_id])
            if not start:
                return sub
            node_rows, rel_rows = self._neighbourhood(start[0], depth, rel_types, hubs)
        for row in node_rows:
            sub.nodes[row["id"]] = to_node(label_of(row["id"]), row)
        for row in rel_rows:
            sub.rels[row["id"]] = to_rel(row)
        return sub

    def neighbourhoods(
        self,
        node_ids: Iterable[str],
        depth: int = 1,
        rel_types: Sequence[str] | None = None,
        *,
        not_through: Collection[str] = (),
    ) -> dict[str, Subgraph]:
        """`neighbourhood` of each node, read together: a bounded number of engine calls for the
        whole set (a page of a list), not one traversal per node.

        Each start's subgraph is cut from the union exactly as its own `neighbourhood` would be:
        the nodes within `depth` hops, and the relationships with an end within `depth - 1` hops
        (the last hop of some walk from the start). Absent ids are left out of the answer.
        `not_through` as for `neighbourhood`: hubs are reached but never walked on from.
        """
        if not 1 <= depth <= self.max_depth:
            raise GraphStoreError(f"depth must be between 1 and {self.max_depth}, not {depth}")
        _check_rel_types(rel_types)
        hubs = frozenset(not_through)
        unknown = sorted(h for h in hubs if h not in NODE_KINDS)
        if unknown:
            raise GraphStoreError(f"unknown node labels {unknown}")
        wanted = sorted(set(node_ids))
        if not wanted:
            return {}
        by_label: dict[str, list[str]] = defaultdict(list)
        for i in wanted:
            by_label[label_of(i)].append(i)
        with self._reads():
            starts = [row for label, ids in by_label.items() for row in self._fetch_nodes(label, ids)]
            if not starts:
                return {}
            node_rows, rel_rows = self._neighbourhoods(starts, depth, rel_types, hubs)
        nodes = {row["id"]: to_node(label_of(row["id"]), row) for row in node_rows}
        rels = [to_rel(row) for row in rel_rows]
        adjacent: dict[str, list[Rel]] = defaultdict(list)
        for rel in rels:
            adjacent[rel.src].append(rel)
            if rel.dst != rel.src:
                adjacent[rel.dst].append(rel)
        return {row["id"]: _cut(row["id"], depth, nodes, adjacent, hubs) for row in starts}

    def shortest_path(
        self, a: str, b: str, max_depth: int = 6, rel_types: Sequence[str] | None = None
    ) -> Path | None:
        if not 1 <= max_depth <= self.max_depth:
            raise GraphStoreError(f"max_depth must be between 1 and {self.max_depth}, not {max_depth}")
        _check_rel_types(rel_types)
        if a == b:
            node = self.get_node(a)
            return Path([node], []) if node else None
        with self._reads():
            found = self._shortest(a, b, max_depth, rel_types)
        if found is None:
            return None
        nodes, rels = found
        return Path([to_node(label_of(n["id"]), n) for n in nodes], [to_rel(r) for r in rels])

    def list_by_division(
        self, label: str, division_prefix: str, first: int = 50, after: str | None = None
    ) -> Page:
        """Stable cursor pages ordered by id: new nodes never shift a page already served."""
        if label not in NODE_KINDS or not NODE_KINDS[label].has_division:
            raise GraphStoreError(f"{label} is not listable by division")
        if not division_prefix.isdigit() or len(division_prefix) > 12:
            raise GraphStoreError(f"division prefix {division_prefix!r} is not a code prefix")
        if not 1 <= first <= 1000:
            raise GraphStoreError("first must be between 1 and 1000")
        with self._reads():
            rows = self._list_division(label, division_prefix, after or "", first + 1)
        items = [to_node(label, r) for r in rows[:first]]
        return Page(items, items[-1].id if items else after, len(rows) > first)

    def residents(
        self, division_prefix: str, first: int = 50, after: str | None = None
    ) -> tuple[list[str], bool]:
        """A page of the people registered or living in a division subtree (REGISTERED_IN or
        RESIDES_IN a Division of it, or a member of a household LOCATED_IN one), by id after the
        cursor `after`: (ids, whether more follow).

        Read from the divisions outward (a village is one primary-key lookup, then the
        relationships into it), so a village's page costs the village's people, not a scan of
        every person's `division` as `list_by_division` does (91 ms for a page at 200,000 persons,
        growing with the county; this: two statements of ~1 ms each). Ids only: a list reads its
        rows' profiles next (`neighbourhoods`), which hold the rows themselves."""
        _check_prefix(division_prefix)
        if not 1 <= first <= 1000:
            raise GraphStoreError("first must be between 1 and 1000")
        with self._reads():
            ids = self._residents(division_prefix, after or "", first + 1)
        return ids[:first], len(ids) > first

    def conflicts(self, label: str, limit: int = 1000) -> list[Conflict]:
        """Attributes on which sources disagree, with every source's value."""
        out: list[Conflict] = []
        with self._reads():
            rows = self._conflicted(label, limit)
        for row in rows:
            claims = load(row.get("claims"), {})
            for attr in filter(None, (row.get("conflicted") or "").split(",")):
                out.append(Conflict(row["id"], attr, claims.get(attr, [])))
        return out

    # ---- network analysis (graph.network builds on these) -----------------------------------
    def guardian_loads(
        self, division_prefix: str, min_children: int, as_of: str, limit: int = 100
    ) -> list[tuple[str, list[str]]]:
        """Guardians (GUARDIAN_OF, not expired by `as_of`) of at least `min_children` children, most first."""
        _check_prefix(division_prefix)
        with self._reads():
            return self._guardian_loads(division_prefix, max(1, min_children), as_of, limit)

    def case_subjects(self, division_prefix: str, limit: int = 5000) -> list[tuple[str, str]]:
        """(case id, person id) for every ProtectionCase or Report CONCERNS a person of the division."""
        _check_prefix(division_prefix)
        with self._reads():
            out = self._case_subjects("ProtectionCase", division_prefix, limit)
            return out + self._case_subjects("Report", division_prefix, max(0, limit - len(out)))

    def household_members(
        self, division_prefix: str, after: str | None = None, limit: int = 500
    ) -> list[tuple[str, list[str]]]:
        """A page of the division's households in id order, each with its members' ids."""
        _check_prefix(division_prefix)
        with self._reads():
            rows = self._household_members(division_prefix, after or "", limit)
        out: dict[str, list[str]] = {}
        for hid, pid in rows:
            members = out.setdefault(hid, [])
            if pid is not None and pid not in members:
                members.append(pid)
        return [(hid, sorted(members)) for hid, members in sorted(out.items())]

    def child_guardians(
        self, division_prefix: str, born_after: str, after: str | None = None, limit: int = 500
    ) -> list[tuple[str, list[tuple[str, str, str | None]]]]:
        """A page of the division's people born after `born_after`, in id order, each with
        (guardian id, PARENT_OF|GUARDIAN_OF, until) for every parent and guardian recorded."""
        _check_prefix(division_prefix)
        with self._reads():
            rows = self._child_guardians(division_prefix, born_after, after or "", limit)
        out: dict[str, list[tuple[str, str, str | None]]] = {}
        for cid, gid, rel_type, until in rows:
            links = out.setdefault(cid, [])
            if gid is not None and rel_type is not None and (gid, rel_type, until) not in links:
                links.append((gid, rel_type, until))
        return sorted(out.items())

    def child_families(
        self, division_prefix: str, born_since: str, parent_claim: str, membership_system: str
    ) -> ChildFamilies:
        """Everyone of a division (every division for "") born on or after `born_since` (ISO day),
        with what is one hop away in the family: enrolment statuses, parents with their roles,
        households; and for the parents carrying a claim of `parent_claim`, those claims and the
        households `membership_system` registers them in.

        Set-based, for batch checks over a county (connectors.crosscheck): six engine reads
        whatever the number of people, where reading each child's neighbourhood cost a traversal
        per child (or per page of them). People whose birth_date is not an ISO day may be included
        or not; the caller decides their age. The JSON columns are searched as text, which is
        exact for what graph.provenance writes (compact, sorted keys, every quote inside a string
        escaped, so ``"key":`` occurs only as a key): see `_claims_of` and `_systems_of`.
        """
        if division_prefix:
            _check_prefix(division_prefix)
        if parent_claim not in NODE_KINDS["Person"].props or parent_claim in _SOURCE_KEYS:
            raise GraphStoreError(f"Person has no property {parent_claim!r}")
        claim_key = _json_key(parent_claim)
        system_key = _json_key("system") + _json_text(membership_system)
        with self._reads():
            rows = self._child_families(division_prefix, born_since, claim_key, system_key)
        people: dict[str, YoungPerson] = {}
        for pid, division, birth, deceased, hukou, conflicted, sources in rows.people:
            if pid not in people:
                people[pid] = YoungPerson(
                    pid, division, birth, deceased, hukou, conflicted, _systems_of(sources)
                )
        for cid, status in rows.enrolments:
            if cid in people:
                people[cid].enrolment_statuses.append(status)
        for cid, parent, role, rel_id in rows.parents:
            young = people.get(cid)
            if young is not None:
                young.parents.append((parent, role, rel_id))
        for young in people.values():
            if len(young.parents) > 1:  # in relationship id order, each once
                young.parents = sorted(set(young.parents), key=itemgetter(2))
        for cid, hid in rows.households:
            if cid in people and hid not in people[cid].households:
                people[cid].households.append(hid)
        out = ChildFamilies([people[k] for k in sorted(people)])
        for parent, claims in rows.parent_claims:
            if parent not in out.parent_claims:
                out.parent_claims[parent] = _claims_of(claims, claim_key)
        for parent, hid in rows.parent_households:
            homes = out.parent_households.setdefault(parent, [])
            if hid not in homes:
                homes.append(hid)
        return out

    # ---- set reads ----------------------------------------------------------------------------
    def select(self, selection: Selection) -> list[Node]:
        """The selected nodes (by id, or a division subtree's), in id order."""
        _check_selection(selection)
        if selection.ids == () and selection.division_prefix is None:
            return []
        with self._reads():
            rows = self._select(selection)
        return sorted((LazyNode.of(selection.label, r) for r in rows), key=lambda n: n.id)

    def hops(self, selection: Selection, path: Sequence[Step]) -> list[tuple[str, Rel, Node]]:
        """Walk `path` from every selected node at once and return the last hop of each walk:
        (the id of the node the hop leaves, the relationship, the node it reaches), each
        relationship once, in relationship id order.

        Set-based work (classifying a township's children) reads what its rules need with one
        statement per path, however many nodes are selected, and never walks on through a node
        the path does not name (a village or a school is at most the end of a hop). A hop may
        come back along the relationship the walk came by: from a child through its guardian to
        the guardian's wards reaches every ward, the child included (both engines alike).
        """
        _check_selection(selection)
        if not 1 <= len(path) <= self.max_hops:
            raise GraphStoreError(f"a walk has 1 to {self.max_hops} steps")
        for step in path:
            _check_rel_types([step.rel_type])
            if step.direction not in ("in", "out"):
                raise GraphStoreError(f"direction must be 'in' or 'out', not {step.direction!r}")
            if step.label is not None and step.label not in NODE_KINDS:
                raise GraphStoreError(f"unknown node label {step.label!r}")
        if selection.ids == () and selection.division_prefix is None:
            return []
        with self._reads():
            rows = self._hops(selection, path)
        out: dict[str, tuple[str, Rel, Node]] = {}
        reached: dict[str, Node] = {}  # one Node per node reached, however many walks reach it
        for near, rel_row, far_row in rows:
            if rel_row["id"] not in out:
                far = reached.get(far_row["id"])
                if far is None:
                    far = reached[far_row["id"]] = LazyNode.of(label_of(far_row["id"]), far_row)
                out[rel_row["id"]] = (near, LazyRel.of(rel_row), far)
        return [out[k] for k in sorted(out)]

    def stats(self) -> dict[str, dict[str, int]]:
        with self._reads():
            return {
                "nodes": {label: self._count_nodes(label) for label in NODE_KINDS},
                "relationships": {t: self._count_rels(t) for t in REL_KINDS},
            }


def _cut(
    start: str,
    depth: int,
    nodes: dict[str, Node],
    adjacent: dict[str, list[Rel]],
    hubs: frozenset[str] = frozenset(),
) -> Subgraph:
    """One start's neighbourhood out of a union: breadth first to `depth`, keeping every
    relationship of the nodes expanded (those within `depth - 1` hops); a hub is not expanded."""
    sub = Subgraph({start: nodes[start]}, {})
    frontier = [start]
    for _ in range(depth):
        nxt: list[str] = []
        for node_id_ in frontier:
            if node_id_ != start and label_of(node_id_) in hubs:
                continue
            for rel in adjacent.get(node_id_, ()):
                sub.rels[rel.id] = rel
                other = rel.dst if rel.src == node_id_ else rel.src
                if other not in sub.nodes and other in nodes:
                    sub.nodes[other] = nodes[other]
                    nxt.append(other)
        frontier = nxt
    return sub


_DECODER = json.JSONDecoder()
# The keys inside one source or claim entry (graph.provenance): never an attribute searched for.
_SOURCE_KEYS = frozenset({"at", "record_id", "system", "value"})
_SYSTEM = re.compile(r'"system":"([^"\\]*)"')


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_key(attr: str) -> str:
    return _json_text(attr) + ":"


def _claims_of(text: str | None, key: str) -> list[dict[str, Any]]:
    """``load(text, {}).get(attr, [])`` for the `key` ``"attr":``, decoding that attribute's list
    only: a person's claims JSON holds every attribute, and decoding all of them was most of the
    cross-check's Python time (80,000 parents at 200,000 persons)."""
    at = text.find(key) if text else -1
    if text is None or at < 0:
        return []
    value, _end = _DECODER.raw_decode(text, at + len(key))
    return list(value)


def _systems_of(text: str | None) -> list[str]:
    """``[s["system"] for s in load(text, [])]`` read off the text (five times faster at 80,000
    children); a sources list with an escape in it is decoded."""
    if not text:
        return []
    if "\\" in text:
        return [str(s["system"]) for s in load(text, []) if "system" in s]
    return _SYSTEM.findall(text)


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices; records for one id stay in order, so folding stays sequential."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _check_prefix(prefix: str) -> None:
    if not prefix.isdigit() or len(prefix) > 12:
        raise GraphStoreError(f"division prefix {prefix!r} is not a code prefix")


def _check_selection(selection: Selection) -> None:
    if selection.label not in NODE_KINDS:
        raise GraphStoreError(f"unknown node label {selection.label!r}")
    if selection.ids and selection.division_prefix is not None:
        raise GraphStoreError("a selection is by ids or by division, not both")
    if any(label_of(i) != selection.label for i in selection.ids):
        raise GraphStoreError(f"every id of a selection must be a {selection.label}")
    if selection.division_prefix is not None:
        if not NODE_KINDS[selection.label].has_division:
            raise GraphStoreError(f"{selection.label} is not listable by division")
        _check_prefix(selection.division_prefix)
    if selection.born_from is not None and (selection.label != "Person" or selection.division_prefix is None):
        raise GraphStoreError("born_from selects people of a division")


def _check_rel_types(rel_types: Sequence[str] | None) -> None:
    unknown = set(rel_types or ()) - set(REL_KINDS)
    if unknown:
        raise GraphStoreError(f"unknown relationship types {sorted(unknown)}")


def to_node(label: str, row: dict[str, Any]) -> Node:
    props = {k: row.get(k) for k in NODE_KINDS[label].props}
    return Node(row["id"], label, props, load(row.get("sources"), []), load(row.get("claims"), {}))


def to_rel(row: dict[str, Any]) -> Rel:
    rel_type = row["type"]
    props = {k: row.get(k) for k in REL_KINDS[rel_type].props}
    return Rel(
        row["id"],
        rel_type,
        row["src"],
        row["dst"],
        props,
        load(row.get("sources"), []),
        load(row.get("claims"), {}),
    )


class _LazyProvenance:
    """`sources` and `claims` kept as the stored JSON until first read.

    A set read returns thousands of elements of which a rule cites a few (parsing every
    element's provenance was a third of a township's read time); equal to the plain Node or
    Rel with the same values, either way round."""

    _sources_json: str | None
    _claims_json: str | None
    _parsed: dict[str, Any]

    def _get(self, name: str, empty: Any) -> Any:
        if name not in self._parsed:
            self._parsed[name] = load(getattr(self, f"_{name}_json"), empty)
        return self._parsed[name]

    @property
    def sources(self) -> Any:
        return self._get("sources", [])

    @sources.setter
    def sources(self, value: Any) -> None:
        self._parsed["sources"] = value

    @property
    def claims(self) -> Any:
        return self._get("claims", {})

    @claims.setter
    def claims(self, value: Any) -> None:
        self._parsed["claims"] = value


class LazyNode(_LazyProvenance, Node):
    def __init__(
        self, node_id: str, label: str, props: dict[str, Any], sources: str | None, claims: str | None
    ):
        self.id, self.label, self.props = node_id, label, props
        self._sources_json, self._claims_json, self._parsed = sources, claims, {}

    @classmethod
    def of(cls, label: str, row: dict[str, Any]) -> LazyNode:
        props = {k: row.get(k) for k in NODE_KINDS[label].props}
        return cls(row["id"], label, props, row.get("sources"), row.get("claims"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return (self.id, self.label, self.props, self.sources, self.claims) == (
            other.id,
            other.label,
            other.props,
            other.sources,
            other.claims,
        )

    __hash__ = None  # type: ignore[assignment]


class LazyRel(_LazyProvenance, Rel):
    def __init__(
        self,
        rel_id: str,
        rel_type: str,
        src: str,
        dst: str,
        props: dict[str, Any],
        sources: str | None,
        claims: str | None,
    ):
        self.id, self.type, self.src, self.dst, self.props = rel_id, rel_type, src, dst, props
        self._sources_json, self._claims_json, self._parsed = sources, claims, {}

    @classmethod
    def of(cls, row: dict[str, Any]) -> LazyRel:
        rel_type = row["type"]
        props = {k: row.get(k) for k in REL_KINDS[rel_type].props}
        return cls(row["id"], rel_type, row["src"], row["dst"], props, row.get("sources"), row.get("claims"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rel):
            return NotImplemented
        mine = (self.id, self.type, self.src, self.dst, self.props, self.sources, self.claims)
        return mine == (other.id, other.type, other.src, other.dst, other.props, other.sources, other.claims)

    __hash__ = None  # type: ignore[assignment]
