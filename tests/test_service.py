"""No command needs the server stopped: the real `shouhu serve` owns the stores, and `shouhu sync`,
`graph stats`, `crosscheck`, `report quarterly`, `runs` and `quarantine list` run against the same
data directory through its operator socket while agencies' profile reads go on, all without an error.

The county is small and synced once for the module (the register only); the rest of the sources are
left to the service: its connector schedule picks them up on start (never synced, so due), and the
operator's `shouhu sync` then runs beside it. Real subprocesses, real stores under tmp_path.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service_support import SCOPES, start_readers, stop_readers

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
PERSONS = 80
COUNTY = "500248000000"
ISSUER = "http://127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {
        **clean,
        "SHOUHU_DATA_DIR": str(data),
        "SHOUHU_GRAPH_BUFFER_POOL_MB": "256",
        "SHOUHU_TOKEN_ISSUER": ISSUER,
        "SHOUHU_RATE_LIMIT_PER_MINUTE": "0",
        "SHOUHU_WEBHOOK_POLL_SECONDS": "0.5",
    }


def run(args: list[str], data: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SHOUHU + args, env=_env(data), capture_output=True, text=True, timeout=timeout)


def register_county(root: Path, persons: int, seed: int, client: str) -> dict[str, Any]:
    """A county export under ``root``, its register synced into a data directory, a police client
    of the county, and the ids of the people to read: the service tests' county."""
    from auth.identities import add_agency, add_client
    from connectors.pipeline import Pipeline
    from connectors.sources import load_config
    from connectors.synthetic import generate
    from graph.ladybug import LadybugStore
    from kernel.db import make_engine, migrate
    from kernel.settings import Settings

    export, data = root / "county", root / "data"
    generate(export, persons, seed)
    settings = Settings(data_dir=data, token_issuer=ISSUER)
    data.mkdir()
    engine = make_engine(settings.sql_url)
    migrate(engine)
    graph = LadybugStore(settings.graph_path, 256)
    graph.init_schema()
    try:
        assert Pipeline(engine, graph, load_config(data, export)).sync(["police_hukou"]).ok
        _, rels = graph.dump()
        # People in a household of the county (the register also lists the dead, who belong to none
        # and so to no one's scope).
        people = sorted({r["src"] for r in rels["MEMBER_OF"]})
        add_agency(
            engine, agency_id="ps-500248", name="县公安局", agency_type="public_security", jurisdiction=COUNTY
        )
        credentials = add_client(engine, agency_id="ps-500248", role="officer", scopes=SCOPES, name=client)
    finally:
        graph.close()
        engine.dispose()
    return {"export": export, "data": data, "people": people, "credentials": credentials}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The service tests' county, with a schedule."""
    made = register_county(tmp_path_factory.mktemp("service"), PERSONS, 5, "service test")
    export, data = made["export"], made["data"]
    # The schedule: every source of this export, hourly. Only the register has run, so the service
    # finds the other four due as soon as it starts.
    (data / "connectors.toml").write_text(f'export_dir = "{export}"\n', encoding="utf-8")
    return made


def _start(data: Path, log_name: str = "serve.log") -> dict[str, Any]:
    """The real `shouhu serve` on a free loopback port, once its API and operator socket answer. The
    port may be taken between choosing and binding it (other test runs on this machine): the service
    then exits, and is started again on another port. The API must answer from our process (an
    unrelated server on the port would answer /health too) and the socket must accept connections."""
    from kernel.settings import Settings
    from shouhu.service.client import service_answers

    for _attempt in range(3):
        port = _free_port()
        log = open(data.parent / log_name, "w+")  # noqa: SIM115 - read after the process ends
        proc = subprocess.Popen(
            [*SHOUHU, "serve", "--port", str(port)],
            env=_env(data),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if _listens(proc.pid, port) and service_answers(Settings(data_dir=data)) and _healthy(base):
                return {"base": base, "proc": proc, "log": log, "data": data}
            time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        log.seek(0)
        output = log.read()
        log.close()
        if "address already in use" not in output:
            raise AssertionError(f"service did not come up: {output}")
    raise AssertionError("service did not come up: no free port in three tries")


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the socket listening on loopback ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in list(fh)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    fds = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        return any(os.readlink(fd).removeprefix("socket:[").rstrip("]") in inodes for fd in fds.iterdir())
    return False


def _stop(state: dict[str, Any]) -> None:
    proc: subprocess.Popen[str] = state["proc"]
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=60)
    state["log"].close()


