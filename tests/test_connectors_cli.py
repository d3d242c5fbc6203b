"""``shouhu sync`` and ``shouhu quarantine`` as an operator runs them: real subprocesses.

The crash test kills ``shouhu sync`` with SIGKILL in the middle (once while landing, once
while loading the graph), starts it again, and requires the graph to end up exactly as
an uninterrupted run leaves it: the same nodes and relationships with the same
properties and provenance, every record accounted for, none landed twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import test_connectors_support as support
from tests.test_connectors_support import canonical, graph_snapshot, truth_records

# The shared fixtures, made visible to pytest in this module.
county = support.county

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
BATCH = "400"  # small batches, so a kill can land between two graph commits


def _env(data: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHOUHU_") or k == "SHOUHU_CONNECTORS_RESOLVER"
    }
    return {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"}


def run(args: list[str], data: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SHOUHU + args, env=_env(data), capture_output=True, text=True, timeout=timeout)


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_sync_prints_the_report_and_stores_it(county: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = run(["sync", "--from", str(county)], data)
    assert out.returncode == 0, out.stderr
    assert "核对：接收" in out.stdout and "无法解释 0 ✓" in out.stdout
    assert "隔离原因：" in out.stdout
    for source in ("公安户籍", "教育学籍", "卫生健康", "村（居）摸底排查", "公安警情"):
        assert source in out.stdout

    again = run(["sync", "--from", str(county), "--json"], data)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["total"]["received"] == 0 and report["total"]["loaded"] == 0

    runs = run(["runs", "--json"], data)
    stored = [json.loads(line) for line in runs.stdout.splitlines()]
    assert len(stored) == 10 and all(r["unexplained"] == 0 for r in stored)


def test_quarantine_list_and_replay(county: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(["sync", "--from", str(county), "health"], data).returncode == 0
    listed = run(["quarantine", "list", "--json", "--limit", "0"], data)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    malformed = {
        r["record_id"] for r in truth_records(county) if r["system"] == "health" and r["malformed"] == "1"
    }
    assert malformed <= {r["record_id"] for r in rows}
    assert all(r["reason_code"] and r["reason"] for r in rows)

    table = run(["quarantine", "list", "--source", "health", "--reason", "reference."], data)
    assert "reference.missing" in table.stdout

    shown = run(["quarantine", "show", str(rows[0]["seq"])], data)
    assert shown.returncode == 0 and rows[0]["record_id"] in shown.stdout

    replay = run(["quarantine", "replay", "--source", "health", "--json"], data)
    assert replay.returncode == 0, replay.stderr
    report = json.loads(replay.stdout)
    assert report["kind"] == "replay"
    # Re-validated against the reference tables the sync used (remembered, no --from needed).
    assert report["reference"]["loaded"] is True
    assert report["total"]["resumed"] == len(rows)
    assert report["total"]["quarantined"] == len(rows) and report["total"]["unexplained"] == 0


def test_unknown_source_and_bad_config_are_one_line(county: Path, tmp_path: Path) -> None:
    out = run(["sync", "--from", str(county), "hospital"], tmp_path / "data")
    assert out.returncode == 2 and "未知来源 'hospital'" in out.stderr and "Traceback" not in out.stderr
    cfg = tmp_path / "connectors.toml"
    cfg.write_text("[sources.pharmacy]\npath = '/x'\n")
    env_out = subprocess.run(
        [*SHOUHU, "sync"],
        env={**_env(tmp_path / "data"), "SHOUHU_CONNECTORS_FILE": str(cfg)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert env_out.returncode == 2 and "未知来源 pharmacy" in env_out.stderr


def _kill_when(proc: subprocess.Popen[str], db: Path, sql: str, threshold: int, limit_s: float = 240) -> int:
    """SIGKILL ``proc`` as soon as ``sql`` counts at least ``threshold``; the count seen."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        n = _count(db, sql)
        if n >= threshold:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return n
        if proc.poll() is not None:
            detail = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"sync finished before it could be killed (count {n}): {detail}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("sync never reached the kill point")


