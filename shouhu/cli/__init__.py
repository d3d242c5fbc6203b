"""The `shouhu` command. Configuration problems end in one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import errno
import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from kernel.messages import number, say
from kernel.settings import get_settings
from shouhu.cli.audit import audit_app
from shouhu.cli.connectors import app as connectors_app
from shouhu.cli.demo import app as demo_app
from shouhu.cli.help import speak_typer
from shouhu.cli.identities import app as identity_app
from shouhu.cli.reporting import report_app
from shouhu.cli.stores import ConfigError, _open_stores, fail
from shouhu.cli.webhooks import cli as protection_cli

app = typer.Typer(no_args_is_help=True, add_completion=False, help=say("cli.help.shouhu"))
graph_app = typer.Typer(no_args_is_help=True, help=say("cli.help.graph"))
app.add_typer(graph_app, name="graph")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
app.add_typer(identity_app)  # agency, client, token, keys (auth/cli.py)
app.add_typer(connectors_app)  # sync, quarantine, runs (connectors/cli.py)
app.add_typer(protection_cli)  # webhooks, cases (protection/cli.py)
app.add_typer(report_app, name="report")  # periodic reports, classification (protection/reporting_cli.py)
app.add_typer(__import__("shouhu.cli.schema", fromlist=["app"]).app, name="schema")  # SDL export
console = Console()


@app.command(help=say("cli.help.init"))
def init() -> None:
    """Create both stores: the graph schema and the relational tables (idempotent)."""
    from shouhu.cli.stores import run_operation

    r = run_operation("init")
    console.print(say("init.ready", backend=r["backend"], where=r["where"]), highlight=False)


@app.command(help=say("cli.help.serve"))
def serve(
    host: str = typer.Option(None, help=say("cli.help.serve.host")),
    port: int = typer.Option(None, help=say("cli.help.serve.port")),
) -> None:
    """Run the service: the API, the connector schedules, the derived-state queue, the webhook outbox
    and the operator socket that the other commands go through while it runs (shouhu.service)."""
    from auth.policy import Policy, PolicyError
    from shouhu.service.client import find_service
    from shouhu.service.operations import OperationError
    from shouhu.service.run import serve as run_service

    settings = get_settings()
    try:  # a broken file is refused here in one line, not as its traceback; the app serves this one
        policy = Policy.load(settings.policy_file)
    except PolicyError as exc:
        fail(str(exc))
    try:
        running = find_service(settings) is not None
    except OperationError:
        running = True  # it answers, though its secret is not ours to read
    if running and settings.graph_backend == "ladybug":  # scale-out: several workers are the point
        fail(say("service.already_running", data_dir=settings.data_dir))
    try:
        graph, engine = _open_stores(settings)
    except ConfigError as exc:
        fail(str(exc))
    graph.close()  # the app opens its own; LadybugDB allows one writer process
    engine.dispose()
    run_service(settings, host or settings.host, port or settings.port, policy=policy)


@graph_app.command("stats", help=say("cli.help.graph.stats"))
def graph_stats(
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.graph.stats.as_json")),
) -> None:
    """Count nodes by kind and relationships by type."""
    from shouhu.cli.stores import run_operation

    result = run_operation("graph_stats")
    stats, backend = result["stats"], result["backend"]
    if as_json:
        typer.echo(json.dumps(stats, ensure_ascii=False))
        return
    table = Table(title=say("graph.stats.title", backend=backend))
    table.add_column(say("graph.stats.kind"))
    table.add_column(say("graph.stats.count"), justify="right")
    for section in ("nodes", "relationships"):
        word = say("graph.stats.node" if section == "nodes" else "graph.stats.rel")
        for name, n in stats[section].items():
            table.add_row(f"{word} {name}", f"{n:,}")
    console.print(table)


def _record_progress() -> Any:
    """A rich bar on stderr like the sync's (nothing when not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


