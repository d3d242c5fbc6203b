"""The demo sign-in banner names the console where `shouhu serve` will really listen."""

from __future__ import annotations

import os
from pathlib import Path

from tests.test_cli import run


def test_demo_identities_print_the_configured_host_and_port(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env = {
        **clean,
        "SHOUHU_DATA_DIR": str(tmp_path / "data"),
        "SHOUHU_GRAPH_BUFFER_POOL_MB": "256",
        "SHOUHU_HOST": "127.0.0.2",
        "SHOUHU_PORT": "8765",
    }
    out = run(["demo", "identities"], env)
    assert out.returncode == 0, out.stderr
    assert "http://127.0.0.2:8765/console/" in out.stdout
    assert ":8000" not in out.stdout


def test_demo_identities_can_complete_the_reporting_chain() -> None:
    """Village submits, township approves and submits, county approves and submits (the policy's
    capabilities for the demo agencies' types and roles)."""
    from auth.policy import Policy
    from auth.principal import Principal
    from shouhu.cli.demo import DEMO_AGENCIES

    policy = Policy.load()
    holders: dict[str, set[str]] = {"submit_periodic_report": set(), "approve_periodic_report": set()}
    for agency_id, _name, kind, juris, _inst, role, _scopes in DEMO_AGENCIES:
        p = Principal(
            subject=agency_id, client_id=agency_id, agency_id=agency_id, agency_type=kind, role=role,
            jurisdiction=juris,
        )  # fmt: skip
        for cap, who in holders.items():
            if policy.can(p, cap):
                who.add(f"{kind}@{juris}")
    county, town, village = "500248000000", "500248101000", "500248101201"
    assert {f"village_committee@{village}", f"township@{town}", f"civil_affairs@{county}"} <= holders[
        "submit_periodic_report"
    ]
    assert {f"township@{town}", f"civil_affairs@{county}"} <= holders["approve_periodic_report"]


def test_demo_chain_lets_the_demo_sign_ins_take_the_reporting_chain_to_the_county(tmp_path: Path) -> None:
    """The demo county has many villages and townships and the demo only one sign-in of each: a
    township (and the county) may submit only once every division below has, so the chain was
    blocked at 'lower_level_missing'. `shouhu demo chain` reports for the others; then, over
    GraphQL with the printed sign-ins: village submits → township approves, submits → county
    supervisor approves the townships, submits, and downloads the Excel file."""
    import re

    from starlette.testclient import TestClient

    from api.app import create_app
    from kernel import clock
    from kernel.db import make_engine
    from kernel.settings import Settings
    from protection.screening_tables import ChildClassification

    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env = {**clean, "SHOUHU_DATA_DIR": str(tmp_path / "data"), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"}
    out = run(["demo", "identities"], env)
    assert out.returncode == 0, out.stderr
    printed = r"\n(\S+?)（演示） · \S+\n  client id (\S+)\n  secret    (\S+)"
    sign_ins = {name: (cid, secret) for name, cid, secret in re.findall(printed, out.stdout)}
    # A small synthetic county as classified: two townships, three villages, a child in each.
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'shouhu.sqlite3'}")
    from sqlmodel import Session

    with Session(engine) as s:
        for i, village in enumerate(("500248101201", "500248101202", "500248102201")):
            s.add(
                ChildClassification(
                    person_id=f"person:demo-{i}", division=village, categories=["left_behind"],
                    arrangement="with_grandparents", schooling="enrolled", case_status="none",
                )
            )  # fmt: skip
        s.commit()
    engine.dispose()

    # The quarter under way: its figures are the classification as materialised here (an ended
    # quarter's are its children classified as of its last day, from the graph, which has none).
    today = clock.today()
    period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    submit = """mutation($d: String!, $p: String!) {
      submitPeriodicReport(division: $d, period: $p) { status } }"""
    approve = """mutation($d: String!, $p: String!) {
      decidePeriodicReport(division: $d, period: $p, approve: true) { status } }"""
    xlsx = """query($d: String!, $p: String!) {
      periodicReportFile(division: $d, period: $p, format: XLSX) { filename } }"""
    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as client:

        def gql(who: str, query: str, division: str) -> dict:
            cid, secret = sign_ins[who]
            token = client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret)
            ).json()["access_token"]
            r = client.post(
                "/graphql",
                json={"query": query, "variables": {"d": division, "p": period}},
                headers={"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "case_work"},
            )
            return r.json()

        village, township, county = "双大镇第一村民委员会", "双大镇人民政府", "宁川县民政局儿童福利股"
        assert gql(village, submit, "500248101201")["data"]["submitPeriodicReport"]["status"] == "submitted"
        gql(township, approve, "500248101201")
        # Without the rest of the county: refused, the other village has not reported.
        blocked = gql(township, submit, "500248101000")
        assert blocked["errors"][0]["extensions"]["reason"] == "lower_level_missing", blocked

        chained = run(["demo", "chain", "--period", period], env)
        assert chained.returncode == 0, chained.stderr
        assert "其他 2 个村和 1 个乡镇" in chained.stdout, chained.stdout
        assert gql(township, approve, "500248101202")["data"]["decidePeriodicReport"]["status"] == "approved"
        assert gql(township, submit, "500248101000")["data"]["submitPeriodicReport"]["status"] == "submitted"
        for town in ("500248101000", "500248102000"):
            assert gql(county, approve, town)["data"]["decidePeriodicReport"]["status"] == "approved"
        assert gql(county, submit, "500248000000")["data"]["submitPeriodicReport"]["status"] == "submitted"
        assert gql(county, xlsx, "500248000000")["data"]["periodicReportFile"]["filename"].endswith(".xlsx")


def _classified_county(data: Path) -> None:
    """Two villages of the demo county's code as classified, in a data directory of its own."""
    from sqlmodel import Session

    from kernel.db import make_engine, migrate
    from protection.screening_tables import ChildClassification

    data.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data / 'shouhu.sqlite3'}")
    migrate(engine)
    with Session(engine) as s:
        for i, village in enumerate(("500248101202", "500248102201")):
            s.add(
                ChildClassification(
                    person_id=f"person:demo-{i}", division=village, categories=["left_behind"],
                    arrangement="with_grandparents", schooling="enrolled", case_status="none",
                )
            )  # fmt: skip
        s.commit()
    engine.dispose()


