"""`shouhu demo`: a synthetic county and demo identities for `make serve`.

Everything here is synthetic: the county comes from the seeded generator, and the agencies and
clients are created for the demo only. Tokens are printed because the demo needs them; they
expire with the normal token lifetime (`shouhu token --client-id …` mints a fresh one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from auth.identities import add_agency, add_client, get_agency, issue_token_for_client, list_clients
from kernel.db import make_engine, migrate
from kernel.messages import say
from kernel.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=say("cli.help.demo"))
console = Console()

COUNTY = "500248000000"  # the generator's synthetic county (connectors/synthetic)

# (agency id, name, type, jurisdiction, institutions, role, scopes)
DEMO_AGENCIES = [
    (
        "ps-500248",
        "宁川县公安局（演示）",
        "public_security",
        COUNTY,
        (),
        "officer",
        "read:identity read:identity_number read:contact read:family read:household read:case",
    ),
    (
        "ca-500248",
        "宁川县民政局（演示）",
        "civil_affairs",
        COUNTY,
        (),
        "caseworker",
        "read:identity read:identity_number read:contact read:family read:household read:case",
    ),
    (
        "edu-500248",
        "宁川县教育局（演示）",
        "education",
        COUNTY,
        (),
        "bureau_officer",
        "read:identity read:education",
    ),
    ("aud-500248", "宁川县审计（演示）", "auditor", COUNTY, (), "auditor", "read:identity read:provenance"),
    ("ana-500248", "宁川县数据分析（演示）", "analyst", COUNTY, (), "analyst", "read:identity"),
    (
        "tw-500248101",
        "双大镇人民政府（演示）",
        "township",
        "500248101000",
        (),
        "caseworker",
        "read:identity read:family read:household read:case",
    ),
    (
        "vc-500248101201",
        "双大镇第一村民委员会（演示）",
        "village_committee",
        "500248101201",
        (),
        "child_welfare_supervisor",
        "read:identity read:family read:household",
    ),
    (
        "sch-3500248002",
        "宁川县双大镇中心小学（演示）",
        "education",
        "500248101000",
        ("3500248002",),
        "teacher",
        "read:identity read:education",
    ),
    (
        "hc-thc500248101",
        "宁川县双大镇卫生院（演示）",
        "health",
        "500248101000",
        ("thc500248101",),
        "doctor",
        "read:identity read:health",
    ),
    ("court-500248", "宁川县人民法院（演示）", "court", COUNTY, (), "judge", "read:identity read:case"),
    # The county's civil-affairs supervisor: approves the townships' periodic reports and submits
    # the county's, so the village → township → county chain can be completed in the demo.
    (
        "ca-500248-sup",
        "宁川县民政局儿童福利股（演示）",
        "civil_affairs",
        COUNTY,
        (),
        "supervisor",
        "read:identity read:identity_number read:contact read:family read:household read:case",
    ),
]
CREDENTIALS_FILE = "demo-clients.json"  # in the data directory, owner-only: synthetic demo agencies


@app.command("identities", help=say("cli.help.demo.identities"))
def identities() -> None:
    """Create the demo agencies and clients (once) and print, for each, the console sign-in
    (client id and secret) and a fresh token for agency systems.

    A client secret is stored hashed and cannot be shown again, so the demo keeps the secrets of
    its own synthetic clients in an owner-only file of the data directory (never in the repo);
    a demo client whose secret is not there is replaced by a new one.
    """
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from shouhu.cli.stores import immediate

    engine = make_engine(settings.sql_url)
    migrate(engine)
    engine = immediate(engine)
    saved_path = settings.data_dir / CREDENTIALS_FILE
    saved: dict[str, list[str]] = json.loads(saved_path.read_text()) if saved_path.is_file() else {}
    typer.echo(say("demo.banner", url=f"http://{settings.host}:{settings.port}/console/"))
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
        known = {c.client_id for c in list_clients(engine, agency_id)}
        if agency_id not in saved or saved[agency_id][0] not in known:
            saved[agency_id] = list(
                add_client(engine, agency_id=agency_id, role=role, scopes=scopes, name="demo console")
            )
        client_id, secret = saved[agency_id]
        token = issue_token_for_client(engine, settings, client_id).access_token
        typer.echo(
            f"\n{name} · {kind}/{role}\n  client id {client_id}\n  secret    {secret}\n  token     {token}"
        )
    saved_path.touch(mode=0o600, exist_ok=True)
    saved_path.write_text(json.dumps(saved, indent=1))
    engine.dispose()
    console.print(say("demo.purpose"), highlight=False)


# The demo sign-ins' own divisions in the chain: the rest of the county reports for them.
DEMO_VILLAGE = "500248101201"
DEMO_TOWNSHIP = "500248101000"
DEMO_SUPERVISOR = "ca-500248-sup"  # made by `demo identities`: the mark of a demo data directory


@app.command("chain", help=say("cli.help.demo.chain"))
def chain(
    period: str = typer.Option("", help=say("cli.help.demo.chain.period")),
) -> None:
    """Hand up the periodic reports of every other village and township of the demo county (a
    county report waits for every division below), so that the demo sign-ins can take the chain
    through: the demo village submits, the demo township approves it and submits, the county's
    supervisor approves and submits. Idempotent; synthetic data only.

    No agency signs these reports, so the command refuses a data directory that `shouhu demo
    identities` has not made a demo one (its credentials file and the county's demo supervisor),
    and every report it writes is on the audit log as the demo's (operation demo.chain, user
    demo-synthetic), as a report handed up over GraphQL is."""
    from auth.audit import AuditLog
    from auth.audit.event import AuditEvent
    from kernel import clock
    from protection import reporting
    from shouhu.cli.stores import fail

    settings = get_settings()
    engine = make_engine(settings.sql_url)
    migrate(engine)
    if not (settings.data_dir / CREDENTIALS_FILE).is_file() or get_agency(engine, DEMO_SUPERVISOR) is None:
        engine.dispose()
        fail(say("demo.chain.not_demo", path=settings.data_dir))
    today = clock.today()
    period = period or f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    by = "demo-synthetic"

    def hand_up(division: str, approve: bool) -> None:
        acting[0] = division
        if reporting.view(engine, division, period).status in ("draft", "returned"):
            reporting.submit(engine, division, period, by=by)
        if approve and reporting.view(engine, division, period).status == "submitted":
            reporting.decide(engine, division, period, approve=True, by=by, note=None)

    # Each change commits with its audit entry, naming the report as the GraphQL mutations do
    # (periodic_report:<division>:<period>), or not at all.
    acting = [""]

    def entry() -> AuditEvent:
        return AuditEvent(
            operation="demo.chain", decision="allow", status=200, client_id="demo", user=by,
            records=(f"periodic_report:{acting[0]}:{period}",), reasons=("demo_synthetic",),
        )  # fmt: skip

    towns = villages = 0
    with AuditLog(engine).writes_recorded(entry):
        for town in reporting.view(engine, COUNTY, period).children_status:
            for village in reporting.view(engine, town, period).children_status:
                if village != DEMO_VILLAGE:
                    # Below the demo township: submitted, for the demo township to approve or return.
                    hand_up(village, approve=town != DEMO_TOWNSHIP)
                    villages += 1
            if town != DEMO_TOWNSHIP:
                hand_up(town, approve=False)  # for the county's supervisor to approve
                towns += 1
    engine.dispose()
    names = {a[0]: a[1] for a in DEMO_AGENCIES}
    typer.echo(
        say(
            "demo.chain.done",
            period=period,
            villages=villages,
            townships=towns,
            village=names["vc-500248101201"],
            township=names["tw-500248101"],
        )
    )


@app.command("generate", help=say("cli.help.demo.generate"))
def generate(
    persons: int = typer.Option(20_000, help=say("cli.help.demo.generate.persons")),
    seed: int = typer.Option(7, help=say("cli.help.demo.generate.seed")),
    out: Annotated[Path | None, typer.Option(help=say("cli.help.demo.generate.out"))] = None,
    noise_scale: Annotated[
        float, typer.Option(min=0.0, help=say("cli.help.demo.generate.noise_scale"))
    ] = 1.0,
) -> None:
    """Write a synthetic county in each source system's own format, with its ground truth; the
    noise (typos, missing IDs, duplicates…) at its default rates times ``--noise-scale``."""
    from connectors.synthetic import NoiseRates
    from connectors.synthetic import generate as make

    target = out or get_settings().data_dir / "demo-sources"
    summary = make(target, persons=persons, seed=seed, noise=NoiseRates().scaled(noise_scale))
    console.print(summary.describe())
    console.print(say("demo.written", path=target), highlight=False)