@graph_app.command("verify", help=say("cli.help.graph.verify"))
def graph_verify(
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.graph.verify.as_json")),
    first: int = typer.Option(10, "--first", min=1, help=say("cli.help.graph.verify.first")),
) -> None:
    """Compare the graph with what the relational store says it should hold; exit 1 on a difference."""
    from shouhu.cli.stores import run_operation

    with _record_progress() as bars:
        report = run_operation("graph_verify", bars, first=first)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        table = Table(title=say("graph.verify.title"), title_justify="left")
        for col in ("kind", "record", "graph", "hash"):
            table.add_column(
                say(f"graph.verify.col.{col}"), justify="right" if col in ("record", "graph") else "left"
            )
        table.add_column("")
        kinds = report["kinds"]
        for k in kinds:
            if k["expected"] or k["actual"]:
                mark = "[green]✓[/]" if k["ok"] else "[bold red]✗[/]"
                table.add_row(
                    k["kind"], f"{k['expected']:,}", f"{k['actual']:,}", k["actual_hash"][:16], mark
                )
        console.print(table)
        for k in kinds:
            if k["ok"]:
                continue
            if k["missing"]:
                console.print(
                    say("graph.verify.missing", kind=k["kind"], ids=", ".join(k["missing"])), highlight=False
                )
            if k["extra"]:
                console.print(
                    say("graph.verify.extra", kind=k["kind"], ids=", ".join(k["extra"])), highlight=False
                )
            for c in k["changed"]:
                console.print(
                    say("graph.verify.changed", kind=k["kind"], id=c["id"], columns=", ".join(c["columns"])),
                    highlight=False,
                )
        if report["ok"]:
            verdict = f"[green]{say('graph.verify.consistent')}[/]"
        else:
            verdict = f"[bold red]{say('graph.verify.differs')}[/]"
        console.print(
            say("graph.verify.verdict", verdict=verdict, hash=report["content_hash"]), highlight=False
        )
    if not report["ok"]:
        raise typer.Exit(1)


@graph_app.command("rebuild", help=say("cli.help.graph.rebuild"))
def graph_rebuild(
    as_json: bool = typer.Option(False, "--json", help=say("cli.help.graph.rebuild.as_json")),
    keep_old: bool = typer.Option(False, "--keep-old", help=say("cli.help.graph.rebuild.keep_old")),
) -> None:
    """Rebuild the graph from the relational store into a new file and swap it in atomically."""
    from shouhu.cli.stores import run_operation

    with _record_progress() as bars:
        report = run_operation("graph_rebuild", bars, keep_old=keep_old)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    console.print(
        say(
            "graph.rebuild.done",
            nodes=number(report["nodes"]),
            relationships=number(report["relationships"]),
            seconds=f"{report['seconds']:,.1f}",
        ),
        highlight=False,
    )
    if report["replaced"]:
        console.print(say("graph.rebuild.kept", path=report["replaced"]), highlight=False)


speak_typer()


def main() -> None:
    """Every command's entry. A relational-store error that escapes a command (a locked or failing
    database, a constraint) ends it in one catalogue line and exit code 2: its traceback and
    SQLAlchemy's text would put the statement's parameters, a record's personal data, on the
    terminal and in any captured log. Any other unexpected error ends it in one line naming its kind
    (exit code 1): an exception's text can quote the record being handled (a ValueError naming an
    ID number), so its traceback is shown only when the operator asks (SHOUHU_ERROR_DETAIL)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError
    from sqlalchemy.exc import SQLAlchemyError

    from kernel.logs import withhold_exception_text
    from kernel.messages import settings_problems
    from shouhu.cli.stores import say_error, store_failure

    try:
        withhold_exception_text(get_settings())
    except (ValidationError, SettingsError) as exc:  # a setting that does not parse: which, and why
        say_error(settings_problems(exc))
        sys.exit(2)
    except Exception:  # anything else the settings raise: each command says so itself
        pass
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except SQLAlchemyError as exc:
        if _traceback_wanted():
            raise
        say_error(store_failure(exc))
        sys.exit(2)
    except Exception as exc:
        if _traceback_wanted():
            raise
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            say_error(say("store.disk_full"))
            sys.exit(1)
        say_error(say("cli.internal_failed", kind=type(exc).__name__))
        sys.exit(1)


def _traceback_wanted() -> bool:
    try:
        return get_settings().error_detail
    except Exception:  # settings that do not parse: the safe answer
        return False


if __name__ == "__main__":
    main()
