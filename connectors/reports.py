"""What a sync, replay or re-projection run reports, and the progress hooks it calls.

Apart from the runner (:mod:`connectors.pipeline`) because its readers are not the runner: the
CLI and the service print and store these reports (``shouhu.service.reports``), and a progress
display implements :class:`Progress` without needing the pipeline itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from kernel.db.tables import utcnow

__all__ = ["Progress", "RunReport", "SourceReport", "SyncStopped"]


COUNTERS = (
    "received",
    "landed",
    "carried",
    "unchanged",
    "duplicates",
    "resumed",
    "loaded",
    "quarantined",
    "superseded",
    "warnings",
    "batches",
)
"""The SourceReport counters a run's total adds up over its sources."""

STORED_COUNTERS = tuple(name for name in COUNTERS if name not in ("carried", "batches"))
"""The counters `sync_run` (connectors.tables.SyncRun) has a column for, written as a run goes; the
others are kept in its ``report`` JSON only."""


@dataclass
class SourceReport:
    """What one run did with one source's records."""

    source: str
    kind: str = "sync"
    where: str = ""
    status: str = "running"
    received: int = 0
    landed: int = 0
    carried: int = 0
    unchanged: int = 0
    duplicates: int = 0
    resumed: int = 0
    loaded: int = 0
    quarantined: int = 0
    superseded: int = 0
    warnings: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    warnings_by_code: Counter[str] = field(default_factory=Counter)
    graph: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    batches: int = 0
    land_seconds: float = 0.0
    process_seconds: float = 0.0
    error: str | None = None
    # Every file the read found: read, unchanged, ignored (with why), empty or failed (the connector's notes).
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        """Records received or resumed that are neither loaded, quarantined, unchanged nor duplicates."""
        return (self.received + self.resumed) - (
            self.loaded + self.quarantined + self.unchanged + self.duplicates
        )

    def accounting_line(self) -> str:
        ok = "✓" if self.unexplained == 0 else "✗"
        return (
            f"received {self.received:,} + resumed {self.resumed:,} = loaded {self.loaded:,} "
            f"+ quarantined {self.quarantined:,} + unchanged {self.unchanged:,} "
            f"+ duplicates {self.duplicates:,}; unexplained {self.unexplained:,} {ok}"
        )

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["by_reason"] = dict(sorted(self.by_reason.items()))
        d["warnings_by_code"] = dict(sorted(self.warnings_by_code.items()))
        d["unexplained"] = self.unexplained
        return d


@dataclass
class RunReport:
    """One ``sync`` or ``replay`` run over one or more sources."""

    run_id: str
    kind: str
    resolver: str
    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceReport] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    # A first load's graph, built once from the record at the end (Pipeline._defer_graph): its counts.
    graph_build: dict[str, Any] = field(default_factory=dict)

    def total(self) -> SourceReport:
        t = SourceReport("total", kind=self.kind, status="completed")
        for s in self.sources:
            for name in COUNTERS:
                setattr(t, name, getattr(t, name) + getattr(s, name))
            t.by_reason.update(s.by_reason)
            t.warnings_by_code.update(s.warnings_by_code)
            for k, v in s.graph.items():
                t.graph[k] = t.graph.get(k, 0) + v
            t.land_seconds += s.land_seconds
            t.process_seconds += s.process_seconds
            if s.status != "completed":
                t.status = s.status
        return t

    @property
    def seconds(self) -> float:
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    @property
    def records_per_second(self) -> float:
        t = self.total()
        handled = t.received + t.resumed
        return handled / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return all(s.status == "completed" and s.unexplained == 0 for s in self.sources)

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "resolver": self.resolver,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records_per_second, 1),
            "reference": self.reference,
            "graph_build": self.graph_build,
            "sources": [s.as_json() for s in self.sources],
            "total": self.total().as_json(),
        }


class SyncStopped(Exception):
    """Raised by a progress hook to stop a sync at its next batch boundary (the service shutting down):
    the run ends there, and a first load's graph is not built on the way out (the next open does)."""


class Progress(Protocol):
    """Hooks a progress display implements (the CLI's rich bars); all optional to honour."""

    def phase(self, source: str, what: str, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...


class NoProgress:
    def phase(self, source: str, what: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass
