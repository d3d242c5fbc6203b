"""The operator endpoint's door: only the holder of the data directory's operator secret gets an answer,
every call (refused ones too) is one audit entry, and the secret and socket are owner-only files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from graph.ladybug import LadybugStore
from kernel.db import make_engine, migrate
from kernel.messages import say
from kernel.settings import Settings
from shouhu.service.operator import OperatorEndpoint, bind_socket, ensure_secret
from shouhu.service.workers import Workers


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings.sql_url)
    migrate(engine)
    graph = LadybugStore(settings.graph_path, 64)
    graph.init_schema()
    secret = ensure_secret(settings)
    op = OperatorEndpoint(settings, engine, graph, Workers(settings, engine, graph), secret)
    try:
        with TestClient(op.app(), base_url="http://shouhu") as client:
            yield {"client": client, "secret": secret, "engine": engine, "settings": settings}
    finally:
        graph.close()
        engine.dispose()


def _entries(engine: Any) -> list[tuple[str, str, int, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT operation, decision, status, user FROM audit_entry ORDER BY seq"))
        return [tuple(r) for r in rows]


def test_only_the_secret_opens_it_and_every_call_is_audited(endpoint: dict[str, Any]) -> None:
    client: TestClient = endpoint["client"]
    good = {"Authorization": f"Bearer {endpoint['secret']}", "X-Operator-User": "shouhu"}
    for headers in ({}, {"Authorization": "Bearer " + "f" * 64}, {"Authorization": endpoint["secret"]}):
        r = client.post("/ops/run/graph_stats", json={}, headers=headers)
        assert r.status_code == 401 and "nodes" not in r.text
        assert r.json()["message"] == say("operator.bad_secret")  # the catalogue's words, one language
    r = client.post("/ops/run/graph_stats", json={}, headers=good)
    assert r.status_code == 200 and r.json()["stats"]["nodes"]["Person"] == 0
    bad = client.post("/ops/run/runs", json={"limit": 5, "drop_table": True}, headers=good)
    assert bad.status_code == 400 and bad.json()["exit_code"] == 2
    assert bad.json()["message"] == say("operator.bad_parameters", problem="TypeError")
    entries = _entries(endpoint["engine"])
    assert entries == [
        ("operator.graph_stats", "deny", 401, None),
        ("operator.graph_stats", "deny", 401, None),
        ("operator.graph_stats", "deny", 401, None),
        ("operator.graph_stats", "allow", 200, "shouhu"),
        ("operator.runs", "error", 400, "shouhu"),
    ]


def test_secret_and_socket_are_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = ensure_secret(settings)
    assert stat.S_IMODE((tmp_path / "operator.secret").stat().st_mode) == 0o600
    os.chmod(tmp_path / "operator.secret", 0o644)  # someone loosened it: made owner-only again
    assert ensure_secret(settings) == first
    assert stat.S_IMODE((tmp_path / "operator.secret").stat().st_mode) == 0o600
    sock = bind_socket(settings)
    try:
        assert stat.S_IMODE((tmp_path / "operator.sock").stat().st_mode) == 0o600
        with pytest.raises(RuntimeError, match="another service"):
            bind_socket(settings)  # a live service already answers there
    finally:
        sock.close()
    again = bind_socket(settings)  # a stale socket file (its service gone) is replaced
    again.close()


def test_a_sync_asked_with_a_batch_size_that_is_no_number_is_refused_not_failed(
    endpoint: dict[str, Any],
) -> None:
    """It answered 500 (int() raising inside the route); a parameter that is wrong is the caller's
    mistake, said as one: 400, the parameter named, nothing started, audited."""
    client: TestClient = endpoint["client"]
    good = {"Authorization": f"Bearer {endpoint['secret']}", "X-Operator-User": "shouhu"}
    for size in ("many", -5, 2.5):
        r = client.post("/ops/sync", json={"batch_size": size}, headers=good)
        assert r.status_code == 400, r.text
        assert r.json() == {"message": say("operator.bad_parameters", problem="batch_size"), "exit_code": 2}
    assert [e[:3] for e in _entries(endpoint["engine"])] == [("operator.sync", "error", 400)] * 3
