"""The `shouhu` command. Configuration problems end in one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from kernel.settings import get_settings
from shouhu.cli.audit import audit_app
from shouhu.cli.connectors import app as connectors_app
from shouhu.cli.demo import app as demo_app
from shouhu.cli.identities import app as identity_app
from shouhu.cli.reporting import report_app
from shouhu.cli.stores import ConfigError, _open_stores, fail
from shouhu.cli.webhooks import cli as protection_cli

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="守护 Shouhu: child-protection data platform"
)
graph_app = typer.Typer(no_args_is_help=True, help="The linked graph of children, families and cases.")
app.add_typer(graph_app, name="graph")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
app.add_typer(identity_app)  # agency, client, token, keys (auth/cli.py)
app.add_typer(connectors_app)  # sync, quarantine, runs (connectors/cli.py)
app.add_typer(protection_cli)  # webhooks, cases (protection/cli.py)
app.add_typer(report_app, name="report")  # periodic reports, classification (protection/reporting_cli.py)
app.add_typer(__import__("shouhu.cli.schema", fromlist=["app"]).app, name="schema")  # SDL export
console = Console()


@app.command()
def init() -> None:
    """Create both stores: the graph schema and the relational tables (idempotent)."""
    settings = get_settings()
    try:
        graph, engine = _open_stores(settings)
    except ConfigError as exc:
        fail(str(exc))
    graph.close()
    engine.dispose()
    where = settings.neo4j_uri or str(settings.graph_path)
    console.print(f"graph ({graph.backend}) ready at {where}; relational store ready")


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address (default SHOUHU_HOST, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default SHOUHU_PORT, 8000)."),
) -> None:
    """Start the API server (uvicorn) after checking that both stores open."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    try:
        graph, engine = _open_stores(settings)
    except ConfigError as exc:
        fail(str(exc))
    graph.close()  # the app opens its own; LadybugDB allows one writer process
    engine.dispose()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,
    )


@graph_app.command("stats")
def graph_stats(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Count nodes by kind and relationships by type."""
    settings = get_settings()
    try:
        graph, engine = _open_stores(settings)
    except ConfigError as exc:
        fail(str(exc))
    try:
        stats = graph.stats()
    finally:
        graph.close()
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(stats, ensure_ascii=False))
        return
    table = Table(title=f"graph ({graph.backend})")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for section in ("nodes", "relationships"):
        for name, n in stats[section].items():
            table.add_row(f"{section[:-1] if section == 'nodes' else 'rel'} {name}", f"{n:,}")
    console.print(table)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
