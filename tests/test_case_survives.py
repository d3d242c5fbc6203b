"""A case's graph catch-up killed with SIGKILL: the case ends in the graph once, marked current, and
the child's classification says so.

A protection case whose graph copy is behind its version (its projection failed: the graph was down)
is written by ``shouhu cases reproject``. The real command is killed (graph/crash.py) right after the
graph write, before the case is marked current, and right after the mark; then run again. Each must
end as the uninterrupted catch-up does. Marked before the child was reclassified, a kill between the
two left the child's classification without the case for good (nothing catches up a current case).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protection.projection import case_node_id
from tests.survives_support import synced_child
from tests.test_connectors_support import graph_snapshot
from tests.test_record_survives import run

CASE = "case000000000000000000000000001"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A synced county whose record holds an open case (under assessment) of a child with none,
    not yet in the graph: (data dir, child)."""
    from kernel.db import make_engine, session
    from protection.case_tables import ProtectionCaseRow

    data, child, division = synced_child(tmp_path_factory, "case-survives")
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        (status,) = conn.execute(
            "SELECT case_status FROM child_classification WHERE person_id = ?", (child,)
        ).fetchone()
    assert status != "open", status
    engine = make_engine(f"sqlite:///{data / 'shouhu.sqlite3'}")
    with session(engine) as s:
        s.add(
            ProtectionCaseRow(
                id=CASE,
                child_id=child,
                division=division,
                situation="living_alone",
                status="assessment",
                agency_id="township-test",
                police_agency_id="police-test",
                township_agency_id="township-test",
                version=1,
                projected_version=0,
            )
        )
        s.commit()
    engine.dispose()
    yield data, child


def _outcome(data: Path, child: str) -> dict[str, Any]:
    """What the catch-up left: the case's graph node and CONCERNS, its mark, the child's classification."""
    nodes, rels = graph_snapshot(data / "graph.lbug")
    case = case_node_id(CASE)
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        (projected,) = conn.execute(
            "SELECT projected_version FROM protection_case WHERE id = ?", (CASE,)
        ).fetchone()
        (case_status,) = conn.execute(
            "SELECT case_status FROM child_classification WHERE person_id = ?", (child,)
        ).fetchone()
    return {
        "case": nodes.get(case),
        "case_sources": len(json.loads(nodes[case]["sources"])) if case in nodes else 0,
        "case_rels": {i: r for i, r in rels.items() if case in i},
        "projected_version": projected,
        "case_status": case_status,
    }


@pytest.fixture(scope="module")
def uninterrupted(recorded: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the uninterrupted catch-up leaves (a copy of the record, ``shouhu cases reproject`` run
    once): the same for every kill point, so run once for them all."""
    base, child = recorded
    clean = tmp_path_factory.mktemp("case-clean") / "clean"
    shutil.copytree(base, clean)
    done = run(["cases", "reproject"], clean)
    assert done.returncode == 0, done.stderr
    return _outcome(clean, child)


@pytest.mark.parametrize("point", ["case.graph_written", "case.projected"])
def test_a_kill_during_a_cases_catch_up_ends_as_the_uninterrupted_one(
    recorded: tuple[Path, str], uninterrupted: dict[str, Any], tmp_path: Path, point: str
) -> None:
    base, child = recorded
    crashed = tmp_path / "crashed"
    shutil.copytree(base, crashed)

    expected = uninterrupted
    assert expected["case"] and expected["case_sources"] == 1, expected
    assert expected["case_rels"] and expected["projected_version"] == 1, expected
    assert expected["case_status"] == "open", expected

    killed = run(["cases", "reproject"], crashed, crash=point)
    assert killed.returncode == -9, (killed.returncode, killed.stderr)  # really died there
    again = run(["cases", "reproject"], crashed)  # the store opens and catches up
    assert again.returncode == 0, again.stderr
    assert _outcome(crashed, child) == expected
    verify = run(["graph", "verify"], crashed)
    assert verify.returncode == 0, verify.stdout + verify.stderr
