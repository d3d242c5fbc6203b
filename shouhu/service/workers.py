"""The service's background work: sync jobs (started by the schedule or by an operator), the connector
schedule, the derived-state queue and the webhook outbox.

Why one place: they all write the same stores, and LadybugDB admits one process. Here they also take
turns where they would otherwise fight: one sync at a time (and the data directory's ``sync.lock``,
which the direct CLI path takes too), and the derived-state queue is drained between syncs rather than
under one (a sync refills it batch by batch; the job drains it once at the end, as the CLI does).

Stopping is cooperative: a running sync is stopped between two graph batches (the progress hook raises
:class:`ServiceStopping`); what was committed is kept and the next run resumes it, as after any
interrupted run.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from connectors.reports import SyncStopped
from graph.port import GraphStore, GraphStoreError
from kernel.db.engine import SQLITE_BEGIN_OPTION
from kernel.messages import say, source_name
from kernel.settings import Settings
from shouhu.service.operations import Phases, first_load_builder

if TYPE_CHECKING:
    from auth.policy import Policy

log = logging.getLogger("shouhu.service")

SCHEDULE_TICK_MAX = 60.0
"""The schedule looks for due sources at least this often (seconds), more often when an `every` is
shorter."""


SERVICE_BATCH_SIZE = 2_000
"""Records per graph upsert batch in a sync the service runs: the graph store is one connection behind
one lock, so a batch's transaction is as long as a profile read may have to wait."""


class ServiceStopping(SyncStopped):
    """Raised inside a sync by its progress hook when the service shuts down."""


@dataclass
class Phase:
    label: str
    total: int | None
    completed: int = 0


@dataclass
class Job:
    """One sync run in the service, as the operator's progress bar follows it."""

    id: str
    origin: str  # "operator" or "schedule"
    sources: list[str] | None
    status: str = "waiting"  # waiting, running, completed, failed
    phases: list[Phase] = field(default_factory=list)
    report: dict[str, Any] | None = None
    exit_code: int | None = None
    message: str | None = None
    reclassified: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "sources": self.sources,
            "status": self.status,
            "phases": [{"label": p.label, "total": p.total, "completed": p.completed} for p in self.phases],
            "report": self.report,
            "exit_code": self.exit_code,
            "message": self.message,
            "reclassified": self.reclassified,
        }


class _JobPhases(Phases):
    """A first load's graph build (an operation's phases) recorded on the sync job as phases of its own."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def start(self, label: str, total: int | None = None) -> None:
        super().start(label, total)
        self.job.phases.append(Phase(label, total))

    def __call__(self, n: int) -> None:
        super().__call__(n)
        if self.job.phases:
            self.job.phases[-1].completed += n


class _JobProgress:
    """The pipeline's progress hooks (connectors.reports.Progress) recorded on the job."""

    def __init__(self, job: Job, stopping: threading.Event) -> None:
        self.job = job
        self.stopping = stopping

    def phase(self, source: str, what: str, total: int | None) -> None:
        verb = say("sync.phase.land" if what == "land" else "sync.phase.process")
        self.job.phases.append(Phase(f"{source_name(source)} {verb}", total))
        if self.stopping.is_set():
            raise ServiceStopping("the service is shutting down")

    def advance(self, n: int) -> None:
        if self.job.phases:
            self.job.phases[-1].completed += n
        if self.stopping.is_set():
            raise ServiceStopping("the service is shutting down")


