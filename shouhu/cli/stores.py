"""Opening both stores for a command, and the one way a command fails: a red line, exit code 2."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from graph.port import GraphStoreError
from kernel.messages import say
from kernel.settings import Settings


class ConfigError(Exception):
    """A problem the operator must fix in the configuration; the message is the whole story."""


def fail(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]{escape(say('cli.error', message=message))}[/]", highlight=False
    )
    raise typer.Exit(2)


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


def run_operation(name: str, progress: Callable[[int], None] | None = None, **params: Any) -> dict[str, Any]:
    """Run one of `shouhu.service.operations` where the stores are: in the service running on this
    data directory if there is one (it owns the embedded graph), else on the stores opened here.
    The result is the same JSON either way; a problem ends the command with its line and exit code."""
    from kernel.settings import get_settings
    from shouhu.service.client import find_service
    from shouhu.service.operations import OPERATIONS, OperationError

    settings = get_settings()
    try:
        service = find_service(settings)
        if service is not None:
            return service.call(name, params)
        op = OPERATIONS[name]
        try:
            if op.needs_graph:
                graph, engine = _open_stores(settings)
            else:
                graph, engine = None, _open_sql(settings)
        except ConfigError as exc:
            raise OperationError(str(exc)) from exc
        try:
            extra = {"progress": progress} if progress is not None and op.progress else {}
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
