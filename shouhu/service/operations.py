"""What the store-reading commands compute, as JSON, the same whether the CLI runs them on the stores
itself or a running service runs them for it: the CLI renders the result either way, so the output
and the exit code cannot differ between the two paths.

Each operation takes the stores it needs and keyword parameters that are JSON values; a problem the
operator must fix raises :class:`OperationError` with the line to print and the exit code.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, func, select

from graph.port import GraphStore, GraphStoreError
from kernel.messages import say
from kernel.settings import Settings


class OperationError(Exception):
    """The command cannot do what was asked; ``message`` is the whole story, ``exit_code`` its code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Operation:
    fn: Callable[..., dict[str, Any]]
    needs_graph: bool  # when run by the command itself: open the graph (else the relational store only)
    progress: bool = False  # takes ``progress`` (:class:`Phases`); the service streams it to the command
    exclusive: bool = False  # takes the data directory's sync turn: no sync writes the graph meanwhile
    writes: bool = False  # writes the relational store: in the service, on its writers' engine (IMMEDIATE)


class Phases:
    """An operation's progress as phases (a label, a total when known, how far it got), the same shape as
    a sync job's: the command draws them as bars, whether the operation runs in its own process or in
    the service (which sends the phases to it as they grow). Calling it advances the current phase.

    Labels are catalogue text (``say``), rendered where the operation runs."""

    def __init__(self) -> None:
        self.phases: list[dict[str, Any]] = []

    def start(self, label: str, total: int | None = None) -> None:
        self.phases.append({"label": label, "total": total, "completed": 0})

    def __call__(self, n: int) -> None:
        if not self.phases:
            self.start("", None)
        self.phases[-1]["completed"] += n

    def snapshot(self) -> list[dict[str, Any]]:
        return [dict(p) for p in list(self.phases)]


def _start(progress: Phases | None, label: str, total: int | None = None) -> None:
    if progress is not None:
        progress.start(label, total)


def graph_stats(graph: GraphStore, engine: Engine) -> dict[str, Any]:
    """Nodes by kind and relationships by type, and which engine holds them."""
    return {"backend": graph.backend, "stats": graph.stats()}


def crosscheck(
    graph: GraphStore,
    engine: Engine,
    *,
    as_of: str | None = None,
    division: str = "",
    examples: int = 10,
    progress: Phases | None = None,
) -> dict[str, Any]:
    """Where the sources disagree (connectors.crosscheck), as its JSON document."""
    from connectors.crosscheck import crosscheck as run

    _start(progress, say("crosscheck.progress"))
    day = date.fromisoformat(as_of) if as_of else None
    report = run(graph, as_of=day, division_prefix=division, progress=progress)
    report.examples = examples
    return report.as_json()


