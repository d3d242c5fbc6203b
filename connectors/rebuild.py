"""The graph as the record says it should be: what ``shouhu graph rebuild`` and ``verify`` fold.

The relational store is the system of record and the graph its projection; :func:`project_record`
computes that projection from the record alone (reference snapshots, the loaded rows'
``landing_projection``, today's person links), never reading the graph. Apart from the runner
because it is the runner's reader, not one of its steps: it borrows a :class:`Pipeline` only to
interpret again the rows that have no stored projection, so it depends on the runner and the
runner not on it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, and_, func, select

from connectors.landing import LANDED_COLUMNS as LANDING_COLUMNS
from connectors.landing import LandedRow
from connectors.landing import landed_row as landing_row
from connectors.mentions import PersonMention
from connectors.pipeline import Pipeline
from connectors.projection import PERSON_REF, decode_plain, decode_records, resolve_plain, resolve_refs
from connectors.reference import reference_records, snapshot_reference
from connectors.reports import SourceReport
from connectors.sources import SOURCE_NAMES, source_for_replay
from connectors.tables import LandingProjection, LandingRecord, ReferenceSnapshot
from graph.fold import Fold, Spill
from graph.port import GraphStore
from graph.records import NodeRecord, RelRecord

__all__ = ["LinkedKeys", "count_loaded", "project_record", "projections_hold", "spill_source"]

L = LandingRecord.__table__  # type: ignore[attr-defined]
LP = LandingProjection.__table__  # type: ignore[attr-defined]
RS = ReferenceSnapshot.__table__  # type: ignore[attr-defined]
log = logging.getLogger("shouhu.sync")


def project_record(
    engine: Engine,
    graph: GraphStore,
    *,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
    into: Any = None,
) -> Any:
    """The graph the relational store says there should be, folded in memory (a :class:`Fold`), or
    into ``into`` (a :class:`graph.fold.Spill`: the same writes, kept on disk).

    Every version of the reference tables a sync loaded, in order; then what each source's loaded
    landing rows projected (``landing_projection``, written with the rows' ``loaded`` mark), under
    the person each mention is linked to now (so a merge, automatic or reviewed, shows as one
    person). Nodes of every row first, then relationships: one record's assertion does not depend
    on the order of another's (provenance is kept per source record), and every relationship then
    finds its ends. A source with a loaded row that has no projection (synced before migration
    0012) or whose projection does not match its hash is interpreted again from its payloads, in
    batches as the sync made them. Nothing is read from the graph; ``graph`` only completes the
    pipeline this borrows its interpretation from. ``progress(n)`` after each chunk of landing rows.

    Read ``batch_size`` landing rows at a time, with the person links of those rows only: what this
    holds is bounded by the batch (and, in memory, by the fold), not by the county. A source read
    from its projections is read once, each row's nodes and relationships written as it is read: each
    element is folded from its own records in their order, and nodes and relationships are apart, so
    this is the fold of all nodes first, then all relationships.
    """
    from connectors.sources import ConnectorsConfig

    links = LinkedKeys(engine)
    pipe = Pipeline(engine, graph, ConnectorsConfig(), resolver=links, resolver_name="person_link")
    fold = Fold() if into is None else into
    # Sources a worker already wrote into the spill, with the reference tables before them, while
    # the sync that loaded them went on (connectors.spill_ahead): a prefix of SOURCE_NAMES.
    done = into.done if isinstance(into, Spill) else ()
    with engine.connect() as conn:
        snapshots = conn.execute(select(RS.c.files, RS.c.asserted_at).order_by(RS.c.id)).all()
    for files, asserted_at in snapshots:
        ref = snapshot_reference(files)
        if not done:
            write_reference(fold, ref, asserted_at)
        pipe.ref = ref  # records are read against the reference tables of the last sync
    if done and progress and isinstance(into, Spill):
        progress(into.done_rows)
    held = {name: projections_hold(engine, name) for name in SOURCE_NAMES if name not in done}
    rel_rows: list[tuple[list[NodeRecord], list[RelRecord]]] = []
    in_memory = into is None
    for name in SOURCE_NAMES:
        if name in done:
            continue
        if held[name] and isinstance(fold, Spill):  # records as plain tuples, no record objects
            spill_source(engine, name, fold, links, batch_size, progress)
            continue
        if held[name]:
            for chunk in _projections(engine, name, batch_size):
                decoded = [decode_records(text) for _, text in chunk]
                keys = links.of_refs(decoded)
                for nodes, rels in decoded:
                    fold.upsert_nodes(resolve_refs(nodes, (), keys)[0])
                    if not in_memory:  # a Fold checks ends when written: its nodes must all be there
                        fold.upsert_rels(resolve_refs((), rels, keys)[1])
                if progress:
                    progress(len(chunk))
            continue
        src = source_for_replay(name)
        rep = SourceReport(name, kind="rebuild")
        later: list[RelRecord] = []
        for rows in _loaded_batches(engine, name, batch_size, whole_groups=src.whole_groups):
            _, nodes, rels = pipe._project(src, rows, rep)
            pipe._projected.clear()
            fold.upsert_nodes(nodes)
            later.extend(rels)
            if progress:
                progress(len(rows))
        if in_memory:
            rel_rows.append(([], later))
        else:
            fold.upsert_rels(later)  # one write, as a Fold takes it (its chunks are part of the fold)
    if in_memory:
        later_of = iter(rel_rows)
        for name in SOURCE_NAMES:
            if not held[name]:
                fold.upsert_rels(next(later_of)[1])
                continue
            for chunk in _projections(engine, name, batch_size):
                decoded = [decode_records(text) for _, text in chunk]
                keys = links.of_refs(decoded)
                for _, rels in decoded:
                    fold.upsert_rels(resolve_refs((), rels, keys)[1])
    return fold


def write_reference(fold: Any, ref: Any, asserted_at: Any) -> None:
    """One snapshot of the reference tables' divisions and schools, as the record's graph opens."""
    nodes, rels = reference_records(ref, asserted_at)
    fold.upsert_nodes(nodes)
    fold.upsert_rels(rels)


def spill_source(
    engine: Engine,
    name: str,
    spill: Spill,
    links: LinkedKeys,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    *,
    rows: Callable[[int, int, int], None] | None = None,
    used: Callable[[dict[tuple[str, str], str]], None] | None = None,
) -> None:
    """A source read from its projections into a spill, as plain tuples (no record objects): each
    loaded row's nodes, then its relationships, under the person each mention is linked to now.
    ``rows(seq, first_ord, n)`` is told where each row's records went and ``used(keys)`` the links
    each chunk was read under (the worker that writes ahead re-keys rows a later merge moved)."""
    for chunk in _projections(engine, name, batch_size):
        plain = [decode_plain(text) for _, text in chunk]
        keys = links.of_plain_refs(plain)
        for (seq, _), (row_nodes, row_rels) in zip(chunk, plain, strict=True):
            resolve_plain(row_nodes, row_rels, keys)
            first = spill.next_ord
            spill.upsert_plain_nodes(row_nodes)
            spill.upsert_plain_rels(row_rels)
            if rows is not None:
                rows(seq, first, spill.next_ord - first)
        if used is not None:
            used(keys)
        if progress:
            progress(len(chunk))


def projections_hold(engine: Engine, source: str) -> bool:
    """Whether every loaded row of the source has its projection, each matching its hash."""
    joined = L.outerjoin(LP, LP.c.seq == L.c.seq)
    with engine.connect() as conn:
        lacking = conn.execute(
            select(func.count())
            .select_from(joined)
            .where(and_(L.c.source == source, L.c.status == "loaded", LP.c.seq.is_(None)))
        ).scalar_one()
        if lacking:
            return False
        rows = conn.execute(
            select(L.c.seq, LP.c.records, LP.c.sha256)
            .select_from(L.join(LP, LP.c.seq == L.c.seq))
            .where(and_(L.c.source == source, L.c.status == "loaded"))
        )
        for seq, text, digest in rows:
            if hashlib.sha256(text.encode()).hexdigest() != digest:
                log.warning("landing row %d: its projection does not match its hash; interpreting again", seq)
                return False
    return True


def _projections(engine: Engine, source: str, size: int) -> Iterable[list[tuple[int, str]]]:
    """(seq, projection) of the source's loaded rows, in landing order, ``size`` rows at a time."""
    after = 0
    while True:
        with engine.connect() as conn:
            chunk = conn.execute(
                select(L.c.seq, LP.c.records)
                .select_from(L.join(LP, LP.c.seq == L.c.seq))
                .where(and_(L.c.source == source, L.c.status == "loaded", L.c.seq > after))
                .order_by(L.c.seq)
                .limit(size)
            ).all()
        if not chunk:
            return
        after = chunk[-1][0]
        yield [(seq, text) for seq, text in chunk]


def count_loaded(engine: Engine) -> int:
    """Landing rows a rebuild replays (for its progress bar)."""
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(L).where(L.c.status == "loaded")).scalar_one()
        )


