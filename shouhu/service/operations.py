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

from graph.port import GraphStore
from kernel.messages import say


class OperationError(Exception):
    """The command cannot do what was asked; ``message`` is the whole story, ``exit_code`` its code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Operation:
    fn: Callable[..., dict[str, Any]]
    needs_graph: bool
    progress: bool = False  # takes a progress callback when run here (not through the service)


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
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Where the sources disagree (connectors.crosscheck), as its JSON document."""
    from connectors.crosscheck import crosscheck as run

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
        v = reporting.view(engine, division, period)
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
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Reclassify and rescreen children now (protection.classification.recompute)."""
    from protection.classification import recompute

    r = recompute(graph, engine, division=division, trigger="cli", progress=progress)
    return {"children": r.children, "seconds": r.seconds, "per_second": r.per_second, "removed": r.removed}


OPERATIONS: dict[str, Operation] = {
    "graph_stats": Operation(graph_stats, needs_graph=True),
    "crosscheck": Operation(crosscheck, needs_graph=True, progress=True),
    "quarantine_list": Operation(quarantine_list, needs_graph=False),
    "runs": Operation(runs, needs_graph=False),
    "periodic_report": Operation(periodic_report, needs_graph=True),
    "classify": Operation(classify, needs_graph=True, progress=True),
}