def quarantine_list(
    graph: GraphStore | None,
    engine: Engine,
    *,
    source: str | None = None,
    reason: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Quarantined landing rows, oldest first, and their count by source and reason."""
    from connectors.tables import LandingRecord

    L = LandingRecord.__table__  # type: ignore[attr-defined]
    conds = [L.c.status == "quarantined"]
    if source:
        conds.append(L.c.source == source)
    if reason:
        conds.append(
            L.c.reason_code.like(f"{reason}%") if reason.endswith(".") else L.c.reason_code == reason
        )
    with engine.connect() as conn:
        counts = conn.execute(
            select(L.c.source, L.c.reason_code, func.count())
            .where(and_(*conds))
            .group_by(L.c.source, L.c.reason_code)
            .order_by(L.c.source, L.c.reason_code)
        ).all()
        stmt = (
            select(
                L.c.seq, L.c.source, L.c.record_id, L.c.reason_code, L.c.reason, L.c.origin, L.c.received_at
            )
            .where(and_(*conds))
            .order_by(L.c.seq)
        )
        rows = conn.execute(stmt.limit(limit) if limit else stmt).all()
    return {
        "counts": [[src, code, int(n)] for src, code, n in counts],
        "rows": [
            {
                "seq": r.seq,
                "source": r.source,
                "record_id": r.record_id,
                "reason_code": r.reason_code,
                "reason": r.reason,
                "origin": r.origin,
                "received_at": r.received_at.isoformat(),
            }
            for r in rows
        ],
    }


def runs(graph: GraphStore | None, engine: Engine, *, limit: int = 20) -> dict[str, Any]:
    """Stored run reports, newest first: one row per run and source."""
    from connectors.tables import SyncRun

    R = SyncRun.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(R).order_by(R.c.started_at.desc(), R.c.source).limit(limit)).all()
    return {
        "rows": [
            {
                "run_id": r.run_id,
                "source": r.source,
                "kind": r.kind,
                "status": r.status,
                "started": r.started_at.isoformat(timespec="seconds"),
                "received": r.received,
                "loaded": r.loaded,
                "quarantined": r.quarantined,
                "unexplained": (r.received + r.resumed)
                - (r.loaded + r.quarantined + r.unchanged + r.duplicates),
                "report": r.report,
            }
            for r in rows
        ]
    }


def periodic_report(
    graph: GraphStore, engine: Engine, *, kind: str, division: str, period: str, fmt: str
) -> dict[str, Any]:
    """A quarterly or annual report as file bytes (base64) and the summary line's figures. The file is
    written by the CLI, where the operator asked for it, with the operator's permissions."""
    from protection import reporting

    try:
        v = reporting.view(engine, division, period, graph)
    except reporting.ReportError as exc:
        raise OperationError(str(exc)) from exc
    if v.period.kind != kind:
        raise OperationError(
            say(
                "report.wrong_kind",
                period=repr(period),
                actual=say(f"report.kind.{v.period.kind}"),
                expected=say(f"report.kind.{kind}"),
            )
        )
    codes = [code for code, _ in v.rows]
    nodes = graph.get_nodes([f"division:{c}" for c in [division, *codes]])
    names = {n.props["code"]: n.props.get("name") or "" for n in nodes.values() if n.props.get("code")}
    try:
        data = reporting.to_xlsx(v, names) if fmt == "xlsx" else reporting.to_csv(v, names)
    except reporting.ReportError as exc:
        raise OperationError(str(exc)) from exc
    return {
        "data": base64.b64encode(data).decode("ascii"),
        "children": v.totals.get("children", 0),
        "left_behind": v.totals.get("left_behind", 0),
        "in_distress": v.totals.get("in_distress", 0),
        "status": v.status,
        "deadline": str(v.deadline),
        "division_name": names.get(division) or "",
        "period": v.period.label,
    }


def classify(
    graph: GraphStore,
    engine: Engine,
    *,
    division: str | None = None,
    progress: Phases | None = None,
) -> dict[str, Any]:
    """Reclassify and rescreen children now (protection.classification.recompute)."""
    from protection.classification import recompute

    _start(progress, say("report.classifying"))
    r = recompute(graph, engine, division=division, trigger="cli", progress=progress)
    return {"children": r.children, "seconds": r.seconds, "per_second": r.per_second, "removed": r.removed}


def graph_verify(
    graph: GraphStore, engine: Engine, *, first: int = 10, progress: Phases | None = None
) -> dict[str, Any]:
    """The graph against what the record says it should hold (protection.record.verify)."""
    from connectors.rebuild import count_loaded
    from protection.record import verify

    _start(progress, say("graph.verify.reading"), count_loaded(engine))
    try:
        return verify(engine, graph, progress, first).as_json()
    except GraphStoreError as exc:
        raise OperationError(say("graph.verify.failed", reason=exc)) from exc


def graph_rebuild(
    graph: GraphStore | None,
    engine: Engine,
    *,
    keep_old: bool = False,
    progress: Phases | None = None,
) -> dict[str, Any]:
    """Rebuild the graph from the record into a new file and swap it in (protection.record.rebuild).

    Run by the command, ``graph`` is None: nothing has the file open. Run by the service, ``graph`` is
    the store its API reads: the API goes on reading the old graph until the new file is swapped in,
    then the store opens the new file (LadybugStore.replaced_while_serving); no graph write runs
    meanwhile. With Neo4j the database is refilled in place and the serving connection stays."""
    from kernel.settings import get_settings

    try:
        return _rebuild_serving(get_settings(), graph, engine, progress, keep_old=keep_old)
    except GraphStoreError as exc:
        raise OperationError(say("graph.rebuild.failed", reason=exc)) from exc


def first_load_builder(
    settings: Settings, graph: GraphStore, engine: Engine, progress: Phases | None
) -> Callable[[], dict[str, Any]] | None:
    """What builds a first load's graph at the end of the sync (connectors.pipeline.GraphBuilder): the
    rebuild, swapped in under the store that is open. LadybugDB only: there batch-by-batch writes pay
    checkpoints that grow with the county; a Neo4j graph is written batch by batch as before."""
    if graph.backend != "ladybug":
        return None

    def build(spill: Any = None) -> dict[str, Any]:
        try:
            return _rebuild_serving(settings, graph, engine, progress, keep_old=False, spill=spill)
        except OSError as exc:  # a full disk, a permission: the sync stops with a line, not a traceback
            raise GraphStoreError(say("graph.rebuild.failed", reason=exc)) from exc

    return build


def _rebuild_serving(
    settings: Settings,
    graph: GraphStore | None,
    engine: Engine,
    progress: Phases | None,
    *,
    keep_old: bool,
    spill: Any = None,
) -> dict[str, Any]:
    from protection.record import rebuild

    totals = [0]

    def total(n: int) -> None:  # told twice: the record's rows to read, then the rows to load
        totals[0] += 1
        _start(progress, say("graph.verify.reading" if totals[0] == 1 else "graph.rebuild.loading"), n)

    def run() -> dict[str, Any]:
        return rebuild(
            settings, engine, progress=progress, on_total=total, keep_old=keep_old, spill=spill
        ).as_json()

    if graph is None or graph.backend != "ladybug":
        return run()
    return graph.replaced_while_serving(run)  # type: ignore[attr-defined]


def quarantine_replay(
    graph: GraphStore,
    engine: Engine,
    *,
    source: str | None = None,
    reason: str | None = None,
    record_ids: list[str] | None = None,
    progress: Phases | None = None,
) -> dict[str, Any]:
    """Re-validate quarantined records from their stored payload and load what passes now; then the
    derived state (reclassification) the load queued. The run report, and the whole files left in
    quarantine (they cannot be replayed from the record: only their name is kept)."""
    from connectors.pipeline import Pipeline
    from connectors.sources import ConfigError, load_config
    from connectors.tables import LandingRecord
    from kernel.messages import source_name
    from kernel.settings import get_settings
    from protection.classification import drain, queued

    class _Hooks:  # the pipeline's progress hooks as phases
        def phase(self, source: str, what: str, total: int | None) -> None:
            verb = say("sync.phase.land" if what == "land" else "sync.phase.process")
            _start(progress, f"{source_name(source)} {verb}", total)

        def advance(self, n: int) -> None:
            if progress is not None:
                progress(n)

    try:
        config = load_config(get_settings().data_dir, None)
    except ConfigError as exc:
        raise OperationError(str(exc)) from exc
    pipeline = Pipeline(engine, graph, config, progress=_Hooks())
    try:
        report = pipeline.replay(source, reason, record_ids or None)
    except GraphStoreError as exc:
        raise OperationError(say("cli.sync_stopped", reason=exc), 1) from exc
    reclassified = None
    if queued(engine):
        _start(progress, say("sync.reclassifying"))
        done = drain(graph, engine, progress=progress)
        if done is not None:
            reclassified = {"children": done.children, "seconds": round(done.seconds, 1)}
    L = LandingRecord.__table__  # type: ignore[attr-defined]
    conds = [L.c.status == "quarantined", L.c.record_id.like("file:%")]
    if source:
        conds.append(L.c.source == source)
    with engine.connect() as conn:
        files = conn.execute(select(L.c.seq, L.c.record_id).where(and_(*conds)).order_by(L.c.seq)).all()
    return {
        "report": report.as_json(),
        "reclassified": reclassified,
        "files_left": [[seq, rid] for seq, rid in files],
    }


def cases_reproject(graph: GraphStore, engine: Engine) -> dict[str, Any]:
    """Write every case and agreement whose graph copy is behind into the graph (idempotent)."""
    from protection.projection import reproject_agreements, reproject_cases

    return {
        "cases": reproject_cases(graph, engine, limit=100_000),
        "agreements": reproject_agreements(graph, engine, limit=100_000),
    }


def init(graph: GraphStore, engine: Engine) -> dict[str, Any]:
    """Both stores ready (opening them created the schema and tables; idempotent): where the graph is."""
    from kernel.settings import get_settings

    graph.init_schema()
    settings = get_settings()
    return {"backend": graph.backend, "where": settings.neo4j_uri or str(settings.graph_path)}


OPERATIONS: dict[str, Operation] = {
    "graph_stats": Operation(graph_stats, needs_graph=True),
    "crosscheck": Operation(crosscheck, needs_graph=True, progress=True),
    "quarantine_list": Operation(quarantine_list, needs_graph=False),
    "runs": Operation(runs, needs_graph=False),
    "periodic_report": Operation(periodic_report, needs_graph=True),
    "classify": Operation(classify, needs_graph=True, progress=True, writes=True),
    # Compared between syncs: a sync running meanwhile would change the record and the graph apart.
    "graph_verify": Operation(graph_verify, needs_graph=True, progress=True, exclusive=True),
    "graph_rebuild": Operation(graph_rebuild, needs_graph=False, progress=True, exclusive=True, writes=True),
    "quarantine_replay": Operation(
        quarantine_replay, needs_graph=True, progress=True, exclusive=True, writes=True
    ),
    "cases_reproject": Operation(cases_reproject, needs_graph=True, writes=True),
    "init": Operation(init, needs_graph=True, writes=True),
}
