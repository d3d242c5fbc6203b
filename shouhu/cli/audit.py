"""`shouhu audit …`: verify the hash chain and export the log, for auditors and operators.

Mounted by `shouhu/cli.py` (`app.add_typer(audit_app, name="audit")`). Only the relational store is
opened (the graph is not needed, and LadybugDB allows one writer process, which may be the API). The
commands never migrate: reading the audit log must not change the database, so a store that
`shouhu init` has not prepared is reported as such.

Exit codes: 0 success; 1 `verify` found the chain broken; 2 a configuration problem, in one line.
"""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from kernel.messages import say

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from auth.audit import AuditLog

audit_app = typer.Typer(no_args_is_help=True, help=say("cli.help.audit"))


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def _fail(message: str) -> None:
    """One line on stderr and exit 2, as `shouhu.cli.fail` does. Not imported from there: that module
    imports this one, and `python -m shouhu.cli` would load it twice."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]{escape(say('cli.error', message=message))}[/]", highlight=False
    )
    raise typer.Exit(2)


def _open_engine() -> Engine:
    from sqlalchemy import inspect

    from kernel.db import DatabaseUnavailable, check_reachable, describe, make_engine
    from kernel.settings import get_settings

    settings = get_settings()
    url = settings.sql_url
    if settings.database_url is None and not (settings.data_dir / "shouhu.sqlite3").exists():
        _fail(say("audit.no_store", path=settings.data_dir))
    try:
        check_reachable(url)
    except DatabaseUnavailable as exc:
        _fail(str(exc))
    engine = make_engine(url)
    try:
        present = inspect(engine).has_table("audit_entry")
    except Exception as exc:
        engine.dispose()
        _fail(say("audit.unreadable", where=describe(url), reason=type(exc).__name__))
    if not present:
        engine.dispose()
        _fail(say("audit.no_log", where=describe(url)))
    return engine


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    from auth.audit.event import parse_at

    try:
        return parse_at(value)
    except ValueError:
        _fail(say("audit.bad_time", option=option, value=repr(value)))
    return None


@audit_app.command("verify", help=say("cli.help.audit.verify"))
def verify(
    batch: Annotated[int, typer.Option(min=1, help=say("cli.help.audit.verify.batch"))] = 10_000,
    anchor: Annotated[
        str | None,
        typer.Option(help=say("cli.help.audit.verify.anchor")),
    ] = None,
) -> None:
    """Walk the whole hash chain; exit 0 if intact, 1 at the first broken entry.

    Prints `chain intact: N entries` and, for a non-empty log, a `head: SEQ:HASH` line to publish
    outside the database and pass back later as `--anchor`.
    """
    from auth.audit import Anchor, AuditLog, AuditUnavailable

    pinned = None
    if anchor is not None:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            _fail(say("audit.bad_anchor", value=repr(anchor)))
        pinned = Anchor(int(seq), digest.lower())
    engine = _open_engine()
    try:
        result = AuditLog(engine).verify(batch=batch, anchor=pinned)
    except AuditUnavailable as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(say("audit.intact", checked=result.checked))
        if result.head is not None:
            typer.echo(say("audit.head", seq=result.head.seq, hash=result.head.hash))
        return
    typer.echo(say("audit.broken", seq=result.first_broken_seq, reason=result.reason))
    raise typer.Exit(1)


@audit_app.command("export", help=say("cli.help.audit.export"))
def export(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help=say("cli.help.audit.export.fmt"))
    ] = ExportFormat.jsonl,
    since: Annotated[str | None, typer.Option(help=say("cli.help.audit.export.since"))] = None,
    until: Annotated[str | None, typer.Option(help=say("cli.help.audit.export.until"))] = None,
    agency: Annotated[str | None, typer.Option(help=say("cli.help.audit.export.agency"))] = None,
    out: Annotated[Path | None, typer.Option(help=say("cli.help.audit.export.out"))] = None,
) -> None:
    """Stream entries in seq order, with their hashes (an unfiltered export can be re-verified)."""
    from auth.audit import AuditLog, AuditUnavailable

    filters = {"since": _time(since, "--since"), "until": _time(until, "--until"), "agency_id": agency}
    engine = _open_engine()
    log = AuditLog(engine)
    try:
        if out is None:
            n = _write(log, fmt, sys.stdout, filters)
        else:
            try:
                with out.open("w", encoding="utf-8", newline="") as fp:
                    n = _write(log, fmt, fp, filters)
            except OSError as exc:
                _fail(say("audit.cannot_write", path=out, reason=exc.strerror or exc))
            typer.echo(say("audit.exported", n=n, path=out), err=True)
    except AuditUnavailable as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


def _write(log: AuditLog, fmt: ExportFormat, fp: IO[str], filters: dict[str, Any]) -> int:
    if fmt is ExportFormat.csv:
        return log.export_csv(fp, **filters)
    return log.export_jsonl(fp, **filters)
