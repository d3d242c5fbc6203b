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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from graph.model import NODE_KINDS, REL_KINDS, SYSTEM_PROPS, label_of
from graph.port import GraphStore, GraphStoreError, _chunks
from graph.provenance import Merged
from graph.records import NodeRecord, RelRecord, UpsertResult

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