@pytest.fixture(scope="module")
def service(county: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The real `shouhu serve`, stopped with SIGTERM at the end (one test stops it itself), once its
    schedule has started the sync of the sources found due on start: a test's own sync submitted
    before the schedule's first round (a busy machine) took the turn, and the schedule then found
    nothing due."""
    state = _start(county["data"])
    try:
        _wait_for_schedule(state)
        yield state
    finally:
        _stop(state)


def _wait_for_schedule(state: dict[str, Any], timeout: float = 120) -> None:
    log = Path(state["log"].name)
    deadline = time.monotonic() + timeout
    while "scheduled sync:" not in log.read_text(encoding="utf-8"):
        if state["proc"].poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the schedule started no sync: {log.read_text(encoding='utf-8')[-2000:]}")
        time.sleep(0.2)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _audited(data: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(f"file:{data / 'shouhu.sqlite3'}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(
            "SELECT operation, decision, status FROM audit_entry "
            "WHERE operation LIKE 'operator.%' ORDER BY seq"
        ).fetchall()


def test_every_command_runs_beside_the_serving_api_and_goes_through_it(
    county: dict[str, Any], service: dict[str, Any]
) -> None:
    data: Path = county["data"]
    readers, until = start_readers(service["base"], county["credentials"], county["people"], 1)
    out = data.parent / "q.csv"
    commands = {
        "sync": ["sync", "--from", str(county["export"]), "--json"],
        "stats": ["graph", "stats", "--json"],
        "crosscheck": ["crosscheck", "--json"],
        "quarterly": ["report", "quarterly", "--division", COUNTY, "--out", str(out)],
    }
    try:
        # All at once, while the schedule's sync of the sources found due on start is running.
        with ThreadPoolExecutor(len(commands)) as pool:
            done = {name: pool.submit(run, args, data) for name, args in commands.items()}
            results = {name: f.result() for name, f in done.items()}
    finally:
        stop_readers(readers, until)
    for name, result in results.items():
        assert result.returncode == 0, (name, result.stderr)
    assert json.loads(results["sync"].stdout)["total"]["unexplained"] == 0
    stats = json.loads(results["stats"].stdout)
    assert stats["nodes"]["Person"] >= len(county["people"])
    assert json.loads(results["crosscheck"].stdout)["children"] > 0
    assert "季度报告" in results["quarterly"].stdout and out.read_bytes()
    for reader in readers:
        assert reader.errors == [], reader.errors[:3]
        assert reader.ok > 0

    # The schedule synced what was due on start; the operator's calls are in the audit log.
    service["log"].flush()
    log = (data.parent / "serve.log").read_text()
    assert "scheduled sync: education, health, survey, police_incident" in log
    ops = [op for op, decision, status in _audited(data) if decision == "allow"]
    for op in ("operator.sync", "operator.graph_stats", "operator.crosscheck", "operator.periodic_report"):
        assert op in ops

    # Without the operator secret, nothing; and the refusal is audited too.
    with httpx.Client(
        transport=httpx.HTTPTransport(uds=str(data / "operator.sock")), base_url="http://shouhu", timeout=30
    ) as client:
        wrong = client.post("/ops/run/graph_stats", json={}, headers={"Authorization": "Bearer " + "0" * 64})
        assert wrong.status_code == 401 and "Person" not in wrong.text
        assert client.post("/ops/run/graph_stats", json={}).status_code == 401
    assert ("operator.graph_stats", "deny", 401) in _audited(data)
    assert (data / "operator.secret").stat().st_mode & 0o077 == 0
    assert (data / "operator.sock").stat().st_mode & 0o077 == 0

    # What the service says now, asked as the CLI asks, to compare with the direct path after the stop.
    from kernel.settings import Settings
    from shouhu.service.client import find_service

    client = find_service(Settings(data_dir=data))
    assert client is not None
    served = client.call("graph_stats", {})["stats"]

    # Stopped cleanly: socket gone, graph closed, and the direct path prints what the service did.
    proc: subprocess.Popen[str] = service["proc"]
    proc.terminate()
    # uvicorn re-raises the signal after its graceful shutdown: systemd counts that a clean stop.
    assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
    service["log"].flush()
    assert "background workers stopped" in (data.parent / "serve.log").read_text()
    assert not (data / "operator.sock").exists()
    direct = run(["graph", "stats", "--json"], data)
    assert direct.returncode == 0, direct.stderr
    assert json.loads(direct.stdout) == served