def _count(data: Path, sql: str) -> int:
    import sqlite3

    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_demo_chain_refuses_a_data_directory_that_is_not_the_demo(tmp_path: Path) -> None:
    """`shouhu demo chain` hands up reports without any agency signing in: outside a data directory
    that `shouhu demo identities` made a demo one, it must write nothing (a real county's data
    directory, or one whose divisions happen to carry the demo county's code)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    data = tmp_path / "data"
    env = {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"}
    _classified_county(data)
    out = run(["demo", "chain", "--period", "2026-Q3"], env)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "shouhu demo identities" in out.stderr, out.stderr
    assert _count(data, "select count(*) from periodic_report") == 0


def test_demo_chain_puts_what_it_hands_up_on_the_audit_log(tmp_path: Path) -> None:
    """Every report the demo chain submits or approves is on the audit log, as the demo's doing
    (operation demo.chain, user demo-synthetic), naming the report rows it wrote."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    data = tmp_path / "data"
    env = {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"}
    assert run(["demo", "identities"], env).returncode == 0
    _classified_county(data)
    out = run(["demo", "chain", "--period", "2026-Q3"], env)
    assert out.returncode == 0, out.stderr
    written = _count(data, "select count(*) from periodic_report")
    assert written == 3, written  # two villages, the other township
    ours = "from audit_entry where operation = 'demo.chain'"
    assert _count(data, f"select count(*) {ours} and user = 'demo-synthetic'") == _count(
        data, f"select count(*) {ours}"
    )
    # Four changes: two villages submitted, one of them approved (its township is not the demo's),
    # the other township submitted; each entry names its report as the GraphQL mutations do.
    assert _count(data, "select count(*) from audit_entry where operation = 'demo.chain'") == 4
    audited = _count(
        data,
        "select count(distinct r.record_id) from audit_record r join audit_entry e on e.seq = r.seq "
        "where e.operation = 'demo.chain' and r.record_id like 'periodic_report:5002481%:2026-Q3'",
    )
    assert audited == written, audited
