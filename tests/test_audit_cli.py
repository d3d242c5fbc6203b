"""`shouhu audit verify` and `shouhu audit export` as an operator runs them: subprocesses, a temp data dir."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auth.audit import AuditEvent, AuditLog, read_csv, read_jsonl, verify_rows
from kernel.db import make_engine

SHOUHU = [sys.executable, "-m", "shouhu.cli"]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SHOUHU + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory prepared once by `shouhu init` (copied per test: init opens the graph, slowly)."""
    data = tmp_path_factory.mktemp("init") / "data"
    out = run(["init"], _env(data))
    assert out.returncode == 0, out.stderr
    return data


def _env(data: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {**clean, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"}


@pytest.fixture
def data_dir(initialised: Path, tmp_path: Path) -> Path:
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy2(initialised / "shouhu.sqlite3", data / "shouhu.sqlite3")
    return data


@pytest.fixture
def env(data_dir: Path) -> dict[str, str]:
    return _env(data_dir)


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{(data_dir / 'shouhu.sqlite3').as_posix()}")
    yield eng
    eng.dispose()


def fill(engine: Engine, n: int = 6) -> None:
    AuditLog(engine).append_many(
        AuditEvent(
            operation="query ChildProfile",
            decision="allow" if i % 3 else "partial",
            status=200,
            client_id="c1",
            agency_id="edu-1" if i % 2 else "ca-1",
            agency_type="education" if i % 2 else "civil_affairs",
            role="caseworker",
            records=[f"person:p{i}"],
            fields={"allow": ["Person.sex"], **({} if i % 3 else {"deny": ["Person.id_number"]})},
            result_size=1,
            at=T0 + timedelta(hours=i),
        )
        for i in range(n)
    )


def test_verify_intact_chain(env: dict[str, str], engine: Engine) -> None:
    fill(engine)
    out = run(["audit", "verify"], env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "审计链完整：共 6 条"
    assert lines[1].startswith("链头：6:")
    anchor = lines[1].removeprefix("链头：")
    assert run(["audit", "verify", "--anchor", anchor], env).returncode == 0

    with engine.begin() as conn:  # someone with DDL rights removes the newest entry
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")
        conn.exec_driver_sql("DROP TRIGGER audit_record_no_delete")
        conn.exec_driver_sql("DELETE FROM audit_record WHERE seq = 6")
        conn.exec_driver_sql("DELETE FROM audit_entry WHERE seq = 6")
    assert run(["audit", "verify"], env).returncode == 0  # invisible without the anchor
    out = run(["audit", "verify", "--anchor", anchor], env)
    assert out.returncode == 1
    assert out.stdout == "审计链在第 6 条断开：审计链被截短：锚点指向第 6 条，而链只到第 5 条\n"
    bad = run(["audit", "verify", "--anchor", "six"], env)
    assert bad.returncode == 2 and "SEQ:HASH" in bad.stderr


def test_verify_empty_log(env: dict[str, str]) -> None:
    out = run(["audit", "verify"], env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "审计链完整：共 0 条"


def test_verify_names_the_broken_entry(env: dict[str, str], engine: Engine) -> None:
    fill(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        conn.exec_driver_sql("UPDATE audit_entry SET decision = 'deny' WHERE seq = 4")
    out = run(["audit", "verify", "--batch", "2"], env)
    assert out.returncode == 1
    assert out.stdout == "审计链在第 4 条断开：此条记录被修改过：内容与其摘要不符\n"


def test_an_unreadable_log_is_said_in_chinese(env: dict[str, str], engine: Engine) -> None:
    """The audit store failing under ``verify`` (a column gone, as a botched manual change leaves
    it): one line in the catalogue's Chinese with the driver's reason (it was English after 错误：)."""
    from kernel.db import describe

    fill(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_entry RENAME COLUMN hash TO hash_gone")
    out = run(["audit", "verify"], env)
    assert out.returncode == 2, out.stderr
    where = describe(engine.url)
    assert (
        " ".join(out.stderr.split())
        == f"错误：无法读取 {where} 中的审计日志：no such column: audit_entry.hash"
    )


def test_export_jsonl_to_stdout_round_trips(env: dict[str, str], engine: Engine) -> None:
    fill(engine)
    out = run(["audit", "export", "--format", "jsonl"], env)
    assert out.returncode == 0, out.stderr
    rows = list(read_jsonl(io.StringIO(out.stdout)))
    assert rows == list(AuditLog(engine).iter_rows())
    assert verify_rows(rows).ok and verify_rows(rows).checked == 6


def test_export_csv_to_a_file_with_filters(env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    fill(engine)
    target = tmp_path / "out" / "audit.csv"
    target.parent.mkdir()
    out = run(
        [
            "audit", "export", "--format", "csv", "--agency", "edu-1",
            "--since", "2026-03-02T17:00+08:00", "--until", "2026-03-02T13:00:00Z", "--out", str(target),
        ],
        env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "已导出 2 条" in out.stderr
    text = target.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    assert header[:3] == ["seq", "at", "request_id"] and header[-1] == "hash"
    rows = list(read_csv(io.StringIO(text)))
    assert [r["seq"] for r in rows] == [2, 4]  # edu-1 at 09:00Z and 11:00Z
    assert rows[0]["records"] == ["person:p1"] and rows[0]["fields"] == {"allow": ["Person.sex"]}
    assert verify_rows(rows, complete=False).ok
    whole = run(["audit", "export", "--format", "csv"], env)
    assert verify_rows(read_csv(io.StringIO(whole.stdout))).checked == 6
    assert json.loads(json.dumps(rows))  # plain JSON types throughout


def test_naive_time_is_refused_in_one_line(env: dict[str, str]) -> None:
    out = run(["audit", "export", "--since", "2026-03-01"], env)
    assert out.returncode == 2
    assert "带时区" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr + out.stdout


def test_uninitialised_data_dir_says_run_init(tmp_path: Path) -> None:
    out = run(["audit", "verify"], _env(tmp_path / "empty"))
    assert out.returncode == 2
    assert "shouhu init" in out.stderr and "Traceback" not in out.stderr


def test_unreachable_database_is_one_clear_line(env: dict[str, str]) -> None:
    env["SHOUHU_DATABASE_URL"] = "postgresql+psycopg://postgres:pw-secret@127.0.0.1:1/shouhu"
    out = run(["audit", "export"], env)
    assert out.returncode == 2
    assert "127.0.0.1:1" in out.stderr and "pw-secret" not in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
