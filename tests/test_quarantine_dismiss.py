"""A whole file in quarantine (``file:<name>``: it could not be read) has a way out: it cannot be
replayed from the record (only its name, size and digest are kept), so ``quarantine replay`` says
what to do instead, and ``quarantine dismiss`` takes it off the list with who and why, audited.

Through the real CLI on a real unreadable FHIR bundle, as a county sends it cut off mid-file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env.update({"SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "64"})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(SHOUHU + args, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


def rows(data: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quarantine")
    (root / "export" / "health").mkdir(parents=True)
    (root / "export" / "health" / "broken.json").write_text(
        '{"resourceType":"Bundle","entry":[{"fullUrl":', encoding="utf-8"
    )
    done = run(["sync", "--from", str(root / "export"), "health"], root / "data")
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return root / "data"


def _listed(data: Path) -> list[dict[str, Any]]:
    done = run(["quarantine", "list", "--json"], data)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_a_whole_file_in_quarantine_is_dismissed_with_who_and_why_and_audited(data: Path) -> None:
    [entry] = _listed(data)
    assert entry["record_id"] == "file:broken.json" and entry["reason_code"] == "json.invalid"
    seq = str(entry["seq"])

    replayed = run(["quarantine", "replay", "--source", "health"], data)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert "无法从记录重放" in replayed.stderr and "quarantine dismiss" in replayed.stderr
    assert "file:broken.json" in replayed.stderr
    assert [e["record_id"] for e in _listed(data)] == ["file:broken.json"]  # still there

    no_reason = run(["quarantine", "dismiss", seq, "--reason", "  "], data)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    assert rows(data, "SELECT status FROM landing_record WHERE seq = ?", int(seq)) == [("quarantined",)]
    assert rows(data, "SELECT count(*) FROM quarantine_decision") == [(0,)]

    done = run(
        ["quarantine", "dismiss", seq, "--reason", "重复导出的文件，已由医院重新发送", "--by", "值班员"], data
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "已撤销隔离" in done.stdout and "整个文件" in done.stdout and "file:broken.json" in done.stdout
    assert _listed(data) == []
    assert rows(data, "SELECT status FROM landing_record WHERE seq = ?", int(seq)) == [("dismissed",)]
    assert rows(data, "SELECT record_id, action, decided_by, reason FROM quarantine_decision") == [
        ("file:broken.json", "dismissed", "值班员", "重复导出的文件，已由医院重新发送")
    ]
    audited = rows(
        data,
        "SELECT e.user, e.decision, e.reasons, r.record_id FROM audit_entry e "
        "JOIN audit_record r ON r.seq = e.seq WHERE e.operation = 'quarantine.dismiss'",
    )
    assert audited == [("值班员", "allow", '["quarantine.file"]', f"landing:{seq}")]
    chain = run(["audit", "verify"], data)
    assert chain.returncode == 0 and "审计链完整" in chain.stdout, chain.stdout + chain.stderr

    again = run(["quarantine", "dismiss", seq, "--reason", "再次撤销"], data)
    assert again.returncode == 2 and "只能撤销处于隔离状态的记录" in again.stderr and "已撤销" in again.stderr
