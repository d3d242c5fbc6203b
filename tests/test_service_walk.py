"""Every command the CLI has, against the data directory a running `shouhu serve` owns: none fails
on a store the service holds. Its own module, so its own county and service: run in one module with
the schedule test, whichever ran first synced what the other expected the schedule to find due.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import test_service as served
from tests.service_support import start_readers, stop_readers
from tests.test_service import COUNTY, _audited, _env, _start

# The service module's fixtures, instantiated again for this module (module scope).
county = served.county
service = served.service


def _walk(county: dict[str, Any], tmp: Path) -> dict[str, tuple[list[str], set[int]]]:
    """Every command of `shouhu`, with arguments and the exit codes it may end with while the service
    runs (2: the command's own refusal of a made-up id; never a store held by the service)."""
    client_id = county["credentials"][0]
    return {
        "init": (["init"], {0}),
        "serve": (["serve"], {2}),  # refused: a service already serves this data directory
        "graph.stats": (["graph", "stats", "--json"], {0}),
        "graph.verify": (["graph", "verify", "--json"], {0}),
        "graph.rebuild": (["graph", "rebuild", "--json"], {0}),
        "audit.verify": (["audit", "verify"], {0}),
        "audit.export": (["audit", "export", "--out", str(tmp / "audit.jsonl")], {0}),
        "demo.identities": (["demo", "identities"], {0}),
        "demo.chain": (["demo", "chain"], {0}),  # after identities: it refuses a directory not the demo's
        "demo.generate": (["demo", "generate", "--persons", "30", "--out", str(tmp / "gen")], {0}),
        "agency.add": (
            [
                "agency",
                "add",
                "--id",
                "edu-walk",
                "--name",
                "县教委",
                "--type",
                "education",
                "--jurisdiction",
                COUNTY,
            ],
            {0},
        ),
        "agency.list": (["agency", "list"], {0}),
        "client.add": (
            [
                "client",
                "add",
                "--agency",
                "edu-walk",
                "--role",
                "registrar",
                "--scopes",
                "read:identity",
                "--name",
                "学籍系统",
            ],
            {0},
        ),
        "client.list": (["client", "list"], {0}),
        "client.disable": (["client", "disable", "no-such-client"], {2}),
        "token": (["token", "--client-id", client_id, "--json"], {0}),
        "keys.rotate": (["keys", "rotate"], {0}),
        "keys.list": (["keys", "list"], {0}),
        "keys.retire": (["keys", "retire", "no-such-key"], {2}),
        "sync": (["sync", "survey", "--from", str(county["export"]), "--json"], {0}),
        "quarantine.list": (["quarantine", "list"], {0}),
        "quarantine.show": (["quarantine", "show", "999999"], {2}),
        "quarantine.replay": (["quarantine", "replay", "--json"], {0}),
        "quarantine.dismiss": (["quarantine", "dismiss", "999999", "--reason", "测试"], {2}),
        "crosscheck": (["crosscheck", "--json"], {0}),
        "runs": (["runs"], {0}),
        "webhooks.deliver": (["webhooks", "deliver"], {0}),
        "webhooks.list": (["webhooks", "list"], {0}),
        "webhooks.retry": (["webhooks", "retry"], {0}),
        "cases.reproject": (["cases", "reproject"], {0}),
        "report.quarterly": (
            ["report", "quarterly", "--division", COUNTY, "--out", str(tmp / "q.xlsx")],
            {0},
        ),
        "report.annual": (["report", "annual", "--division", COUNTY, "--out", str(tmp / "a.csv")], {0}),
        "report.classify": (["report", "classify"], {0}),
        "schema.export": (["schema", "export", "--out", str(tmp / "schema.graphql")], {0}),
    }


def test_no_command_finds_the_stores_held_while_the_service_runs(
    county: dict[str, Any], service: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command the CLI has, run against the data directory the service owns: none fails on a
    store the service holds (the graph's lock, the sync turn, SQLite's write lock), the ones that need
    the graph go through the operator socket (audited), and profile reads go on meanwhile, through a
    rebuild of the graph under the serving API too. A new command must be added to the walk."""
    import typer
    from typer.testing import CliRunner

    from kernel.messages import say
    from kernel.settings import Settings, get_settings
    from shouhu.cli import app
    from shouhu.cli.help import help_targets
    from shouhu.service.client import service_answers

    data: Path = county["data"]
    if service["proc"].poll() is not None:  # another test of this module stopped it
        service.update(_start(data, "serve-walk.log"))
    assert service_answers(Settings(data_dir=data))  # else `serve` below would start one in-process
    walk = _walk(county, tmp_path)
    commands = {key for key, target in help_targets(app) if isinstance(target, typer.models.CommandInfo)}
    assert commands == set(walk), f"commands not walked: {commands - set(walk)}"

    for key, value in _env(data).items():
        if key.startswith("SHOUHU_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    held = [
        "Lock is held",
        "database is locked",
        say("service.holds_graph", data_dir=data),
        say("cli.sync_locked", data_dir=data),
    ]
    readers, until = start_readers(service["base"], county["credentials"], county["people"], 1)
    runner = CliRunner()
    failures = []
    try:
        for key, (args, codes) in walk.items():
            assert service["proc"].poll() is None, f"the service ended before {key}"
            result = runner.invoke(app, args)
            output = result.output + (result.stderr if result.stderr_bytes is not None else "")
            if result.exit_code not in codes or any(h in output for h in held):
                failures.append((key, result.exit_code, output[-400:], repr(result.exception)))
    finally:
        stop_readers(readers, until)
        get_settings.cache_clear()
    assert failures == [], "\n".join(map(repr, failures))
    for reader in readers:
        assert reader.errors == [], reader.errors[:3]
        assert reader.ok > 0
    # The service serves the rebuilt graph file, consistent with the record.
    after = runner.invoke(app, ["graph", "verify", "--json"])
    get_settings.cache_clear()
    assert after.exit_code == 0 and json.loads(after.output)["ok"], after.output[-300:]
    allowed = {op for op, decision, _ in _audited(data) if decision == "allow"}
    for op in ("init", "graph_verify", "graph_rebuild", "quarantine_replay", "cases_reproject", "classify"):
        assert f"operator.{op}" in allowed, op
