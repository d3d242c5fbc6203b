"""Group commit of audit entries: concurrent requests share one transaction (one fsync), and no
request is answered before the transaction holding its entry has committed.

The kill test runs the real app in its own process, reads child profiles from several threads and
SIGKILLs the server in the middle: every request that got its answer must have its entry in the
database afterwards (the entry is named by the request's operation name).
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from auth.audit import AuditEvent, AuditLog, AuditUnavailable
from auth.identities import issue_token_for_client
from kernel.db import make_engine, migrate
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, register
from tests.contract.test_graph_store import family

ROOT = Path(__file__).resolve().parents[1]


def _event(i: int, request_id: str | None = None) -> AuditEvent:
    return AuditEvent(
        operation=f"query Q{i}",
        decision="allow",
        status=200,
        request_id=request_id or f"r{i:06d}",
        agency_id="ps-500101",
        records=[f"person:p{i}"],
        result_size=1,
    )


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    migrate(engine)
    return AuditLog(engine)


def _queue_while_locked(log: AuditLog, events: list[AuditEvent]) -> dict[str, int | BaseException]:
    """Start one appender per event while the chain lock is held (as while an fsync is under way),
    let them all queue, then release the lock; each request id with its seq or its error."""
    results: dict[str, int | BaseException] = {}

    def one(ev: AuditEvent) -> None:
        try:
            results[str(ev.request_id)] = log.append(ev)
        except BaseException as exc:  # recorded for the assertion
            results[str(ev.request_id)] = exc

    group = log._group
    threads = [threading.Thread(target=one, args=(ev,)) for ev in events]
    with group.lock:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(group._queue) < len(events) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(group._queue) == len(events)
    for t in threads:
        t.join(timeout=30)
    return results


def test_entries_queued_during_a_commit_share_the_next_transaction(log: AuditLog) -> None:
    first = log.append(_event(0))
    before = log._group.batches
    results = _queue_while_locked(log, [_event(i) for i in range(1, 13)])
    seqs = sorted(v for v in results.values() if isinstance(v, int))
    assert seqs == list(range(first + 1, first + 13))
    # The first waiter to get the lock wrote all twelve: one transaction, not twelve.
    assert log._group.batches - before == 1
    result = log.verify()
    assert result.ok and result.checked == 13
    # Each appender got the seq of its own entry.
    engine = log.engine
    with engine.connect() as conn:
        by_request = dict(conn.exec_driver_sql("SELECT request_id, seq FROM audit_entry").fetchall())
    for request_id, seq in results.items():
        assert by_request[request_id] == seq


def test_an_entry_the_store_refuses_does_not_refuse_the_others_in_its_batch(
    log: AuditLog, tmp_path: Path
) -> None:
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    db.execute(
        "CREATE TRIGGER refuse_one BEFORE INSERT ON audit_entry WHEN NEW.request_id = 'refused' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    db.commit()
    db.close()
    events = [_event(i) for i in range(6)] + [_event(99, request_id="refused")]
    results = _queue_while_locked(log, events)
    assert isinstance(results.pop("refused"), AuditUnavailable)
    assert sorted(results.values()) == list(range(1, 7))  # type: ignore[type-var]
    assert log.verify().ok


def test_the_writer_connection_survives_a_failed_commit(log: AuditLog, tmp_path: Path) -> None:
    """A write that fails leaves no half-open transaction behind: the next append works."""
    log.append(_event(1))
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    db.execute("CREATE TRIGGER refuse_all BEFORE INSERT ON audit_entry BEGIN SELECT RAISE(ABORT, 'no'); END")
    db.commit()
    with pytest.raises(AuditUnavailable):
        log.append(_event(2))
    db.execute("DROP TRIGGER refuse_all")
    db.commit()
    db.close()
    assert log.append(_event(3)) == 2
    assert log.verify().ok


def test_the_log_fsyncs_every_commit(log: AuditLog) -> None:
    """What makes an acknowledged entry survive power loss: WAL with synchronous=FULL (2) on the
    connection the entries are written through (the engine's other connections keep NORMAL)."""
    log.append(_event(1))
    raw = log._raw
    assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ------------------------------------------------------------------------------- kill the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = (
    "import sys, uvicorn\n"
    "from api.app import create_app\n"
    "from kernel.settings import get_settings\n"
    "uvicorn.run(create_app(get_settings()), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"
)


def test_every_answered_request_has_its_entry_after_sigkill(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=256, rate_limit_per_minute=0)
    secrets = register(settings, {"police": AGENCIES["police"]}, family)
    engine = make_engine(settings.sql_url)
    token = issue_token_for_client(engine, settings, secrets["police"][0]).access_token
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SHOUHU_DATA_DIR": str(settings.data_dir),
        "SHOUHU_GRAPH_BUFFER_POOL_MB": "256",
        "SHOUHU_RATE_LIMIT_PER_MINUTE": "0",
    }
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        answered: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def reader(k: int) -> None:
            headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "case_work"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    name = f"Q{k}x{i}"
                    query = f'query {name} {{ person(id: "person:child") {{ id name }} }}'
                    try:
                        r = client.post("/graphql", json={"query": query})
                    except httpx.TransportError:
                        return  # the server is gone
                    if r.status_code == 200 and (r.json().get("data") or {}).get("person"):
                        with lock:
                            answered.append(f"query {name}")

        threads = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(answered) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # in the middle of the burst
        server.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert len(answered) >= 60, len(answered)
    db = sqlite3.connect(settings.sql_url.removeprefix("sqlite:///"))
    try:
        logged = {op for (op,) in db.execute("SELECT operation FROM audit_entry")}
    finally:
        db.close()
    missing = [op for op in answered if op not in logged]
    assert not missing, f"{len(missing)} of {len(answered)} answered requests have no entry: {missing[:5]}"
    engine = make_engine(settings.sql_url)
    try:
        assert AuditLog(engine).verify().ok
    finally:
        engine.dispose()
