"""The sync runner: land → validate → quarantine → standardise → resolve → graph → report.

One run, for each selected source:

1. **Land.** Read the source after its cursor and store every raw record in
   ``landing_record`` (committed in chunks), then move the cursor. Nothing read is lost:
   it is in the landing table before the cursor moves past it. In a first load the later sources
   land in a worker process while the first is processed (:mod:`connectors.land_ahead`).
2. **Process** the source's ``pending`` rows in landing order, in batches of
   ``batch_size`` (20,000) records: validate and standardise each (the source
   connector's ``interpret``), quarantine what fails with its reason, resolve the people
   the batch names to stable person keys, and upsert the batch's nodes and relationships
   into the graph with provenance, in graph transactions of at most ``graph_tx_records``
   (5,000) records (LadybugDB's pool holds a transaction's pages until it ends), each with
   the batch's watermark. Only after the last graph commit are the batch's rows marked
   ``loaded``/``quarantined``, in one SQL transaction with the run's counters.

Why this survives ``kill -9`` anywhere: a killed landing re-reads from the old cursor and
finds what it already landed by content hash; a killed batch (before, between or after its
graph transactions) is processed again from the same pending rows, in the same batches (the
batch is the next N pending rows in landing order, households kept whole), and its graph
upsert is idempotent, so the graph converges to what an uninterrupted run produces.
Processing order across sources is fixed (the household register first: it is the identity
system of record).

Every run writes one ``sync_run`` row per source whose counters satisfy
``received + resumed = loaded + quarantined + unchanged + duplicates``.

The relational store is the system of record and the graph its projection:

- Each graph transaction of a run also writes the projection watermark
  (``GraphStore.set_watermark``), and the relational transaction after it moves
  ``graph_projection`` to the same mark: a row counts as projected only once the graph
  transaction holding it has committed, and a graph found *behind* the record (a lost or
  unreplayable write-ahead log) is rebuilt from it (:func:`connectors.rebuild.project_record`).
  The graph is not checkpointed after every batch: a LadybugDB checkpoint rewrites every table
  it touched whole (2.3 s for one Person updated at 60,000 persons), so that made a county's
  sync quadratic. The
  store checkpoints once its log passes ``graph_checkpoint_mb`` and the run once at its end; the
  batches committed in between are in the log, and the next open replays it (the graph then holds
  at least what the record says it committed: the batch in flight is done again) or, if it cannot,
  sets the graph aside and rebuilds it from the record.
- A first load (more pending records than loaded ones, at least ``first_load_records``) writes no
  graph batch by batch: the batches move the record and its watermark as always, the graph stays
  behind, and at the end the composition root's builder (``graph rebuild``'s) builds it from the
  record and swaps it in (:meth:`Pipeline._defer_graph`). A kill before the build leaves the graph
  behind the record, which the next open rebuilds.
- Derived state is not computed here: the people a batch wrote go into ``derived_queue`` in
  the transaction that marks the batch loaded, and protection drains it.
- People the resolver merged automatically (``reproject_queue``, written with the merge) are
  re-projected before the next batch's graph transaction, exactly as a caseworker's merge is, in
  graph transactions of their own: their queue entries and watermark go in a relational
  transaction after the batch's graph commit (a kill before it leaves them queued, and the next
  run re-projects them again: a re-projection is idempotent).

This module is the runner only; what it uses and others read too lives beside it, so that each
can be read (and changed) without the runner's steps around it: :mod:`connectors.reports` (the
run's report and progress hooks), :mod:`connectors.projection` (each row's projection and the
watermark), :mod:`connectors.reference` (the reference tables and their snapshot),
:mod:`connectors.graph_tx` (how writes are cut into graph transactions) and
:mod:`connectors.rebuild` (the graph as the record says it should be, which uses the runner).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, bindparam, func, select, update

from connectors.bulk import insert_rows
from connectors.graph_tx import REPROJECT_CHUNK, Reprojected, record_parts
from connectors.land_ahead import LandAhead, Landed, land_source
from connectors.landing import LANDED_COLUMNS as LANDING_COLUMNS
from connectors.landing import (
    LandedRow,
    fetch_group,
    fetch_latest,
    pending_batch,
    quarantined_of_groups,
)
from connectors.landing import landed_row as landing_row
from connectors.mentions import PersonMention
from connectors.projection import (
    GRAPH,
    encode_records,
    graph_mark,
    merged_people,
    merges_built,
    merges_queued,
    person_ref,
    resolve_refs,
    stale_people,
    townships_of,
    write_projections,
)
from connectors.reference import (
    REFERENCE_CURSOR,
    REFERENCE_FILES,
    last_reference,
    reference_records,
    reference_state,
    reference_time,
)
from connectors.reports import STORED_COUNTERS, NoProgress, Progress, RunReport, SourceReport, SyncStopped
from connectors.sources import SOURCE_NAMES, ConnectorsConfig, make_source, source_for_replay
from connectors.sources.base import Interpreted, Source
from connectors.standardise import Reference, Rejected
from connectors.tables import (
    DerivedQueue,
    GraphProjection,
    LandingRecord,
    ReferenceSnapshot,
    SyncRun,
    UnresolvedNeed,
)
from graph.crash import crash_point
from graph.model import division_level, label_of
from graph.port import GraphStore
from graph.records import Assertion, NodeRecord, RelRecord, UpsertResult
from kernel.collector import cycle_collection_paused
from kernel.db import session, writing
from kernel.db.tables import SyncCursor, utcnow
from kernel.messages import say
from kernel.settings import get_settings
from kernel.worker_process import why_not_started

if TYPE_CHECKING:
    from connectors.spill_ahead import SpillAhead

__all__ = ["GraphBuilder", "Pipeline", "Resolver", "default_resolver"]

Resolver = Callable[[Engine, Sequence[PersonMention]], dict[tuple[str, str], str]]
GraphBuilder = Callable[..., dict[str, Any]]
"""Builds the graph from the record and puts it in place of the store's (the composition root passes
``graph rebuild``'s operation); returns its counts (``nodes``, ``relationships``, ``seconds``). Given
``spill=``, a :class:`graph.fold.Spill` that already holds some sources (connectors.spill_ahead), it
goes on from there."""
L = LandingRecord.__table__  # type: ignore[attr-defined]
R = SyncRun.__table__  # type: ignore[attr-defined]
GP = GraphProjection.__table__  # type: ignore[attr-defined]
DQ = DerivedQueue.__table__  # type: ignore[attr-defined]
RS = ReferenceSnapshot.__table__  # type: ignore[attr-defined]
UN = UnresolvedNeed.__table__  # type: ignore[attr-defined]
log = logging.getLogger("shouhu.sync")


# ---- entity resolution -------------------------------------------------------------------------


def default_resolver() -> tuple[Resolver, str]:
    """Entity resolution as :mod:`connectors.resolution` does it (Splink on DuckDB)."""
    from connectors.resolution import resolve

    return resolve, "connectors.resolution"


# ---- the runner -------------------------------------------------------------------------------


class Pipeline:
    """Runs syncs and replays against one relational store and one graph store."""

    def __init__(
        self,
        engine: Engine,
        graph: GraphStore,
        config: ConnectorsConfig,
        *,
        resolver: Resolver | None = None,
        resolver_name: str | None = None,
        batch_size: int = 20_000,
        land_chunk: int | None = None,
        graph_tx_records: int | None = None,
        progress: Progress | None = None,
        graph_builder: GraphBuilder | None = None,
        first_load_records: int | None = None,
    ) -> None:
        self.engine = engine
        self.graph = graph
        self.config = config
        if resolver is None:
            resolver, resolver_name = default_resolver()
        self.resolver = resolver
        self.resolver_name: str = resolver_name or str(getattr(resolver, "__qualname__", "resolver"))
        self.batch_size = batch_size
        self.land_chunk = land_chunk or get_settings().sync_land_chunk_records
        self.graph_tx_records = graph_tx_records or get_settings().sync_graph_tx_records
        self.progress: Progress = progress or NoProgress()
        # A first load builds the graph at its end instead of batch by batch (`_defer_graph`); only
        # with a builder, which the CLI and the service pass.
        self.graph_builder = graph_builder
        self.first_load_records = (
            get_settings().sync_first_load_records if first_load_records is None else first_load_records
        )
        self._deferred = False
        self._spill_ahead: SpillAhead | None = None
        self._waiting: list[tuple[int, str]] = []
        # What each row _project interpreted projects (landing_projection), until a commit takes it.
        self._projected: dict[int, str] = {}
        if config.reference is None:
            # A replay or a run configured without one: the reference tables of the last
            # sync, so records are checked against the same division codes as before.
            config.reference = last_reference(engine)
        self.ref = Reference.load(config.reference)

    # -- public -------------------------------------------------------------------------------

    def sync(self, names: Sequence[str] | None = None) -> RunReport:
        """Land and process the named sources (default: every configured one)."""
        selected = self._select(names)
        report = RunReport(uuid.uuid4().hex, "sync", self.resolver_name, utcnow())
        self._mark_interrupted()
        report.reference = self._load_reference()
        sources: dict[str, Source] = {}
        for name in selected:
            sc = self.config.sources[name]
            rep = SourceReport(name, where=sc.where())
            report.sources.append(rep)
            self._start_run(report.run_id, rep)
            sources[name] = make_source(sc)
        first, rest = report.sources[:1], report.sources[1:]
        for rep in first:
            self._land(report.run_id, sources[rep.source], rep)
        self._deferred = self._defer_graph(selected)
        ahead = self._land_ahead(report.run_id, [rep.source for rep in rest])
        if ahead is None:
            for rep in rest:
                self._land(report.run_id, sources[rep.source], rep)
            self._deferred = self._defer_graph(selected)
        self._spill_ahead = self._start_spill_ahead()
        try:
            for rep in report.sources:
                if ahead is not None and rep in rest:
                    self._take_landed(ahead, report.run_id, sources[rep.source], rep)
                self._process(report.run_id, sources[rep.source], rep)
                if self._spill_ahead is not None:
                    self._spill_ahead.processed(rep.source)
        except SyncStopped:
            self._close_spill_ahead()
            if ahead is not None:
                ahead.stop()
            # The sources not reached are said as interrupted now, not left running until the next
            # start finds them so.
            with writing(self.engine) as conn:
                for rep in report.sources:
                    if rep.status == "running":
                        rep.status, rep.error = "interrupted", say("sync.stopped_on_request")
                        self._save_run(conn, report.run_id, rep, final=True)
            raise  # told to stop: a build would hold the stop for minutes; the next open builds
        except Exception:
            self._close_spill_ahead()  # the build after a failure writes its spill itself
            if ahead is not None:
                ahead.stop()  # before the build: nothing lands behind it
            if self._deferred:  # what the batches committed is in the record: the graph catches up now
                self._build_after_failure()
            raise
        finally:
            if ahead is not None:
                ahead.stop()
            deferred, self._deferred = self._deferred, False
        try:
            self.graph.checkpoint()  # the run's log folded in: whoever opens the graph next replays none
            if deferred:
                report.graph_build = self._build_graph()
        finally:
            self._close_spill_ahead()
        report.finished_at = utcnow()
        return report

    def _start_spill_ahead(self) -> SpillAhead | None:
        """In a first load (``_deferred``), the build's spill begun in a worker as sources are
        processed (connectors.spill_ahead), when the settings allow and another process can open
        the store."""
        if not self._deferred or not get_settings().sync_spill_ahead or not self._shareable():
            return None
        from connectors.spill_ahead import SpillAhead  # it reads the record as connectors.rebuild does

        try:
            return SpillAhead(self.engine, get_settings().graph_fold_chunk, 20_000)
        except (
            OSError,
            RuntimeError,
        ) as exc:  # no process or thread to be had (EAGAIN, ENOMEM): the build writes its spill itself
            log.warning(
                "the graph build's worker could not be started (%s); the build writes its spill itself",
                why_not_started(exc),
            )
            return None

    def _close_spill_ahead(self) -> None:
        if self._spill_ahead is not None:
            self._spill_ahead.close()
            self._spill_ahead = None

    def _land_ahead(self, run_id: str, names: list[str]) -> LandAhead | None:
        """A worker landing ``names`` while the first source is processed (connectors.land_ahead):
        when the first source alone made the run a first load (``_deferred``, which more landing
        only confirms), the settings allow it, and another process can open the store."""
        if not names or not self._deferred or not get_settings().sync_land_ahead or not self._shareable():
            return None
        try:
            return LandAhead(self.engine, [self.config.sources[n] for n in names], run_id, self.land_chunk)
        except (
            OSError,
            RuntimeError,
        ) as exc:  # no process or thread to be had (EAGAIN, ENOMEM): this process lands them in turn
            log.warning(
                "the landing worker could not be started (%s); this process lands the sources",
                why_not_started(exc),
            )
            return None

    def _shareable(self) -> bool:
        """Whether another process can open this relational store (not an in-memory SQLite)."""
        url = self.engine.url
        database = url.database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in database
        return not (url.get_backend_name() == "sqlite" and in_memory)

    # -- a first load: the graph built once, at the end ---------------------------------------------

    def _defer_graph(self, names: Sequence[str]) -> bool:
        """Whether this run leaves the graph to be built from the record at its end: a builder was
        given, and more records are pending than the record holds loaded, at least
        ``first_load_records`` (a county's first load, or most of it again).

        Why: written batch by batch, the graph's pages pile up in the pool until a reopen, and each
        reopen checkpoints first, rewriting every table it touched whole, so a first load's graph
        writes grow with the square of the county (33% of a 200,000-person first load went to those
        checkpoints, 53% to graph writes). Built at the end, each element is folded once from all its
        records and written once by COPY into a new file. Meanwhile the graph serves what it held
        before (nothing, on a first load); the record moves batch by batch as always, so a kill
        leaves the graph behind the record and the next open rebuilds it (``protection.record``)."""
        if self.graph_builder is None or self.first_load_records <= 0:
            return False
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(func.count())
                .select_from(L)
                .where(and_(L.c.source.in_(names), L.c.status == "pending"))
            ).scalar_one()
            if pending < self.first_load_records:
                return False
            loaded = conn.execute(
                select(func.count()).select_from(L).where(L.c.status == "loaded")
            ).scalar_one()
        return bool(pending > loaded)

    def _build_graph(self) -> dict[str, Any]:
        """The graph built from the record and swapped in; the merge queue's entries it covers go.

        The build projects every loaded record under the person links as they are when it reads them,
        so the people automatic merges queued for re-projection (`reproject_queue`) up to now are in
        it as re-projected: their entries are deleted after it, with their people queued for their
        derived state as a re-projection queues them (a person a merge absorbed may have been loaded
        by an earlier run, which no batch of this one queued); those queued later stay. (The
        builder, ``graph rebuild``'s, settles them itself; this settles what another builder left.)"""
        from connectors.resolution import release_population

        top = merges_queued(self.engine)
        release_population()  # the build's fold and COPY need the memory more than the next batch
        if self.graph_builder is None:  # _defer_graph defers only with a builder
            raise RuntimeError("a deferred graph needs a builder")
        spill, ahead = None, None
        if self._spill_ahead is not None:
            spill = self._spill_ahead.finish()  # the build closes the spill
            ahead, self._spill_ahead = self._spill_ahead.summary, None
        built = self.graph_builder(spill=spill) if spill is not None else self.graph_builder()
        crash_point("first_load.built")
        merges_built(self.engine, top, townships_of(self.graph, merged_people(self.engine, top)))
        return {
            "deferred": True,
            "nodes": int(built.get("nodes", 0)),
            "relationships": int(built.get("relationships", 0)),
            "seconds": float(built.get("seconds", 0.0)),
            # What the worker wrote while the sync went on (connectors.spill_ahead), or None.
            "written_ahead": ahead,
        }

    def _build_after_failure(self) -> None:
        """A deferred run stopped by an error: build what the record holds now, so the graph the API
        and the derived-state drain read is not left empty; if that fails too, the next open does."""
        try:
            self._build_graph()
        except Exception:
            log.exception("building the graph after a failed first load failed; the next open rebuilds it")

    def replay(
        self,
        source: str | None = None,
        reason: str | None = None,
        record_ids: Iterable[str] | None = None,
    ) -> RunReport:
        """Re-validate quarantined records from their stored payload and load what now passes.

        Filters: a source, a reason code (``date.invalid``; a prefix ending in ``.`` such
        as ``id_number.`` matches a family), record ids. What still fails stays
        quarantined, with the reason as it is now.
        """
        report = RunReport(uuid.uuid4().hex, "replay", self.resolver_name, utcnow())
        self._mark_interrupted()
        report.reference = self._load_reference()
        names = [source] if source else list(SOURCE_NAMES)
        conds = [L.c.status == "quarantined", L.c.source.in_(names)]
        if reason:
            conds.append(
                L.c.reason_code.like(f"{reason}%") if reason.endswith(".") else L.c.reason_code == reason
            )
        ids = sorted(set(record_ids or ()))
        if ids:
            conds.append(L.c.record_id.in_(ids))
        with writing(self.engine) as conn:
            touched = {r for (r,) in conn.execute(select(L.c.source).where(and_(*conds)).distinct())}
            # A replay killed after taking its records out of quarantine left them pending: in no
            # quarantine list, loaded by no replay (it took only quarantined ones), until the next
            # sync of their source. Their sources are processed again here (counted as resumed).
            left = select(L.c.source).where(L.c.status == "pending", L.c.source.in_(names)).distinct()
            touched |= {r for (r,) in conn.execute(left)}
            conn.execute(update(L).where(and_(*conds)).values(status="pending"))
        for name in SOURCE_NAMES:
            if name not in touched:
                continue
            sc = self.config.sources.get(name)
            rep = SourceReport(name, kind="replay", where=sc.where() if sc else "")
            report.sources.append(rep)
            self._start_run(report.run_id, rep)
            src = make_source(sc) if sc is not None and sc.configured else source_for_replay(name)
            self._process(report.run_id, src, rep)
        self.graph.checkpoint()
        report.finished_at = utcnow()
        return report

    def reproject(self, person_keys: Iterable[str]) -> RunReport:
        """Assert the source records of these people again after entity resolution changed who
        they are (a caseworker's merge, or its undoing).

        What those records said is first retracted from the people's nodes and relationships,
        then the records are projected again under the keys they are linked to now, in one
        graph transaction: the graph ends as a sync under the new links would have left it,
        and nothing another source asserted is touched. The people are queued for their
        derived state with the watermark, after the graph commit.
        """
        report = RunReport(uuid.uuid4().hex, "reproject", self.resolver_name, utcnow())
        mark = self._next_mark()
        with self.graph.transaction():
            stale = self._reproject_in_tx(person_keys, report)
            self.graph.set_watermark(*mark)
        self.graph.checkpoint()
        with writing(self.engine) as conn:
            write_projections(conn, self._take_projected())
            self._commit_derived(conn, mark, stale)
        report.finished_at = utcnow()
        return report

    def _take_projected(self) -> dict[int, str]:
        out, self._projected = self._projected, {}
        return out

    def _reproject_in_tx(
        self, person_keys: Iterable[str], report: RunReport | None = None
    ) -> dict[str, str | None]:
        """Retract and re-assert the records of these people inside the caller's graph transaction;
        the people whose derived state that changes (an absorbed person is no longer a child)."""
        from connectors.resolution.tables import PersonLink

        link = PersonLink.__table__  # type: ignore[attr-defined]
        keys = sorted(set(person_keys))
        people = [f"person:{k}" for k in keys]
        records: dict[str, set[str]] = {}
        retracted: set[tuple[str, str]] = set()

        def add(system: str, record_id: str) -> None:
            base = record_id.split("#", 1)[0]  # a parent named inside a pupil's record
            records.setdefault(system, set()).add(base)
            retracted.update({(system, record_id), (system, base)})

        with self.engine.connect() as conn:
            for system, record_id in conn.execute(
                select(link.c.system, link.c.record_id).where(link.c.person_key.in_(keys))
            ):
                add(system, record_id)
        # Relationships other people's records assert about these people (a child's register row
        # naming its mother) move with them too: those records are asserted again as well.
        # One read for the set (a bounded number of statements, not a traversal per person).
        for sub in self.graph.neighbourhoods(people, 1).values():
            for rel in sub.rels.values():
                for claim in rel.sources:
                    if claim["system"] in SOURCE_NAMES:
                        add(claim["system"], claim["record_id"])
        stale: dict[str, str | None] = dict.fromkeys(people)
        with self.graph.transaction():
            self.graph.retract(people, retracted, keep_nodes=True)
            crash_point("reproject.retracted")
            for name in SOURCE_NAMES:
                if name not in records:
                    continue
                rows = sorted(fetch_latest(self.engine, name, records[name]).values(), key=lambda r: r.seq)
                sc = self.config.sources.get(name)
                src = make_source(sc) if sc is not None and sc.configured else source_for_replay(name)
                rep = SourceReport(name, kind="reproject", received=len(rows))
                if report is not None:
                    report.sources.append(rep)
                _, nodes, rels = self._project(src, rows, rep)
                stale.update(stale_people(nodes, rels))
                self._upsert(nodes, rels, rep)
                rep.loaded = len(rows)
            self.graph.prune(people)  # the absorbed person: no record describes it any more
        return stale

    # -- steps --------------------------------------------------------------------------------

    def _select(self, names: Sequence[str] | None) -> list[str]:
        if names:
            unknown = [n for n in names if n not in SOURCE_NAMES]
            if unknown:
                raise ValueError(
                    say("config.unknown_source", source=repr(unknown[0]), known="、".join(SOURCE_NAMES))
                )
            missing = [n for n in names if not self.config.sources[n].configured]
            if missing:
                raise ValueError(f"source {missing[0]!r} has no path or url configured")
        wanted = names or [
            n for n in SOURCE_NAMES if self.config.sources.get(n) and self.config.sources[n].configured
        ]
        return [n for n in SOURCE_NAMES if n in wanted]

    def _mark_interrupted(self) -> int:
        """Runs left ``running`` were killed; say so (their landed records are resumed now)."""
        with writing(self.engine) as conn:
            res = conn.execute(
                update(R).where(R.c.status == "running").values(status="interrupted", finished_at=utcnow())
            )
            return res.rowcount or 0

    def _start_run(self, run_id: str, rep: SourceReport) -> None:
        with writing(self.engine) as conn:
            rep.resumed = conn.execute(
                select(func.count())
                .select_from(L)
                .where(and_(L.c.source == rep.source, L.c.status == "pending"))
            ).scalar_one()
            conn.execute(
                R.insert().values(
                    run_id=run_id,
                    source=rep.source,
                    kind=rep.kind,
                    status="running",
                    started_at=utcnow(),
                    resumed=rep.resumed,
                    report={},
                )
            )

    def _save_run(self, conn: Any, run_id: str, rep: SourceReport, *, final: bool = False) -> None:
        values: dict[str, Any] = {k: getattr(rep, k) for k in STORED_COUNTERS}
        values["report"] = rep.as_json()
        values["error"] = rep.error
        if final:
            values["status"] = rep.status
            values["finished_at"] = utcnow()
        conn.execute(update(R).where(and_(R.c.run_id == run_id, R.c.source == rep.source)).values(**values))

    def _load_reference(self) -> dict[str, Any]:
        """Division and School nodes from the reference tables, when they changed."""
        ref = self.ref
        if not ref.loaded:
            return {"loaded": False}
        summary = {
            "loaded": True,
            "divisions": len(ref.divisions),
            "schools": len(ref.schools),
            "changed": False,
        }
        with session(self.engine) as s:
            cur = s.get(SyncCursor, REFERENCE_CURSOR)
            if (
                cur is not None
                and reference_state(cur.cursor).get("sha256") == ref.content_hash
                and s.execute(select(RS.c.id).where(RS.c.sha256 == ref.content_hash).limit(1)).first()
            ):
                return summary  # unchanged and kept (a directory synced before snapshots takes one now)
        at = reference_time(self.config)
        nodes, rels = reference_records(ref, at)
        mark = self._next_mark()
        with self.graph.transaction():
            self.graph.upsert_nodes(nodes)
            self.graph.upsert_rels(rels)
            self.graph.set_watermark(*mark)
        self.graph.checkpoint()
        files = {}
        if self.config.reference is not None:
            for name in REFERENCE_FILES:
                path = self.config.reference / name
                if path.is_file():
                    files[name] = base64.b64encode(path.read_bytes()).decode("ascii")
        with session(self.engine) as s:
            cur = s.get(SyncCursor, REFERENCE_CURSOR) or SyncCursor(source=REFERENCE_CURSOR, cursor="")
            where = str(self.config.reference.resolve()) if self.config.reference else None
            cur.cursor = json.dumps({"sha256": ref.content_hash, "path": where})
            cur.updated_at = utcnow()
            s.add(cur)
            # The files as received, so the graph's divisions and schools come from the record.
            s.execute(
                RS.insert().values(sha256=ref.content_hash, asserted_at=at, files=files, loaded_at=utcnow())
            )
            self._commit_derived(s, mark, {})
        summary["changed"] = True
        return summary

    def _landed_chunk(self, n: int) -> None:
        crash_point("land.chunk")
        self.progress.advance(n)

    def _land(self, run_id: str, src: Source, rep: SourceReport) -> None:
        self.progress.phase(src.name, "land", None)
        self._landed(
            run_id,
            rep,
            land_source(
                self.engine, src, run_id, rep.where, chunk=self.land_chunk, on_chunk=self._landed_chunk
            ),
        )

    def _landed(self, run_id: str, rep: SourceReport, landed: Landed) -> None:
        """The source's landing in its report: what was read before a failure was landed and is
        processed with the rest (it was received); carried records were counted in ``resumed`` at the
        start and were read again now."""
        if landed.error is not None:
            rep.error, rep.status = landed.error, "failed"
        rep.files = landed.files
        rep.received, rep.landed, rep.carried = landed.received, landed.landed, landed.carried
        rep.unchanged, rep.duplicates = landed.unchanged, landed.duplicates
        rep.resumed -= landed.carried
        rep.land_seconds = landed.seconds
        with writing(self.engine) as conn:
            self._save_run(conn, run_id, rep)

    def _take_landed(self, ahead: LandAhead, run_id: str, src: Source, rep: SourceReport) -> None:
        """The worker's landing of ``src``; landed here if the worker stopped before it. Then the
        rows it landed for the source in this run are pending like a killed run's: counted as
        resumed, so that what this landing finds of them (carried) adds up."""
        self.progress.phase(src.name, "land", None)
        landed = ahead.take(
            src.name, on_chunk=self._landed_ahead_chunk, tick=lambda: self.progress.advance(0)
        )
        if landed is not None:
            self._landed(run_id, rep, landed)
            return
        with self.engine.connect() as conn:
            rep.resumed = conn.execute(
                select(func.count())
                .select_from(L)
                .where(and_(L.c.source == src.name, L.c.status == "pending"))
            ).scalar_one()
        self._land(run_id, src, rep)

    def _landed_ahead_chunk(self, n: int) -> None:
        crash_point("land_ahead.chunk")
        self.progress.advance(n)

    def _process(self, run_id: str, src: Source, rep: SourceReport) -> None:
        started = time.perf_counter()
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.count())
                .select_from(L)
                .where(and_(L.c.source == src.name, L.c.status == "pending"))
            ).scalar_one()
        self.progress.phase(src.name, "process", total)
        try:
            while True:
                rows = pending_batch(self.engine, src.name, self.batch_size, whole_groups=src.whole_groups)
                if not rows:
                    break
                self._batch(run_id, src, rows, rep)
                self.progress.advance(len(rows))
            self._retry_waiting(src, rep)
        except BaseException as exc:
            if isinstance(exc, SyncStopped):  # told to stop (the service shutting down): no failure
                rep.status, rep.error = "interrupted", say("sync.stopped_on_request")
            else:
                rep.status = "failed"
                # The kind only: an exception's text may quote the records it was handling.
                rep.error = say("sync.process_failed", kind=type(exc).__name__)
            rep.process_seconds += time.perf_counter() - started
            with writing(self.engine) as conn:
                self._save_run(conn, run_id, rep, final=True)
            raise
        rep.process_seconds += time.perf_counter() - started
        if rep.status == "running":
            rep.status = "completed"
        with writing(self.engine) as conn:
            self._save_run(conn, run_id, rep, final=True)

    # -- one batch ----------------------------------------------------------------------------

    def _batch(self, run_id: str, src: Source, rows: list[LandedRow], rep: SourceReport) -> None:
        # A batch holds its rows, mentions, resolution frames and graph records alive together:
        # the cycle collector only walked them again and again (kernel/collector.py).
        with cycle_collection_paused():
            self._batch_collected(run_id, src, rows, rep)

    def _batch_collected(self, run_id: str, src: Source, rows: list[LandedRow], rep: SourceReport) -> None:
        from connectors.resolution.tables import ReprojectQueue

        outcome, nodes, rels = self._project(src, rows, rep)
        projected = self._take_projected()
        waiting = list(self._waiting)
        crash_point("batch.resolved")
        rq = ReprojectQueue.__table__  # type: ignore[attr-defined]
        queued: Sequence[Any] = []  # deferred: the build at the end projects them as the links say then
        if not self._deferred:
            with self.engine.connect() as conn:
                queued = conn.execute(select(rq.c.id, rq.c.person_key).order_by(rq.c.id)).all()
        # Automatic merges: first the people as the links say now, then the batch. A few people per
        # graph transaction (LadybugDB holds pool pages per statement until its transaction ends),
        # with no checkpoint of their own. A checkpoint that touched a node table rewrites it whole,
        # whatever it changed (measured at 60,000 persons: 2.3 s for one Person updated, 2.7 s for
        # 1,000), so one after every few people cost 2-4 s each, ten times a county; their queue
        # entries go after the batch's graph commit.
        reprojected = [
            self._reproject_queued(queued[i : i + REPROJECT_CHUNK])
            for i in range(0, len(queued), REPROJECT_CHUNK)
        ]
        mark = self._next_mark()
        stale = stale_people(nodes, rels)
        if not self._deferred:
            self._upsert_in_parts(nodes, rels, rep, mark)
        crash_point("batch.graph_committed")
        self._commit_reprojected(reprojected)
        for status, code, _ in outcome.values():
            if status == "loaded":
                rep.loaded += 1
            else:
                rep.quarantined += 1
                rep.by_reason[code or "unknown"] += 1
        rep.batches += 1
        self._commit_outcome(run_id, src.name, rows, outcome, rep, mark, stale, projected, waiting)
        crash_point("batch.committed")

    def _reproject_queued(self, queued: Sequence[Any]) -> Reprojected:
        """Re-project some people of the merge queue in one graph transaction: what the relational
        side is to record of it after the batch's graph commit (`_commit_reprojected`)."""
        mark = self._next_mark()
        with self.graph.transaction():
            stale = self._reproject_in_tx([k for _, k in queued])
            self.graph.set_watermark(*mark)
        crash_point("reproject.committed")
        return Reprojected([i for i, _ in queued], mark, stale, self._take_projected())

    def _commit_reprojected(self, done: Sequence[Reprojected]) -> None:
        """After the batch's graph commit (theirs came before it): the re-projected people's queue
        entries go, in one relational transaction that moves the watermark to the last of their
        marks, with their rows' projections and their derived state queued. A kill before redoes
        them (a re-projection retracts and asserts again, so it is idempotent)."""
        from connectors.resolution.tables import ReprojectQueue

        if not done:
            return
        rq = ReprojectQueue.__table__  # type: ignore[attr-defined]
        projected: dict[int, str] = {}
        stale: dict[str, str | None] = {}
        for d in done:
            projected.update(d.projected)
            for person, township in d.stale.items():
                if township is not None or person not in stale:
                    stale[person] = township
        ids = [i for d in done for i in d.queue_ids]
        with writing(self.engine) as conn:
            for i in range(0, len(ids), 900):
                conn.execute(rq.delete().where(rq.c.id.in_(ids[i : i + 900])))
            write_projections(conn, projected)
            self._commit_derived(conn, max(d.mark for d in done), stale)

    def _retry_waiting(self, src: Source, rep: SourceReport) -> None:
        """Project again the loaded rows whose optional references have been loaded since.

        A register row can name a parent whose own household comes later in the file; the row is
        loaded without that relationship and waits in ``unresolved_need``. Once the parent is
        loaded the row is asserted again (idempotent for everything else it says), so the graph
        ends as if every record had been there from the start, as ``project_record`` sees them.
        """
        with self.engine.connect() as conn:
            entries = conn.execute(
                select(UN.c.id, UN.c.seq, UN.c.record_id).where(UN.c.source == src.name)
            ).all()
        if not entries:
            return
        ready_targets = set(fetch_latest(self.engine, src.name, {e.record_id for e in entries}))
        seqs = sorted({e.seq for e in entries if e.record_id in ready_targets})
        if not seqs:
            return
        with self.engine.connect() as conn:
            rows = [
                landing_row(r)
                for i in range(0, len(seqs), 900)
                for r in conn.execute(
                    select(*LANDING_COLUMNS)
                    .where(and_(L.c.seq.in_(seqs[i : i + 900]), L.c.status == "loaded"))
                    .order_by(L.c.seq)
                )
            ]
        _, nodes, rels = self._project(src, rows, SourceReport(src.name, kind="references"))
        projected = self._take_projected()
        waiting = list(self._waiting)
        mark = self._next_mark()
        if not self._deferred:
            with self.graph.transaction():
                self._upsert(nodes, rels, rep)
                self.graph.set_watermark(*mark)
        now = utcnow()
        with writing(self.engine) as conn:
            for i in range(0, len(seqs), 900):
                conn.execute(
                    UN.delete().where(and_(UN.c.source == src.name, UN.c.seq.in_(seqs[i : i + 900])))
                )
            if waiting:
                conn.execute(
                    UN.insert(),
                    [{"source": src.name, "seq": q, "record_id": r, "created_at": now} for q, r in waiting],
                )
            write_projections(conn, projected)
            self._commit_derived(conn, mark, stale_people(nodes, rels))

    def _upsert_in_parts(
        self, nodes: list[NodeRecord], rels: list[RelRecord], rep: SourceReport, mark: tuple[str, int]
    ) -> None:
        """The batch's upsert in graph transactions of at most ``graph_tx_records`` records, each
        writing the batch's watermark. LadybugDB keeps the pool pages of every statement of a
        transaction pinned until it ends, so one transaction for the whole batch needed a pool that
        grows with the batch (a 20,000-record batch filled 1 GB at 200,000 persons); between parts
        the store reopens when its pool is 40% used (``LadybugStore._begin``).

        A kill between parts leaves the graph *ahead* of the record (the record's watermark moves
        only in the relational commit after the last part): the batch is redone from the same
        pending rows and every part's upsert is idempotent, so the graph ends as an uninterrupted
        run leaves it. Each element's records stay in one part (nodes before relationships), so
        each element is folded once, as in one transaction, and the counts are the same."""
        parts = record_parts(nodes, rels, self.graph_tx_records)
        for i, (part_nodes, part_rels) in enumerate(parts):
            if i:
                crash_point("batch.graph_part")  # between two parts of a batch's graph write
            with self.graph.transaction():
                self._upsert(part_nodes, part_rels, rep)
                self.graph.set_watermark(*mark)

    def _upsert(self, nodes: list[NodeRecord], rels: list[RelRecord], rep: SourceReport) -> None:
        result_n, result_r = UpsertResult(), UpsertResult()
        if nodes or rels:
            with self.graph.transaction():
                result_n = self.graph.upsert_nodes(nodes)
                result_r = self.graph.upsert_rels(rels)
        for r in (result_n, result_r):
            rep.graph["created"] += r.created
            rep.graph["updated"] += r.updated
            rep.graph["unchanged"] += r.unchanged

    # -- the watermark and the derived-state queue ------------------------------------------------

    def _next_mark(self) -> tuple[str, int]:
        """The mark the next graph transaction writes: the record's epoch, one past both sides."""
        epoch, seq = graph_mark(self.engine)
        held = self.graph.watermark()
        if held is not None and held[0] == epoch:
            seq = max(seq, held[1])
        return epoch, seq + 1

    def _commit_derived(self, conn: Any, mark: tuple[str, int], stale: dict[str, str | None]) -> None:
        """In the caller's relational transaction: the watermark follows the graph commit, and the
        people it wrote are queued for their derived state."""
        conn.execute(update(GP).where(GP.c.name == GRAPH).values(seq=mark[1], updated_at=utcnow()))
        if stale:
            now = utcnow()
            queued = [{"person_id": p, "township": t, "enqueued_at": now} for p, t in sorted(stale.items())]
            insert_rows(conn, DQ, queued)

    def _project(
        self, src: Source, rows: list[LandedRow], rep: SourceReport
    ) -> tuple[dict[int, tuple[str, str | None, str | None]], list[NodeRecord], list[RelRecord]]:
        """Validate, standardise and resolve a batch: each row's outcome and the graph records.

        A household's inference sees every member row the register sent, quarantined ones too
        (as the batch that first loaded it did), so projecting a row again later (a merge, a
        rebuild) infers the same parents."""
        system = src.system
        if src.whole_groups:
            groups = {r.group_key for r in rows if r.group_key}
            # A row sent again replaces its earlier version, which is still loaded (or quarantined)
            # until this batch commits: the household is inferred from the new one alone (beside
            # both, a head or a mother counts twice and the inference gives up).
            sent = {r.record_id for r in rows}
            quarantined = [
                r
                for r in quarantined_of_groups(self.engine, src.name, rows)
                if r.seq not in {x.seq for x in rows} and r.record_id not in sent
            ]
            batch = sorted([*rows, *quarantined], key=lambda r: r.seq)
            context = batch + [
                r
                for r in fetch_group(self.engine, src.name, groups, {r.seq for r in batch})
                if r.record_id not in sent
            ]
            src.household_context(context, self.ref)
        outcome: dict[int, tuple[str, str | None, str | None]] = {}
        self._waiting = []  # (row seq, record id) of optional references not loaded yet
        accepted: list[tuple[LandedRow, Interpreted]] = []
        batch_mentions: dict[str, PersonMention] = {}
        for row in rows:
            try:
                it = src.interpret(row, self.ref)
            except Rejected as exc:
                outcome[row.seq] = ("quarantined", exc.code, exc.message)
                continue
            except Exception as exc:  # a connector bug must not stop the county's sync
                # Its kind only: the text can quote the record (a name, an ID number) into
                # listings that do not show the payload.
                reason = say("reject.internal_error", kind=type(exc).__name__)
                outcome[row.seq] = ("quarantined", "error.internal", reason)
                continue
            accepted.append((row, it))
            for m in it.mentions:
                batch_mentions[m.record_id] = m

        # People this batch points at in records of earlier batches.
        wanted = {n.record_id for _, it in accepted for n in it.needs if n.mention_id not in batch_mentions}
        in_batch = {r.record_id for r in rows}
        extra: dict[str, PersonMention] = {}
        for landed_row in fetch_latest(self.engine, src.name, wanted - in_batch).values():
            try:
                for m in src.interpret(landed_row, self.ref).mentions:
                    extra[m.record_id] = m
            except Rejected:
                continue

        mentions: list[PersonMention] = []
        aliases: dict[int, dict[str, str]] = {}
        loaded: list[tuple[LandedRow, Interpreted, list[PersonMention]]] = []
        for row, it in accepted:
            own = list(it.mentions)
            alias: dict[str, str] = {}
            failed: str | None = None
            waiting: list[str] = []
            for need in it.needs:
                if need.mention_id in batch_mentions or need.mention_id in extra:
                    continue
                if need.fallback is not None:
                    own.append(need.fallback)
                    alias[need.mention_id] = need.fallback.record_id
                elif not need.optional:
                    failed = say("reject.reference_not_loaded", rid=row.record_id, ref=need.record_id)
                    break
                else:
                    waiting.append(need.record_id)
            if failed:
                outcome[row.seq] = ("quarantined", "reference.unresolved", failed)
                continue
            aliases[row.seq] = alias
            self._waiting.extend((row.seq, w) for w in waiting)
            loaded.append((row, it, own))
            mentions.extend(own)
            for w in it.warnings:
                rep.warnings_by_code[w[0]] += 1
                rep.warnings += 1
        mentions.extend(extra.values())

        keys = self.resolver(self.engine, mentions) if mentions else {}
        missing = [m for m in mentions if m.key not in keys]
        if missing:  # the contract says every mention gets a key; never write a keyless person
            raise RuntimeError(f"the resolver left {len(missing)} mention(s) without a person key")

        # Each row's records name people by mention (person_ref), as landing_projection keeps
        # them; the graph gets them under the person each mention is linked to now.
        per_row: dict[int, tuple[list[NodeRecord], list[RelRecord]]] = {}
        nodes: list[NodeRecord] = []
        rels: list[RelRecord] = []
        for row, it, own in loaded:
            alias = aliases[row.seq]

            def key_of(mention_id: str, alias: dict[str, str] = alias) -> str | None:
                k = (system, alias.get(mention_id, mention_id))
                return person_ref(*k) if k in keys else None

            row_nodes = [
                NodeRecord(
                    person_ref(*m.key),
                    it.person_props.get(m.record_id, {}),
                    Assertion(system, m.record_id, row.asserted_at),
                )
                for m in own
            ]
            row_rels: list[RelRecord] = []
            if it.build is not None:
                em = it.build(key_of)
                row_nodes.extend(em.nodes)
                row_rels.extend(em.rels)
            per_row[row.seq] = (row_nodes, row_rels)
            real_nodes, real_rels = resolve_refs(row_nodes, row_rels, keys)
            nodes.extend(real_nodes)
            rels.extend(real_rels)
            outcome[row.seq] = ("loaded", None, None)
        endpoints = self._missing_endpoints(nodes, rels)
        if endpoints:  # kept with the row whose relationship needed it (its source record)
            seq_of = {row.record_id: row.seq for row, _, _ in loaded}
            last = loaded[-1][0].seq
            for n in endpoints:
                per_row[seq_of.get(n.source.record_id, last)][0].append(n)
        nodes.extend(endpoints)
        for seq, (row_nodes, row_rels) in per_row.items():
            self._projected[seq] = encode_records(row_nodes, row_rels)
        return outcome, nodes, rels

    def _missing_endpoints(self, nodes: list[NodeRecord], rels: list[RelRecord]) -> list[NodeRecord]:
        """Division and School nodes a relationship needs that the reference tables lacked."""
        have = {n.id for n in nodes}
        out: list[NodeRecord] = []
        for rel in rels:
            for end in (rel.dst,):
                if end in have:
                    continue
                label = label_of(end)
                code = end.split(":", 1)[1]
                if label == "Division" and code not in self.ref.divisions:
                    try:
                        level = division_level(code).value
                    except ValueError:
                        level = None
                    props = {"code": code, "level": level, "division": code}
                elif label == "School" and code not in self.ref.schools:
                    props = {"code": code}
                else:
                    continue
                have.add(end)
                out.append(NodeRecord(end, props, rel.source))
        return out

    def _commit_outcome(
        self,
        run_id: str,
        source: str,
        rows: list[LandedRow],
        outcome: dict[int, tuple[str, str | None, str | None]],
        rep: SourceReport,
        mark: tuple[str, int],
        stale: dict[str, str | None],
        projected: dict[int, str],
        waiting: list[tuple[int, str]],
    ) -> None:
        now = utcnow()
        # The loaded rows all get the same values: one statement per chunk of them, not one
        # parameter set (five values bound, a timestamp formatted) per row.
        loaded = sorted(seq for seq, (status, _, _) in outcome.items() if status == "loaded")
        params = [
            {
                "b_seq": seq,
                "b_status": status,
                "b_code": code,
                "b_reason": (reason or "")[:2000] or None,
                "b_at": now,
                "b_run": run_id,
            }
            for seq, (status, code, reason) in outcome.items()
            if status != "loaded"
        ]
        by_record: dict[str, int] = {}
        for r in rows:
            by_record[r.record_id] = max(by_record.get(r.record_id, 0), r.seq)
        with writing(self.engine) as conn:
            for i in range(0, len(loaded), 900):
                conn.execute(
                    update(L)
                    .where(L.c.seq.in_(loaded[i : i + 900]))
                    .values(status="loaded", reason_code=None, reason=None)
                    .values(processed_at=now, processed_run_id=run_id)
                )
            if params:
                conn.execute(
                    update(L)
                    .where(L.c.seq == bindparam("b_seq"))
                    .values(
                        status=bindparam("b_status"),
                        reason_code=bindparam("b_code"),
                        reason=bindparam("b_reason"),
                        processed_at=bindparam("b_at"),
                        processed_run_id=bindparam("b_run"),
                    ),
                    params,
                )
            # Older versions of these records: the newest processed version replaces them.
            ids = sorted(by_record)
            multi: list[str] = []
            for i in range(0, len(ids), 900):
                multi += [
                    rid
                    for (rid,) in conn.execute(
                        select(L.c.record_id)
                        .where(and_(L.c.source == source, L.c.record_id.in_(ids[i : i + 900])))
                        .group_by(L.c.record_id)
                        .having(func.count() > 1)
                    )
                ]
            for rid in multi:
                newest = by_record[rid]
                newest_loaded = outcome.get(newest, ("",))[0] == "loaded"
                statuses = ("loaded", "quarantined") if newest_loaded else ("quarantined",)
                res = conn.execute(
                    update(L)
                    .where(
                        and_(
                            L.c.source == source,
                            L.c.record_id == rid,
                            L.c.seq < newest,
                            L.c.status.in_(statuses),
                        )
                    )
                    .values(status="superseded")
                )
                rep.superseded += res.rowcount or 0
            write_projections(
                conn, {seq: text for seq, text in projected.items() if outcome[seq][0] == "loaded"}
            )
            if waiting:
                conn.execute(
                    UN.insert(),
                    [{"source": source, "seq": q, "record_id": r, "created_at": now} for q, r in waiting],
                )
            self._commit_derived(conn, mark, stale)
            self._save_run(conn, run_id, rep)
