"""Scale-out mode: of several service processes on one PostgreSQL database exactly one runs the
background workers, chosen by an advisory lock; when it dies another takes over. Real processes
against the machine's real PostgreSQL (Neo4j, the other half of scale-out mode, is not available
here; the election needs only the relational store)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import fresh_pg_database

# A process that stands for election the way `shouhu serve` does and says what happens to it.
CANDIDATE = """
import sys, threading
from kernel.db import make_engine
from shouhu.service.election import Election
engine = make_engine(sys.argv[1])
e = Election(engine, lambda: print("elected", flush=True), lambda: print("lost", flush=True),
             retry_seconds=0.3)
e.start()
if not e.leader:
    print("standing by", flush=True)
sys.stdin.read()  # until the test closes stdin (a clean stop) or kills the process
e.stop()
print("stopped", flush=True)
"""


@pytest.fixture(scope="module")
def database(pg_admin_url: str) -> Iterator[str]:
    yield from fresh_pg_database(pg_admin_url)


def _start(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CANDIDATE, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )


def _line(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.stdout is None:
            break
        line = proc.stdout.readline()
        if line:
            return line.strip()
        if proc.poll() is not None:
            break
    err = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"no answer from the candidate: {err}")


def _holders(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    # this test's database only: the other test worker's services hold advisory locks of
                    # their own in theirs (counted cluster-wide, a fresh clone's run once saw 2)
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_one_leader_and_a_takeover_when_it_dies(database: str) -> None:
    first = _start(database)
    second = None
    try:
        assert _line(first) == "elected"
        second = _start(database)  # after the first has won: started together, either may win
        assert _line(second) == "standing by"
        assert _holders(database) == 1
        first.kill()  # no clean stop: the database ends its session, and with it the lock
        first.wait(timeout=10)
        assert _line(second, timeout=30) == "elected"
        assert _holders(database) == 1
        third = _start(database)
        try:
            assert _line(third) == "standing by"
        finally:
            third.kill()
            third.wait(timeout=10)
        second.stdin.close() if second.stdin else None
        assert _line(second) == "stopped"
        assert second.wait(timeout=10) == 0
        assert _holders(database) == 0  # a clean stop gives the lead up at once
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