@pytest.fixture(scope="module")
def uninterrupted(county: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The uninterrupted run every killed one is compared with, once for the module (only read): its
    data directory, its report and its graph."""
    clean = tmp_path_factory.mktemp("uninterrupted") / "clean"
    done = run(["sync", "--from", str(county), "--batch-size", BATCH, "--json"], clean)
    assert done.returncode == 0, done.stderr
    graph = canonical(*graph_snapshot(clean / "graph.lbug"))
    return {"data": clean, "report": json.loads(done.stdout), "graph": graph}


@pytest.mark.parametrize(("phase", "loaded"), [("landing", 0), ("graph", 1500), ("graph", 3500)])
def test_sigkill_mid_sync_then_rerun_equals_an_uninterrupted_run(
    county: Path, uninterrupted: dict[str, Any], tmp_path: Path, phase: str, loaded: int
) -> None:
    clean, crashed = uninterrupted["data"], tmp_path / "crashed"
    clean_report = uninterrupted["report"]

    proc = subprocess.Popen(
        [*SHOUHU, "sync", "--from", str(county), "--batch-size", BATCH],
        env=_env(crashed),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = crashed / "shouhu.sqlite3"
    if phase == "landing":
        seen = _kill_when(proc, db, "SELECT count(*) FROM landing_record", 1)
        assert _count(db, "SELECT count(*) FROM landing_record WHERE status <> 'pending'") == 0
    else:
        seen = _kill_when(proc, db, "SELECT count(*) FROM landing_record WHERE status = 'loaded'", loaded)
    assert proc.returncode == -signal.SIGKILL
    total = clean_report["total"]["received"]
    assert 0 < seen < total
    assert _count(db, "SELECT count(*) FROM sync_run WHERE status = 'running'") > 0

    resumed = run(["sync", "--from", str(county), "--batch-size", BATCH, "--json"], crashed)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["total"]["unexplained"] == 0
    assert _count(db, "SELECT count(*) FROM sync_run WHERE status = 'interrupted'") > 0

    # No record lost, none landed twice: one row per record version, none left pending,
    # the same loaded/quarantined split as the clean run.
    for where in (clean, crashed):
        d = where / "shouhu.sqlite3"
        assert _count(d, "SELECT count(*) FROM landing_record") == total
        assert _count(d, "SELECT count(DISTINCT source || '|' || record_id) FROM landing_record") == total
        assert _count(d, "SELECT count(*) FROM landing_record WHERE status = 'pending'") == 0
    for status in ("loaded", "quarantined"):
        sql = f"SELECT count(*) FROM landing_record WHERE status = '{status}'"
        assert _count(clean / "shouhu.sqlite3", sql) == _count(db, sql), status

    clean_nodes, clean_rels = uninterrupted["graph"]
    nodes, rels = canonical(*graph_snapshot(crashed / "graph.lbug"))
    assert set(nodes) == set(clean_nodes)
    assert set(rels) == set(clean_rels)
    assert nodes == clean_nodes
    assert rels == clean_rels


def test_a_connectors_file_that_is_not_toml_is_said_in_the_operators_language(tmp_path: Path) -> None:
    """`shouhu sync` with a broken connectors file: one line naming the file and where it breaks,
    in Chinese or English (tomllib's English reason was printed inside the Chinese line before)."""
    cfg = tmp_path / "connectors.toml"
    cfg.write_text("[sources\n", encoding="utf-8")
    expected = {
        "zh-CN": f"错误：接口配置文件 {cfg} 有误：不是有效的 TOML：第 1 行第 9 列附近格式有误",
        "en": f"error: connectors file {cfg}: not valid TOML near line 1, column 9",
    }
    for language, line in expected.items():
        env = {**_env(tmp_path / "data"), "SHOUHU_CONNECTORS_FILE": str(cfg), "SHOUHU_LANGUAGE": language}
        out = subprocess.run([*SHOUHU, "sync"], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, out.stderr
        assert " ".join(out.stderr.split()) == line, out.stderr
