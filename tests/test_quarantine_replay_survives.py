"""``shouhu quarantine replay`` killed (SIGKILL) part-way: every record it took out of quarantine is
loaded or back in quarantine once a replay runs again, none left behind unseen.

The replay takes the records to replay out of quarantine in one transaction (pending), then
processes them source by source; the kill comes after the first source's batch committed
(``batch.committed``), the other sources' records still pending.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.test_record_survives import run


def _statuses(data: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{data / 'shouhu.sqlite3'}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM landing_record GROUP BY status").fetchall())


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    from connectors.synthetic import generate

    generate(tmp_path / "county", 300, 7)
    data = tmp_path / "data"
    done = run(["sync", "--from", str(tmp_path / "county")], data)
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        sources = conn.execute(
            "SELECT count(DISTINCT source) FROM landing_record WHERE status = 'quarantined'"
        )
        assert sources.fetchone()[0] >= 2  # the kill leaves a source behind
    return data


def test_a_replay_killed_part_way_leaves_no_record_out_of_quarantine_and_unloaded(synced: Path) -> None:
    """The records of the sources the killed replay had not reached stayed pending: out of the
    quarantine list, and the next replay took only what was still quarantined."""
    held = _statuses(synced)["quarantined"]
    killed = run(["quarantine", "replay"], synced, crash="batch.committed:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert _statuses(synced).get("pending", 0) > 0
    again = run(["quarantine", "replay", "--json"], synced)
    assert again.returncode == 0, again.stderr[-2000:]
    after = _statuses(synced)
    assert after.get("pending", 0) == 0, after
    report = json.loads(again.stdout)
    for rep in report["sources"]:
        assert rep["status"] == "completed" and rep["unexplained"] == 0, rep
    # What the two replays gave back is all loaded or quarantined again (nothing loads on replay
    # here: the county's records fail for what they hold).
    assert after["quarantined"] == held, (held, after)
    audit = run(["audit", "verify"], synced)
    assert audit.returncode == 0, audit.stderr


def _entries(data: Path, operation: str) -> int:
    with sqlite3.connect(f"file:{data / 'shouhu.sqlite3'}?mode=ro", uri=True) as conn:
        return int(
            conn.execute("SELECT count(*) FROM audit_entry WHERE operation = ?", (operation,)).fetchone()[0]
        )


def test_a_dismissal_killed_before_it_commits_is_neither_done_nor_recorded(synced: Path) -> None:
    """Killed with the dismissal's audit entry written in its transaction, not committed: the record
    is still quarantined and no entry claims otherwise; dismissed again, both are there."""
    with sqlite3.connect(synced / "shouhu.sqlite3") as conn:
        (seq,) = conn.execute("SELECT min(seq) FROM landing_record WHERE status = 'quarantined'").fetchone()
    args = ["quarantine", "dismiss", str(seq), "--reason", "重复导出", "--by", "县民政局"]
    killed = run(args, synced, crash="audit.change_entry")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert _entries(synced, "quarantine.dismiss") == 0
    with sqlite3.connect(synced / "shouhu.sqlite3") as conn:
        assert conn.execute("SELECT status FROM landing_record WHERE seq = ?", (seq,)).fetchone() == (
            "quarantined",
        )
    assert run(["audit", "verify"], synced).returncode == 0
    done = run(args, synced)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _entries(synced, "quarantine.dismiss") == 1
    assert run(["audit", "verify"], synced).returncode == 0
