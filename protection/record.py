"""The relational store is the system of record; the graph is verified against it, rebuilt from it,
and rebuilt automatically when it cannot be opened or has fallen behind it.

What the record says the graph holds (:func:`expected_graph`): the connectors' records
(reference tables, and what each loaded landing row projected, kept beside it in
``landing_projection``, under today's person links: ``connectors.rebuild.project_record``),
then the workflow records (cases with their reports, assessments, services and interventions;
guardianship agreements; supervisors' visits), each projected by the same code that projects it
after a change. It composes connectors and protection, so it sits in the highest of
the two, where every way of opening the graph can reach it: the CLI (``shouhu``) and the API's
lifespan (``api.app``) both open the graph through :func:`open_healed`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from connectors.projection import (
    graph_mark,
    merged_people,
    merges_built,
    merges_queued,
    set_graph_epoch,
    townships_of,
)
from connectors.rebuild import count_loaded, project_record
from connectors.reference import ReferenceSnapshotMissing, ensure_reference_snapshot
from graph.factory import discard, lock_holder, move_aside, open_graph, probe, rebuild_into
from graph.fold import Fold, Spill, VerifyReport, compare_streams
from graph.port import GraphInUse, GraphStore, GraphStoreError
from kernel.collector import cycle_collection_paused
from kernel.db import session
from kernel.settings import Settings, get_settings

log = logging.getLogger("shouhu.record")

Progress = Callable[[int], None]


def _reference_kept(engine: Engine) -> None:
    """The record holds the reference tables its records were read against (taken again if it can);
    else GraphStoreError with what to run, before anything is emptied or built."""
    try:
        if ensure_reference_snapshot(engine):
            log.warning("the reference tables' snapshot was missing from the record; taken again")
    except ReferenceSnapshotMissing as exc:
        raise GraphStoreError(str(exc)) from exc


def expected_graph(
    engine: Engine, graph: GraphStore, progress: Progress | None = None, into: Spill | None = None
) -> Any:
    """The graph the relational store says there should be: in memory (a :class:`Fold`), or written
    into ``into`` (a :class:`Spill` on disk, folded when read back: what verify and rebuild use).

    Raises GraphStoreError (with what to run, in Chinese) when the record lacks the reference
    tables its records were read against and they cannot be found again."""
    _reference_kept(engine)
    with cycle_collection_paused():
        fold = project_record(engine, graph, progress=progress, into=into)
        _workflow_records(engine, fold)
    return fold


def _workflow_records(engine: Engine, fold: Fold | Spill) -> None:
    """Cases, agreements and visits, through protection's own projections of them."""
    from sqlmodel import select as sql_select

    from protection.case_tables import GuardianshipAgreement, ProtectionCaseRow
    from protection.cases import load_file
    from protection.projection import agreement_records
    from protection.projection import case_records as case_records  # same package: its own projection
    from protection.screening_tables import VisitRecord
    from protection.visits import project as project_visit

    fold.drop_dangling = True  # a person a merge absorbed takes the cases' edges with it, as in a store
    cases = ProtectionCaseRow.__table__  # type: ignore[attr-defined]
    agreements = GuardianshipAgreement.__table__  # type: ignore[attr-defined]
    visit_rows = VisitRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        case_ids = [c for (c,) in conn.execute(select(cases.c.id).order_by(cases.c.id))]
        agreement_ids = [a for (a,) in conn.execute(select(agreements.c.id).order_by(agreements.c.id))]
    with session(engine) as s:
        for case_id in case_ids:
            f = load_file(s, case_id)
            if f is not None:
                nodes, rels = case_records(f)
                fold.upsert_nodes(nodes)
                fold.upsert_rels(rels)
    with session(engine) as s:
        for agreement_id in agreement_ids:
            agreement = s.get(GuardianshipAgreement, agreement_id)
            if agreement is not None:
                nodes, rels = agreement_records(agreement)
                fold.upsert_nodes(nodes)
                fold.upsert_rels(rels)
    with session(engine) as s:
        for visit in s.exec(sql_select(VisitRecord).order_by(visit_rows.c.client_id)).yield_per(1000):
            project_visit(fold, visit)  # type: ignore[arg-type]
    fold.drop_dangling = False


def verify(
    engine: Engine,
    graph: GraphStore,
    progress: Progress | None = None,
    first: int = 10,
    chunk: int | None = None,
) -> VerifyReport:
    """The graph against the record: counts and a content hash per kind, the first differences.

    The record's graph is written to a :class:`Spill` and folded element by element as it is read
    back; the graph is read a page at a time (``GraphStore.scan``), both in id order, and each kind's
    lines are hashed in sorted runs: memory is bounded by ``chunk`` (``graph_fold_chunk``), not by
    the county. The hashes, counts and differences are those of :func:`graph.fold.compare`."""
    chunk = chunk or get_settings().graph_fold_chunk
    with cycle_collection_paused(), Spill(read_chunk=chunk) as spill:
        expected_graph(engine, graph, progress, into=spill)
        return compare_streams(spill.elements(), graph, spill.path, chunk, first)


@dataclass
class RebuildReport:
    nodes: int
    relationships: int
    seconds: float
    epoch: str
    replaced: str | None  # where a broken graph was set aside (None: a manual rebuild discards it)

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "relationships": self.relationships,
            "seconds": round(self.seconds, 3),
            "epoch": self.epoch,
            "replaced": self.replaced,
        }


