"""`shouhu demo`: a synthetic county and demo identities for `make serve`.

Everything here is synthetic: the county comes from the seeded generator, and the agencies and
clients are created for the demo only. Tokens are printed because the demo needs them; they
expire with the normal token lifetime (`shouhu token --client-id …` mints a fresh one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from auth.identities import add_agency, add_client, get_agency, issue_token_for_client, list_clients
from shouhu.db import make_engine, migrate
from shouhu.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="A synthetic demo county and demo identities.")
console = Console()

COUNTY = "500248000000"  # the generator's synthetic county (connectors/synthetic)

# (agency id, name, type, jurisdiction, institutions, role, scopes)
DEMO_AGENCIES = [
    (
        "ps-500248",
        "宁川县公安局 (demo)",
        "public_security",
        COUNTY,
        (),
        "officer",
        "read:identity read:identity_number read:contact read:family read:household read:case",
    ),
    (
        "ca-500248",
        "宁川县民政局 (demo)",
        "civil_affairs",
        COUNTY,
        (),
        "caseworker",
        "read:identity read:identity_number read:contact read:family read:household read:case",
    ),
    (
        "edu-500248",
        "宁川县教育局 (demo)",
        "education",
        COUNTY,
        (),
        "bureau_officer",
        "read:identity read:education",
    ),
    ("aud-500248", "宁川县审计 (demo)", "auditor", COUNTY, (), "auditor", "read:identity read:provenance"),
    ("ana-500248", "宁川县数据分析 (demo)", "analyst", COUNTY, (), "analyst", "read:identity"),
]


@app.command("identities")
def identities() -> None:
    """Create the demo agencies and clients (once) and print a fresh token for each."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sql_url)
    migrate(engine)
    typer.echo("Demo tokens (synthetic agencies). Send as 'Authorization: Bearer <token>':")
    for agency_id, name, kind, juris, inst, role, scopes in DEMO_AGENCIES:
        if get_agency(engine, agency_id) is None:
            add_agency(
                engine,
                agency_id=agency_id,
                name=name,
                agency_type=kind,
                jurisdiction=juris,
                institution_codes=inst,
            )
        clients = list_clients(engine, agency_id)
        client_id = (
            clients[0].client_id
            if clients
            else add_client(engine, agency_id=agency_id, role=role, scopes=scopes, name="demo console")[0]
        )
        token = issue_token_for_client(engine, settings, client_id).access_token
        typer.echo(f"\n{name} · {kind}/{role} · client {client_id}\n{token}")
    engine.dispose()
    console.print(
        "Declare a purpose of use with the header X-Purpose-Of-Use: case_work (or screening, audit …)."
    )


@app.command("generate")
def generate(
    persons: int = typer.Option(20_000, help="People in the synthetic county."),
    seed: int = typer.Option(7, help="Generator seed: the same seed gives the same county."),
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <data dir>/demo-sources).")
    ] = None,
) -> None:
    """Write a synthetic county in each source system's own format, with its ground truth."""
    from connectors.synthetic import generate as make

    target = out or get_settings().data_dir / "demo-sources"
    summary = make(target, persons=persons, seed=seed)
    console.print(summary.describe())
    console.print(f"written to {target}")
