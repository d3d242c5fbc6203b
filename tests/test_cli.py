"""The `shouhu` command as an operator runs it: real subprocesses, real stores in a temp dir."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SHOUHU = [sys.executable, "-m", "shouhu.cli"]


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SHOUHU + args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {**clean, "SHOUHU_DATA_DIR": str(tmp_path / "data"), "SHOUHU_GRAPH_BUFFER_POOL_MB": "256"}


def test_init_creates_both_stores_and_is_idempotent(env: dict[str, str], tmp_path: Path) -> None:
    first = run(["init"], env)
    assert first.returncode == 0, first.stderr
    assert "已就绪" in first.stdout
    assert (tmp_path / "data" / "shouhu.sqlite3").exists()
    assert (tmp_path / "data" / "graph.lbug").exists()
    assert run(["init"], env).returncode == 0


def test_graph_stats_counts_every_kind(env: dict[str, str]) -> None:
    out = run(["graph", "stats", "--json"], env)
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["nodes"]["Person"] == 0
    assert "GUARDIAN_OF" in stats["relationships"]
    table = run(["graph", "stats"], env)
    assert "Person" in table.stdout


def test_unwritable_data_dir_is_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env["SHOUHU_DATA_DIR"] = str(blocker / "data")
    out = run(["init"], env)
    assert out.returncode == 2
    assert "数据目录" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) == 1


def test_unreachable_neo4j_names_the_uri_and_cause(env: dict[str, str]) -> None:
    env["SHOUHU_NEO4J_URI"] = "bolt://127.0.0.1:1"
    env["SHOUHU_NEO4J_PASSWORD"] = "hunter2-secret"
    out = run(["graph", "stats"], env)
    assert out.returncode == 2
    assert "bolt://127.0.0.1:1" in out.stderr
    assert "hunter2-secret" not in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_unreachable_database_is_one_clear_line(env: dict[str, str]) -> None:
    env["SHOUHU_DATABASE_URL"] = "postgresql+psycopg://postgres:pw-secret@127.0.0.1:1/shouhu"
    out = run(["init"], env)
    assert out.returncode == 2
    assert "127.0.0.1:1" in out.stderr
    assert "pw-secret" not in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_serve_refuses_a_broken_policy_file_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    from auth.policy import DEFAULT_PATH

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert text.count('\nicd10 = "health"\n') == 1
    broken = tmp_path / "policy.toml"
    broken.write_text(text.replace('\nicd10 = "health"\n', '\nicd10 = ["health"]\n'), encoding="utf-8")
    env["SHOUHU_POLICY_FILE"] = str(broken)
    out = run(["serve", "--port", str(_free_port())], env)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert out.stderr.startswith(f"错误：策略文件 {broken} 中 sensitivity.HealthEvent.icd10："), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_on_loopback(env: dict[str, str]) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*SHOUHU, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read() if proc.stdout else ""
                    raise AssertionError(f"server did not come up: {output}") from None
                time.sleep(0.3)
        assert r.status_code == 200
        assert r.json() == {"status": "ok", "backend": "ladybug", "graph": "ok", "sql": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_demo_identities_print_a_console_sign_in_that_works_and_stays_the_same(
    env: dict[str, str], tmp_path: Path
) -> None:
    import re

    from starlette.testclient import TestClient

    from api.app import create_app
    from kernel.settings import Settings

    first = run(["demo", "identities"], env)
    assert first.returncode == 0, first.stderr
    pairs = re.findall(r"client id (\S+)\n  secret    (\S+)", first.stdout)
    assert len(pairs) >= 10
    again = run(["demo", "identities"], env)
    assert re.findall(r"client id (\S+)\n  secret    (\S+)", again.stdout) == pairs  # not new clients
    saved = Path(env["SHOUHU_DATA_DIR"]) / "demo-clients.json"
    assert saved.stat().st_mode & 0o077 == 0  # owner only
    with TestClient(create_app(Settings(data_dir=Path(env["SHOUHU_DATA_DIR"])))) as client:
        for client_id, secret in pairs:
            r = client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            assert r.status_code == 200, r.text


def test_a_database_that_cannot_be_opened_is_said_in_the_operators_language(
    env: dict[str, str], tmp_path: Path
) -> None:
    """SHOUHU_DATABASE_URL naming a directory: one line on stderr, exit 2, in the catalogue's words
    (the frame and the database's description were English inside the Chinese 错误： before)."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    expected = {
        "zh-CN": f"错误：无法打开 SQLite 数据库 {folder}：该路径是目录，不是数据库文件",
        "en": f"error: cannot open SQLite database {folder}: the path is a directory, not a database file",
    }
    for language, line in expected.items():
        out = run(
            ["token", "--client-id", "x"],
            {**env, "SHOUHU_DATABASE_URL": f"sqlite:///{folder}", "SHOUHU_LANGUAGE": language},
        )
        assert out.returncode == 2, out.stderr
        assert " ".join(out.stderr.split()) == line, out.stderr