class LinkedKeys:
    """The resolver of a rebuild: who each mention is linked to now, without resolving anything.
    The links are read for the mentions asked about (a chunk of rows), not the county's at once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lookup(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        from connectors.resolution.tables import PersonLink

        link = PersonLink.__table__  # type: ignore[attr-defined]
        by_system: dict[str, set[str]] = defaultdict(set)
        for system, record_id in wanted:
            by_system[system].add(record_id)
        out: dict[tuple[str, str], str] = {}
        with self.engine.connect() as conn:
            for system, ids in sorted(by_system.items()):
                ordered = sorted(ids)
                for i in range(0, len(ordered), 900):
                    out.update(
                        ((system, r), k)
                        for r, k in conn.execute(
                            select(link.c.record_id, link.c.person_key).where(
                                and_(link.c.system == system, link.c.record_id.in_(ordered[i : i + 900]))
                            )
                        )
                    )
        return out

    def of_refs(
        self, decoded: Iterable[tuple[Sequence[NodeRecord], Sequence[RelRecord]]]
    ) -> dict[tuple[str, str], str]:
        """The links of every person the decoded rows name by mention (``person_ref``)."""
        wanted: set[tuple[str, str]] = set()
        for nodes, rels in decoded:
            ends = [n.id for n in nodes] + [e for r in rels for e in (r.src, r.dst)]
            for ref in ends:
                if ref.startswith(PERSON_REF):
                    system, _, record_id = ref[len(PERSON_REF) :].partition("\x1f")
                    wanted.add((system, record_id))
        return self.lookup(wanted)

    def of_plain_refs(
        self, decoded: Iterable[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]
    ) -> dict[tuple[str, str], str]:
        """:meth:`of_refs` of rows decoded by ``decode_plain``."""
        wanted: set[tuple[str, str]] = set()
        n = len(PERSON_REF)
        for nodes, rels in decoded:
            for ref in [x[0] for x in nodes] + [e for r in rels for e in (r[1], r[2])]:
                if ref.startswith(PERSON_REF):
                    system, _, record_id = ref[n:].partition("\x1f")
                    wanted.add((system, record_id))
        return self.lookup(wanted)

    def __call__(self, engine: Engine, mentions: Sequence[PersonMention]) -> dict[tuple[str, str], str]:
        return self.lookup(m.key for m in mentions)


def _loaded_batches(
    engine: Engine, source: str, size: int, *, whole_groups: bool
) -> Iterable[list[LandedRow]]:
    """The source's loaded rows in landing order, ``size`` at a time, households kept whole."""
    after = 0
    taken: set[int] = set()  # rows pulled forward to complete a household
    while True:
        with engine.connect() as conn:
            main = [
                landing_row(r)
                for r in conn.execute(
                    select(*LANDING_COLUMNS)
                    .where(and_(L.c.source == source, L.c.status == "loaded", L.c.seq > after))
                    .order_by(L.c.seq)
                    .limit(size)
                )
            ]
            if not main:
                return
            after = main[-1].seq
            rows = [r for r in main if r.seq not in taken]
            last = main[-1].group_key
            if whole_groups and last is not None and len(main) == size:
                more = conn.execute(
                    select(*LANDING_COLUMNS)
                    .where(
                        and_(
                            L.c.source == source,
                            L.c.status == "loaded",
                            L.c.group_key == last,
                            L.c.seq > after,
                        )
                    )
                    .order_by(L.c.seq)
                )
                extra = [landing_row(r) for r in more]
                taken |= {r.seq for r in extra}
                rows += extra
        if rows:
            yield rows