def rebuild(
    settings: Settings,
    engine: Engine,
    *,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    keep_old: bool = False,
    spill: Spill | None = None,
) -> RebuildReport:
    """Rebuild the graph from the record into a new file and swap it in (see graph.factory); with
    ``spill``, going on from the sources a first load's worker already wrote into it.

    ``on_total(n)`` is told the work units (landing rows, then rows loaded) before they start.
    The automatic merges queued for re-projection before the build (``reproject_queue``) are in the
    new graph: once it is the one the record names, their entries go and their people are queued for
    their derived state (``connectors.projection.merges_built``), rather than re-projected again by
    the next sync's first batch (the open that heals a graph behind the record goes through here).
    """
    started = time.perf_counter()
    _reference_kept(engine)  # refuse before a new file is made (or a Neo4j database emptied)
    epoch = uuid.uuid4().hex
    _old_epoch, seq = graph_mark(engine)
    counts: dict[str, int] = {}
    # The build projects every record under today's person links: the automatic merges queued for
    # re-projection up to now are in it, and are settled once it is the graph (`merges_built`).
    top = merges_queued(engine)
    merged = merged_people(engine, top)
    townships: dict[str, str | None] = {}

    chunk = settings.graph_fold_chunk
    given = [spill] if spill is not None else []  # a first load's spill begun ahead: used once

    def fill(store: GraphStore) -> None:
        load(store)
        townships.update(townships_of(store, merged))

    def load(store: GraphStore) -> None:
        if on_total:
            on_total(count_loaded(engine))
        with given.pop() if given else Spill(read_chunk=chunk) as spill:
            expected_graph(engine, store, progress, into=spill)
            if on_total:
                on_total(spill.count())
            counts["nodes"] = counts["relationships"] = 0
            copy_spill = getattr(store, "copy_spill", None)
            if copy_spill is not None and settings.graph_build_worker:  # LadybugDB, on two cores
                loaded = copy_spill(spill, chunk, progress, settings.graph_build_ahead_rows)
                if loaded is not None:
                    counts["nodes"], counts["relationships"] = loaded
                    store.set_watermark(epoch, seq)
                    return
            copy_kind = getattr(store, "copy_kind", None)
            if copy_kind is not None:  # LadybugDB: each kind in one COPY per table, from files
                for section, kind, rows in spill.elements():
                    n = copy_kind(section, kind, rows, spill.path, chunk, progress)
                    counts["nodes" if section == "node" else "relationships"] += n
                store.set_watermark(epoch, seq)
                return
            # The rows as they are folded (every node kind, then every relationship type), bulk-loaded
            # ``chunk`` at a time: a load may take the end of one kind and the start of the next.
            pending: dict[str, dict[str, list[dict[str, Any]]]] = {"node": {}, "rel": {}}
            held = 0
            for section, kind, rows in spill.elements():
                for row in rows:
                    pending[section].setdefault(kind, []).append(row)
                    counts["nodes" if section == "node" else "relationships"] += 1
                    held += 1
                    if held >= chunk:
                        store.bulk_load(pending["node"], pending["rel"], progress)
                        pending, held = {"node": {}, "rel": {}}, 0
            if held:
                store.bulk_load(pending["node"], pending["rel"], progress)
        store.set_watermark(epoch, seq)

    with cycle_collection_paused():
        aside = rebuild_into(settings, fill)
    set_graph_epoch(engine, epoch, seq)
    merges_built(engine, top, townships)
    if not keep_old:
        discard(aside)
        aside = None
    return RebuildReport(
        counts.get("nodes", 0),
        counts.get("relationships", 0),
        time.perf_counter() - started,
        epoch,
        str(aside) if aside else None,
    )


def behind(engine: Engine, graph: GraphStore) -> str | None:
    """Why the graph no longer holds everything the record says it committed, or None."""
    epoch, seq = graph_mark(engine)
    held = graph.watermark()
    if held is None:
        return (
            f"the graph has no projection watermark but the record has {seq} batch(es) in it" if seq else None
        )
    if held[0] != epoch:
        return f"the graph is generation {held[0][:8]}, the record names {epoch[:8]}"
    if held[1] < seq:
        return f"the graph holds {held[1]} of the record's {seq} committed batches (a lost write-ahead log)"
    return None


def open_healed(settings: Settings, engine: Engine, *, init: bool = True) -> GraphStore:
    """Open the graph; when it cannot be opened, or has lost committed writes, set it aside with a
    loud log line and the reason, and rebuild it from the record first."""
    reason = probe(settings)
    if reason is None:
        try:
            store = open_graph(settings, init=init)
        except GraphStoreError as exc:
            holder = lock_holder(str(exc))
            if holder is not None and not settings.neo4j_uri:  # in use by another process, not broken
                raise GraphInUse(str(exc), holder) from exc
            if settings.neo4j_uri:
                raise
            reason = str(exc)
        else:
            lag = behind(engine, store)
            if lag is None:
                return store
            store.close()
            reason = lag
    if settings.neo4j_uri:
        log.error("the Neo4j graph is behind the record (%s); rebuilding it from the record", reason)
        rebuild(settings, engine)
        return open_graph(settings, init=init)
    aside = move_aside(settings.graph_path, "unopenable")
    log.error(
        "THE GRAPH AT %s CANNOT BE USED: %s. It was moved to %s and is being rebuilt from the relational "
        "store (the system of record).",
        settings.graph_path,
        reason,
        aside,
    )
    report = rebuild(settings, engine, keep_old=True)
    log.error(
        "graph rebuilt from the record: %d nodes, %d relationships in %.1f s",
        report.nodes,
        report.relationships,
        report.seconds,
    )
    return open_graph(settings, init=init)
