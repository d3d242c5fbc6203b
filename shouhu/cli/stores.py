"""Opening both stores for a command, and the one way a command fails: a red line, exit code 2."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from graph.port import GraphInUse, GraphStoreError
from kernel.messages import say
from kernel.settings import Settings


class ConfigError(Exception):
    """A problem the operator must fix in the configuration; the message is the whole story."""


def say_error(message: str) -> None:
    """The red 错误： line on stderr (the one shape of every command's failure)."""
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]{escape(say('cli.error', message=message))}[/]", highlight=False
    )


def fail(message: str) -> None:
    say_error(message)
    raise typer.Exit(2)


def store_failure(exc: SQLAlchemyError) -> str:
    """What the operator is told of a relational-store error that ended a command. SQLAlchemy's own
    text carries the statement and its parameters (a record's payload: a child's name, an ID
    number), and PostgreSQL's a DETAIL line quoting the row, so neither is shown: the kind of error
    is, and for SQLite's OperationalError its one-line reason ('database is locked', 'disk I/O
    error'), which names the condition and never a value."""
    orig = getattr(exc, "orig", None)
    kind = type(exc).__name__
    if (
        isinstance(orig, Exception)
        and type(orig).__module__ == "sqlite3"
        and type(orig).__name__ == "OperationalError"
    ):
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        if reason == "database or disk is full":
            return say("cli.store_failed", kind=say("store.disk_full"))
        if reason:
            kind = f"{kind}: {reason}"
    return say("cli.store_failed", kind=kind)


def _check_data_dir(settings: Settings) -> None:
    d = settings.data_dir
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(say("store.data_dir_uncreatable", path=d, reason=exc.strerror)) from exc
    if not d.is_dir() or not os.access(d, os.W_OK):
        raise ConfigError(say("store.data_dir_not_writable", path=d))
    probe = d / ".write-probe"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(say("store.data_dir_write_failed", path=d, reason=exc.strerror)) from exc


def _open_stores(settings: Settings) -> tuple[Any, Any]:
    if settings.graph_backend == "ladybug" or settings.database_url is None:
        _check_data_dir(settings)
    engine = _open_sql(settings)
    from shouhu.record import open_healed
    from shouhu.service.client import service_answers

    if settings.graph_backend == "ladybug" and service_answers(settings):
        raise ConfigError(say("service.holds_graph", data_dir=settings.data_dir))
    try:
        # Probed in a child process first; a graph that cannot be opened or lost committed writes is
        # set aside and rebuilt from the relational store (shouhu.record).
        graph = open_healed(settings, engine)
    except GraphInUse as exc:  # a sync or a second service on this data directory: said in Chinese
        raise ConfigError(say("store.graph_in_use", data_dir=settings.data_dir, pid=exc.holder)) from exc
    except GraphStoreError as exc:
        raise ConfigError(str(exc)) from exc
    return graph, engine


def _open_sql(settings: Settings) -> Any:
    """The relational store alone, for commands that never read the graph."""
    from kernel.db import DatabaseUnavailable, check_reachable, make_engine, migrate

    try:
        check_reachable(settings.sql_url)
        engine = make_engine(settings.sql_url)
        migrate(engine)
    except DatabaseUnavailable as exc:
        raise ConfigError(str(exc)) from exc
    return engine


def immediate(engine: Any) -> Any:
    """The engine for a command that writes the relational store: on SQLite its transactions take the
    write lock at BEGIN. A running service writes the file often (audit entries, its syncs, the
    derived-state queue); a transaction that read and then wrote would fail at once with 'database
    is locked' when the service had written since its read (no busy timeout helps a stale snapshot),
    where one that begins IMMEDIATE waits its turn. Reading commands keep WAL's non-blocking reads.
    PostgreSQL needs nothing of the kind."""
    from kernel.db.engine import SQLITE_BEGIN_OPTION

    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    return engine


class Bars:
    """An operation's phases drawn as rich bars: advanced directly when the operation runs here (a
    :class:`~shouhu.service.operations.Phases` that also draws), or set from the snapshots a service
    streams (``follow``), so the bars look the same either way."""

    def __init__(self, progress: Any) -> None:
        from shouhu.service.operations import Phases

        self.progress = progress
        self.tasks: list[Any] = []
        outer = self

        class _Drawn(Phases):
            def start(self, label: str, total: int | None = None) -> None:
                super().start(label, total)
                outer.tasks.append(outer.progress.add_task(label, total=total))

            def __call__(self, n: int) -> None:
                super().__call__(n)
                if not outer.tasks:  # started implicitly by the call above
                    outer.tasks.append(outer.progress.add_task("", total=None))
                outer.progress.advance(outer.tasks[-1], n)

        self.local = _Drawn()

    def follow(self, phases: list[dict[str, Any]]) -> None:
        for i, phase in enumerate(phases):
            if i == len(self.tasks):
                self.tasks.append(self.progress.add_task(phase["label"], total=phase["total"]))
            self.progress.update(self.tasks[i], total=phase["total"], completed=phase["completed"])


def run_operation(name: str, bars: Any = None, **params: Any) -> dict[str, Any]:
    """Run one of `shouhu.service.operations` where the stores are: in the service running on this
    data directory if there is one (it owns the embedded graph), else on the stores opened here.
    The result is the same JSON either way, and so are the progress bars (``bars``: a rich Progress);
    a problem ends the command with its line and exit code. An operation that writes the graph takes
    the data directory's sync turn here, as the service does for it."""
    from kernel.settings import get_settings
    from shouhu.service.client import find_service
    from shouhu.service.operations import OPERATIONS, OperationError

    settings = get_settings()
    drawn = Bars(bars) if bars is not None else None
    try:
        service = find_service(settings)
        if service is not None:
            return service.call(name, params, drawn.follow if drawn is not None else None)
        op = OPERATIONS[name]
        try:
            if op.needs_graph:
                graph, engine = _open_stores(settings)
            else:
                graph, engine = None, _open_sql(settings)
        except ConfigError as exc:
            raise OperationError(str(exc)) from exc
        try:
            extra = {"progress": drawn.local if drawn is not None else None} if op.progress else {}
            if op.writes:
                engine = immediate(engine)
            if op.exclusive:
                from shouhu.cli.connectors import sync_lock

                with sync_lock(settings.data_dir):
                    return op.fn(graph, engine, **params, **extra)
            return op.fn(graph, engine, **params, **extra)
        finally:
            if graph is not None:
                graph.close()
            engine.dispose()
    except OperationError as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]{escape(say('cli.error', message=exc.message))}[/]", highlight=False
        )
        raise typer.Exit(exc.exit_code) from None
