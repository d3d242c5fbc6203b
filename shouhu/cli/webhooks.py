"""`shouhu webhooks …` and `shouhu cases …`: the delivery outbox and the graph projection from the shell."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from kernel.clock import beijing
from kernel.messages import MESSAGES, say
from kernel.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help=say("cli.help.webhooks"))
cases_app = typer.Typer(no_args_is_help=True, help=say("cli.help.cases"))
console = Console()


def _engine() -> tuple[Engine, Settings]:
    from kernel.db import make_engine, migrate

    settings = get_settings()
    from shouhu.cli.stores import immediate

    engine = make_engine(settings.sql_url)
    migrate(engine)
    return immediate(engine), settings


@app.command("deliver", help=say("cli.help.webhooks.deliver"))
def deliver() -> None:
    """Deliver every webhook that is due now (what the API's worker does every few seconds)."""
    from protection.webhooks import Deliverer

    engine, settings = _engine()
    n = Deliverer(engine, settings).run_once(limit=1000)
    console.print(say("webhooks.delivered", n=n))


@app.command("list", help=say("cli.help.webhooks.list"))
def list_deliveries(
    agency: str = typer.Option(None, help=say("cli.help.webhooks.list.agency")),
    status: str = typer.Option(None, help=say("cli.help.webhooks.list.status")),
) -> None:
    """The outbox, newest first."""
    from protection.webhooks import deliveries

    engine, _ = _engine()
    table = Table(title=say("webhooks.title"))
    for c in ("id", "event", "status", "attempts", "created", "error"):
        table.add_column(say(f"webhooks.col.{c}"))
    for d in deliveries(engine, agency, status):
        table.add_row(
            d.id,
            d.event_type,
            say(f"status.{d.status}") if f"status.{d.status}" in MESSAGES else d.status,
            str(d.attempts),
            beijing(d.created_at),
            d.last_error or "",
        )
    console.print(table)


@app.command("retry", help=say("cli.help.webhooks.retry"))
def retry(agency: str = typer.Option(None, help=say("cli.help.webhooks.retry.agency"))) -> None:
    """Queue failed deliveries again (after the receiver is fixed)."""
    from protection.webhooks import retry_failed

    engine, _ = _engine()
    console.print(say("webhooks.requeued", n=retry_failed(engine, agency)))


@cases_app.command("reproject", help=say("cli.help.cases.reproject"))
def reproject() -> None:
    """Write every case and guardianship agreement whose graph copy is behind into the graph (idempotent)."""
    from shouhu.cli.stores import run_operation

    done = run_operation("cases_reproject")
    console.print(say("cases.projected", n=done["cases"], agreements=done["agreements"]))


# Mounted by shouhu/cli.py as `shouhu webhooks …` and `shouhu cases …`.
cli = typer.Typer()
cli.add_typer(app, name="webhooks")
cli.add_typer(cases_app, name="cases")
