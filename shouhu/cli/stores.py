"""Opening both stores for a command, and the one way a command fails: a red line, exit code 2."""

from __future__ import annotations

import os
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
    from kernel.db import DatabaseUnavailable, check_reachable, make_engine, migrate

    if settings.graph_backend == "ladybug" or settings.database_url is None:
        _check_data_dir(settings)
    try:
        check_reachable(settings.sql_url)
        engine = make_engine(settings.sql_url)
        migrate(engine)
    except DatabaseUnavailable as exc:
        raise ConfigError(str(exc)) from exc
    from shouhu.record import open_healed

    try:
        # Probed in a child process first; a graph that cannot be opened or lost committed writes is
        # set aside and rebuilt from the relational store (shouhu.record).
        graph = open_healed(settings, engine)
    except GraphStoreError as exc:
        raise ConfigError(str(exc)) from exc
    return graph, engine
