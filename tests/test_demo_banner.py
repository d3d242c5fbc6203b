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
