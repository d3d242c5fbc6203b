"""What each loaded landing row projected into the graph, and the projection watermark.

Each row's records are kept in ``landing_projection`` (written with the row's ``loaded`` mark),
naming people by mention (:func:`person_ref`) rather than by person key, so that a merge or its
undoing changes no stored projection: :func:`resolve_refs` names them under today's links. The
watermark in ``graph_projection`` (:func:`graph_mark`) says how far the graph has caught up with
the record. Apart from the runner because both the sync (which writes them) and the rebuild from
the record (:mod:`connectors.rebuild`, which reads them) use these, and neither should carry the
other's code.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from connectors.bulk import insert_rows
from connectors.tables import DerivedQueue, GraphProjection, LandingProjection
from graph.port import GraphStore, GraphStoreError
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import jsontext
from kernel.db.tables import utcnow

__all__ = [
    "GRAPH",
    "PERSON_REF",
    "decode_plain",
    "decode_records",
    "encode_records",
    "graph_mark",
    "merged_people",
    "merges_built",
    "merges_queued",
    "person_ref",
    "resolve_plain",
    "resolve_refs",
    "set_graph_epoch",
    "townships_of",
]

GP = GraphProjection.__table__  # type: ignore[attr-defined]
LP = LandingProjection.__table__  # type: ignore[attr-defined]
GRAPH = "graph"  # the one graph store's row in graph_projection
PERSON_REF = "person:\x00"  # a person named by the mention resolution links: person_ref(system, id)


def person_ref(system: str, record_id: str) -> str:
    """A person as a landing projection names it: by the mention, not the person key a merge or its
    undoing changes (a valid ``person:`` id for the records' own checks)."""
    return f"{PERSON_REF}{system}\x1f{record_id}"


def _person_of(ref: str, keys: dict[tuple[str, str], str]) -> str:
    if not ref.startswith(PERSON_REF):
        return ref
    system, _, record_id = ref[len(PERSON_REF) :].partition("\x1f")
    key = keys.get((system, record_id))
    if key is None:
        raise GraphStoreError(f"no person is linked to the mention ({system}, {record_id})")
    return f"person:{key}"


def resolve_refs(
    nodes: Sequence[NodeRecord], rels: Sequence[RelRecord], keys: dict[tuple[str, str], str]
) -> tuple[list[NodeRecord], list[RelRecord]]:
    """The records with each person named by its current person key."""
    out_nodes = [
        NodeRecord(_person_of(n.id, keys), n.props, n.source) if n.id.startswith(PERSON_REF) else n
        for n in nodes
    ]
    out_rels = [
        RelRecord(r.type, _person_of(r.src, keys), _person_of(r.dst, keys), r.props, r.source, r.qualifier)
        if r.src.startswith(PERSON_REF) or r.dst.startswith(PERSON_REF)
        else r
        for r in rels
    ]
    return out_nodes, out_rels


def encode_records(nodes: Sequence[NodeRecord], rels: Sequence[RelRecord]) -> str:
    """One row's records as compact JSON (values keep their JSON types: 1, 1.0, "1", true)."""
    out: list[list[Any]] = [
        ["n", n.id, n.props, n.source.system, n.source.record_id, n.source.at.isoformat()] for n in nodes
    ]
    out += [
        ["r", r.type, r.src, r.dst, r.props, r.source.system, r.source.record_id, r.source.at.isoformat()]
        + ([r.qualifier] if r.qualifier else [])
        for r in rels
    ]
    # Text as json.dumps writes it (kernel.jsontext); without a float among the values (there is
    # none in what the connectors assert), orjson's is that text.
    props = [n.props for n in nodes] + [r.props for r in rels]
    floats = any(type(v) is float for p in props for v in p.values())
    return jsontext.dumps_compact(out, floats=floats)


def decode_records(text: str) -> tuple[list[NodeRecord], list[RelRecord]]:
    nodes: list[NodeRecord] = []
    rels: list[RelRecord] = []
    for e in jsontext.loads_exact(text):
        if e[0] == "n":
            nodes.append(NodeRecord(e[1], e[2], Assertion(e[3], e[4], datetime.fromisoformat(e[5]))))
        else:
            at = datetime.fromisoformat(e[7])
            rels.append(
                RelRecord(e[1], e[2], e[3], e[4], Assertion(e[5], e[6], at), e[8] if len(e) > 8 else "")
            )
    return nodes, rels


def decode_plain(text: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What :func:`decode_records` then :func:`resolve_refs` give, as plain tuples rather than
    record objects (a rebuild writes them straight to its spill, which checks them as the records
    would): nodes ``(id, props, system, record_id, at)``, relationships ``(type, src, dst, props,
    system, record_id, at, qualifier)``, ``at`` as the ISO text stored; :func:`resolve_plain` names
    the people."""
    nodes: list[tuple[Any, ...]] = []
    rels: list[tuple[Any, ...]] = []
    for e in jsontext.loads_exact(text):
        if e[0] == "n":
            nodes.append((e[1], e[2], e[3], e[4], e[5]))
        else:
            rels.append((e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8] if len(e) > 8 else ""))
    return nodes, rels


def resolve_plain(
    nodes: list[tuple[Any, ...]], rels: list[tuple[Any, ...]], keys: dict[tuple[str, str], str]
) -> None:
    """:func:`resolve_refs` of :func:`decode_plain`'s tuples, in place."""
    for i, n in enumerate(nodes):
        if n[0].startswith(PERSON_REF):
            nodes[i] = (_person_of(n[0], keys), *n[1:])
    for i, r in enumerate(rels):
        if r[1].startswith(PERSON_REF) or r[2].startswith(PERSON_REF):
            rels[i] = (r[0], _person_of(r[1], keys), _person_of(r[2], keys), *r[3:])


def write_projections(conn: Any, projected: dict[int, str]) -> None:
    """In the caller's transaction (the one that marks the rows loaded): replace the rows' entries."""
    seqs = sorted(projected)
    for i in range(0, len(seqs), 900):
        conn.execute(LP.delete().where(LP.c.seq.in_(seqs[i : i + 900])))
    if seqs:
        insert_rows(
            conn,
            LP,
            [
                {
                    "seq": q,
                    "records": projected[q],
                    "sha256": hashlib.sha256(projected[q].encode()).hexdigest(),
                }
                for q in seqs
            ],
        )


def stale_people(nodes: Iterable[NodeRecord], rels: Iterable[RelRecord]) -> dict[str, str | None]:
    """The people a write touched, with the 9-digit township they live in where it says."""
    out: dict[str, str | None] = {}
    for n in nodes:
        if n.id.startswith("person:"):
            d = str(n.props.get("division") or "")
            if len(d) == 12:
                out[n.id] = d[:9]
            else:
                out.setdefault(n.id, None)
    for r in rels:
        for end in (r.src, r.dst):
            if end.startswith("person:"):
                out.setdefault(end, None)
    return out


def graph_mark(engine: Engine) -> tuple[str, int]:
    """The projection watermark the record holds (created, with a new epoch, on first use)."""
    with engine.begin() as conn:
        row = conn.execute(select(GP.c.epoch, GP.c.seq).where(GP.c.name == GRAPH)).first()
        if row is not None:
            return str(row.epoch), int(row.seq)
        epoch = uuid.uuid4().hex
        conn.execute(GP.insert().values(name=GRAPH, epoch=epoch, seq=0, updated_at=utcnow()))
        return epoch, 0


def set_graph_epoch(engine: Engine, epoch: str, seq: int) -> None:
    """After a rebuild: the record names the new graph generation."""
    graph_mark(engine)
    with engine.begin() as conn:
        conn.execute(update(GP).where(GP.c.name == GRAPH).values(epoch=epoch, seq=seq, updated_at=utcnow()))


def merges_queued(engine: Engine) -> int | None:
    """The last entry of the merge queue (``reproject_queue``) now. A graph built from the record
    after this read projects every loaded record under the person links as they are then, so it
    covers the entries up to it: :func:`merges_built` settles them once that graph is the one."""
    from connectors.resolution.tables import ReprojectQueue

    rq = ReprojectQueue.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        top = conn.execute(select(func.max(rq.c.id))).scalar_one()
    return int(top) if top is not None else None


def merged_people(engine: Engine, top: int | None) -> list[str]:
    """The people of the merge queue's entries up to ``top`` (``person:<key>``)."""
    from connectors.resolution.tables import ReprojectQueue

    if top is None:
        return []
    rq = ReprojectQueue.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        keys = conn.execute(select(rq.c.person_key).where(rq.c.id <= top).distinct()).scalars()
        return sorted(f"person:{k}" for k in keys)


def townships_of(graph: GraphStore, people: Sequence[str]) -> dict[str, str | None]:
    """The 9-digit township each person's node says they live in (None: no node, or it does not
    say; the graph failing to answer says nothing either)."""
    out: dict[str, str | None] = dict.fromkeys(people)
    try:
        found = graph.get_nodes(list(people)) if people else {}
    except GraphStoreError:
        return out
    for pid, node in found.items():
        d = str(node.props.get("division") or "")
        if len(d) == 12:
            out[pid] = d[:9]
    return out


def merges_built(engine: Engine, top: int | None, townships: dict[str, str | None]) -> int:
    """Once a graph built from the record after :func:`merges_queued` read ``top`` is the one the
    record names: the merge queue's entries up to ``top`` need no re-projection of their own, and
    go; their people are queued for their derived state in the same transaction, as a re-projection
    queues them (``Pipeline._commit_reprojected``: the absorbed person is no child any more, the
    survivor's children have another parent record). ``townships`` (:func:`townships_of`): a large
    queue is reclassified township by township. How many entries went (none: another settled them)."""
    from connectors.resolution.tables import ReprojectQueue

    if top is None:
        return 0
    rq = ReprojectQueue.__table__  # type: ignore[attr-defined]
    dq = DerivedQueue.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        keys = conn.execute(select(rq.c.person_key).where(rq.c.id <= top)).scalars().all()
        if not keys:
            return 0
        conn.execute(rq.delete().where(rq.c.id <= top))
        now = utcnow()
        people = sorted({f"person:{k}" for k in keys})
        insert_rows(
            conn, dq, [{"person_id": p, "township": townships.get(p), "enqueued_at": now} for p in people]
        )
    return len(keys)
