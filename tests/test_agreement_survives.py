"""An agreement's graph catch-up killed with SIGKILL: the store opens, the agreement ends in the graph
once, and the child's classification says so.

A guardianship agreement the record holds but the graph does not yet (``projected`` false: its graph
write failed, or it was recorded before migration 0013) is written by ``shouhu cases reproject`` (the
worker's ``reproject_pending`` runs the same code). The real command is killed (graph/crash.py) right
after the graph write, before the agreement is marked projected, and right after the mark; then run
again. Each must end as the uninterrupted catch-up does: one Agreement node, one entrusted
GUARDIAN_OF, the mark set, and the child's care arrangement ``entrusted_guardian``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from graph.model import node_id
from tests.survives_support import synced_children
from tests.test_connectors_support import graph_snapshot
from tests.test_record_survives import run

AGREEMENT = "agr0000000000000000000000000001"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A synced county whose record holds an entrustment of a left-behind child with no capable
    carer to a capable adult of the child's village, not yet in the graph: (data dir, child,
    guardian). Person ids are drawn at random, so neither the child nor the adult is chosen by
    place in the id order alone: the child is the first whose village has a capable adult who is
    not its parent (a small county has villages without one), the adult the first such."""
    from graph.ladybug import LadybugStore
    from kernel.db import make_engine, session
    from protection.case_tables import GuardianshipAgreement

    data, children = synced_children(tmp_path_factory, "agreement-survives")
    nodes, _ = graph_snapshot(data / "graph.lbug")
    store = LadybugStore(data / "graph.lbug", 256)
    try:
        for child, division in children:
            parents = sorted(
                n.id for n in store.neighbourhood(child, 1, ("PARENT_OF",)).nodes.values() if n.id != child
            )
            adults = _capable_adults(nodes, division, parents)
            if adults:
                break
    finally:
        store.close()
    assert adults, children
    today = date.today()
    engine = make_engine(f"sqlite:///{data / 'shouhu.sqlite3'}")
    with session(engine) as s:
        s.add(
            GuardianshipAgreement(
                id=AGREEMENT,
                kind="entrustment",
                child_id=child,
                division=division,
                parent_ids=parents,
                guardian_id=adults[0],
                signed_on=today,
                valid_from=today,
                valid_to=today + timedelta(days=365),
                recorded_by="village-test",
                projected=False,
            )
        )
        s.commit()
    engine.dispose()
    yield data, child, adults[0]


def _capable_adults(nodes: dict[str, dict[str, Any]], division: str, parents: list[str]) -> list[str]:
    """The people of the division who can take the child in: adults, alive, not its parents, and
    not without guardianship capacity (else the child rightly stays no_capable_carer)."""
    return sorted(
        i
        for i, p in nodes.items()
        if i.startswith("person:")
        and i not in parents
        and p.get("division") == division
        and (p.get("birth_date") or "9999") < "1990-01-01"
        and not p.get("deceased")
        and p.get("guardianship_capacity") is not False
    )


def _outcome(data: Path, child: str, guardian: str) -> dict[str, Any]:
    """What the catch-up left: the agreement's graph elements, its mark, the child's classification."""
    nodes, rels = graph_snapshot(data / "graph.lbug")
    agreement = node_id("Agreement", AGREEMENT)
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        (projected,) = conn.execute(
            "SELECT projected FROM guardianship_agreement WHERE id = ?", (AGREEMENT,)
        ).fetchone()
        (arrangement,) = conn.execute(
            "SELECT arrangement FROM child_classification WHERE person_id = ?", (child,)
        ).fetchone()
    mine = {i: r for i, r in rels.items() if agreement in i}  # COVERS and SIGNED
    entrusted = rels.get(f"GUARDIAN_OF:{guardian}>{child}")
    return {
        "agreement": nodes.get(agreement),
        "agreement_sources": len(json.loads(nodes[agreement]["sources"])) if agreement in nodes else 0,
        "agreement_rels": mine,
        "entrusted": entrusted,
        "projected": bool(projected),
        "arrangement": arrangement,
    }


@pytest.fixture(scope="module")
def uninterrupted(
    recorded: tuple[Path, str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """What the uninterrupted catch-up leaves (a copy of the record, ``shouhu cases reproject`` run
    once): the same for every kill point, so run once for them all."""
    base, child, guardian = recorded
    clean = tmp_path_factory.mktemp("agreement-clean") / "clean"
    shutil.copytree(base, clean)
    done = run(["cases", "reproject"], clean)
    assert done.returncode == 0, done.stderr
    return _outcome(clean, child, guardian)


@pytest.mark.parametrize("point", ["agreement.graph_written", "agreement.projected"])
def test_a_kill_during_an_agreements_catch_up_ends_as_the_uninterrupted_one(
    recorded: tuple[Path, str, str], uninterrupted: dict[str, Any], tmp_path: Path, point: str
) -> None:
    base, child, guardian = recorded
    crashed = tmp_path / "crashed"
    shutil.copytree(base, crashed)

    expected = uninterrupted
    assert expected["agreement"] and expected["agreement_sources"] == 1 and expected["projected"], expected
    assert expected["entrusted"] and expected["entrusted"]["kind"] == "entrusted", expected
    assert len(json.loads(expected["entrusted"]["sources"])) == 1, expected
    assert expected["arrangement"] == "entrusted_guardian", expected

    killed = run(["cases", "reproject"], crashed, crash=point)
    assert killed.returncode == -9, (killed.returncode, killed.stderr)  # really died there
    again = run(["cases", "reproject"], crashed)  # the store opens and catches up
    assert again.returncode == 0, again.stderr
    assert _outcome(crashed, child, guardian) == expected
    verify = run(["graph", "verify"], crashed)
    assert verify.returncode == 0, verify.stdout + verify.stderr
