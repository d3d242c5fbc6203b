"""Shared by the kill tests of the graph catch-up (tests/test_*_survives.py): a synced county and a
left-behind child of it with no capable carer, whose record the test then changes behind the graph."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_record_survives import run

PERSONS = 300
SEED = 13


def synced_children(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> tuple[Path, list[tuple[str, str]]]:
    """A county generated and synced by ``shouhu sync`` into a fresh data dir, and its children
    classified ``no_capable_carer`` by id: (data dir, [(child, the child's division)]). Person ids
    are drawn at random, so which child comes first differs from run to run."""
    from connectors.synthetic import generate

    root = tmp_path_factory.mktemp(name)
    generate(root / "county", PERSONS, SEED)
    data = root / "data"
    done = run(["sync", "--from", str(root / "county")], data)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        children = [
            (p, d)
            for p, d in conn.execute(
                "SELECT person_id, division FROM child_classification "
                "WHERE arrangement = 'no_capable_carer' ORDER BY person_id"
            )
        ]
    assert children
    return data, children


def synced_child(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Path, str, str]:
    """The first of ``synced_children``: (data dir, child, the child's division)."""
    data, children = synced_children(tmp_path_factory, name)
    child, division = children[0]
    return data, child, division