@contextlib.contextmanager
def data_dir_sync_lock(data_dir: Path) -> Iterator[None]:
    """The data directory's ``sync.lock`` (the same flock the CLI's direct path takes), waited for."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "sync.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Workers:
    """Everything the service runs beside the API, started and stopped together."""

    JOBS_KEPT = 50

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        graph: GraphStore,
        *,
        schedule: bool = True,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy  # the API's: the outbox decides event fields by it
        # SQLite: the background writers begin their transactions IMMEDIATE, so they queue on the write
        # lock (busy timeout) behind the API's audit writes instead of failing on a stale read snapshot
        # ("database is locked" at once, which no timeout helps). PostgreSQL needs nothing of the kind.
        if engine.dialect.name == "sqlite":
            engine = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        self.engine = engine
        self.graph = graph
        self.schedule = schedule
        self.stopping = threading.Event()
        self._sync_lock = threading.Lock()  # one sync at a time in this process
        self._derived_lock = threading.Lock()  # one drain of the derived-state queue at a time
        self._jobs: dict[str, Job] = {}
        self._threads: list[threading.Thread] = []
        self._jobs_lock = threading.Lock()
        self._delivery: Any = None

    # ---- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        from protection.projection import reproject_pending
        from protection.webhooks import DeliveryWorker

        if self.settings.webhook_worker:
            self._delivery = DeliveryWorker(self.engine, self.settings, self.policy)
            self._delivery.on_idle.append(lambda: reproject_pending(self.graph, self.engine))
            self._delivery.on_idle.append(self.drain_between_syncs)
            self._delivery.start()
        if self.schedule:
            t = threading.Thread(target=self._schedule_loop, name="connector-schedule", daemon=True)
            t.start()
            self._threads.append(t)
        log.info(
            "background workers started (schedule %s, outbox %s)", self.schedule, self._delivery is not None
        )

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the schedule and the outbox; a running sync stops at its next batch boundary, a drain of
        the derived-state queue is waited for (up to ``timeout``; its entries stay queued if cut)."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        if self._delivery is not None:
            self._delivery.stop()
            self._delivery.join(max(0.0, deadline - time.monotonic()))
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                log.warning("worker %s did not stop within %.0f s", t.name, timeout)

    # ---- sync jobs ----------------------------------------------------------------------------

    def submit_sync(
        self,
        sources: list[str] | None,
        *,
        export_dir: Path | None = None,
        batch_size: int = 20_000,
        origin: str = "operator",
    ) -> Job:
        """Start a sync in its own thread (it waits for a running one) and return its job."""
        if self.stopping.is_set():
            raise ServiceStopping("the service is shutting down")
        job = Job(uuid.uuid4().hex, origin, sources)
        with self._jobs_lock:
            self._jobs[job.id] = job
            for old in list(self._jobs)[: max(0, len(self._jobs) - self.JOBS_KEPT)]:
                if self._jobs[old].status in ("completed", "failed"):
                    del self._jobs[old]
        t = threading.Thread(
            target=self._run_job, args=(job, export_dir, batch_size), name=f"sync-{job.id[:8]}", daemon=True
        )
        self._threads.append(t)
        t.start()
        return job

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def syncing(self) -> bool:
        return self._sync_lock.locked()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """The sync turn, waited for: an operator's graph-writing operation (replay, rebuild) runs
        between syncs and drains, never beside them, as the command's own path takes ``sync.lock``."""
        with self._sync_lock, data_dir_sync_lock(self.settings.data_dir):
            if self.stopping.is_set():
                raise ServiceStopping("the service is shutting down")
            yield

    def _run_job(self, job: Job, export_dir: Path | None, batch_size: int) -> None:
        from connectors.pipeline import Pipeline
        from connectors.sources import ConfigError, load_config

        try:
            with self._sync_lock, data_dir_sync_lock(self.settings.data_dir):
                job.status = "running"
                try:
                    config = load_config(self.settings.data_dir, export_dir)
                except ConfigError as exc:
                    self._finish(job, "failed", 2, str(exc))
                    return
                pipeline = Pipeline(
                    self.engine,
                    self.graph,
                    config,
                    progress=_JobProgress(job, self.stopping),
                    graph_builder=first_load_builder(self.settings, self.graph, self.engine, _JobPhases(job)),
                    first_load_records=self.settings.sync_first_load_records,
                )
                # Short graph transactions: the API's reads wait for at most one batch of the sync.
                pipeline.batch_size = min(batch_size, SERVICE_BATCH_SIZE)
                try:
                    report = pipeline.sync(job.sources)
                except ValueError as exc:
                    self._finish(job, "failed", 2, str(exc))
                    return
                except GraphStoreError as exc:
                    self._finish(job, "failed", 1, f"sync stopped: {exc}")
                    return
                job.report = report.as_json()
                job.phases.append(Phase("reclassifying", None))
                result = self._drain("sync")
                job.phases[-1].total = job.phases[-1].completed = 1
                if result is not None:
                    job.reclassified = {"children": result.children, "seconds": round(result.seconds, 1)}
                self._finish(job, "completed", 0 if report.ok else 1, None)
        except ServiceStopping:
            self._finish(job, "failed", 1, f"sync stopped: {say('service.shutting_down')}")
        except Exception as exc:  # the job's thread must report, not vanish; the run resumes next time
            log.exception("sync job %s failed", job.id[:8])
            failed = say("sync.process_failed", kind=type(exc).__name__)  # its text may quote records
            self._finish(job, "failed", 1, f"sync stopped: {failed}")
        finally:
            with contextlib.suppress(ValueError):
                self._threads.remove(threading.current_thread())

    def _finish(self, job: Job, status: str, code: int, message: str | None) -> None:
        job.message = message
        job.exit_code = code
        job.status = status
        log.info("sync job %s (%s) %s, exit %d", job.id[:8], job.origin, status, code)

    # ---- the derived-state queue --------------------------------------------------------------

    def _drain(self, trigger: str) -> Any:
        from protection.classification import drain

        with self._derived_lock:
            return drain(self.graph, self.engine, trigger=trigger)

    def drain_between_syncs(self) -> None:
        """The outbox worker's idle hook: reclassify what the queue names, unless a sync runs (its
        job drains at the end). It holds the sync turn meanwhile, so a sync starts after it."""
        if self.stopping.is_set() or not self._sync_lock.acquire(blocking=False):
            return
        try:
            self._drain("worker")
        finally:
            self._sync_lock.release()

    # ---- the connector schedule ---------------------------------------------------------------

    def _schedule_loop(self) -> None:
        """Each configured source synced on its `every` (connectors.toml), as `sync --watch` did."""
        from connectors.sources import ConfigError, load_config
        from kernel.db.tables import utcnow
        from shouhu.cli.connectors import due_sources

        last_error: str | None = None
        tick = SCHEDULE_TICK_MAX
        while not self.stopping.is_set():
            try:
                config = load_config(self.settings.data_dir)
                intervals = [s.every for s in config.sources.values() if s.configured]
                tick = min(
                    min(intervals, default=timedelta(seconds=SCHEDULE_TICK_MAX)).total_seconds(),
                    SCHEDULE_TICK_MAX,
                )
                last_error = None
                if not self.syncing():
                    due = due_sources(self.engine, config, utcnow())
                    if due:
                        log.info("scheduled sync: %s", ", ".join(due))
                        job = self.submit_sync(due, origin="schedule")
                        while job.status in ("waiting", "running") and not self.stopping.is_set():
                            self.stopping.wait(0.5)
            except ConfigError as exc:
                if str(exc) != last_error:
                    log.error("connector schedule paused: %s", exc)
                    last_error = str(exc)
            except ServiceStopping:
                return
            except Exception:  # the schedule must outlive one bad round
                log.exception("connector schedule round failed")
            self.stopping.wait(max(1.0, tick))
