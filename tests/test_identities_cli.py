"""`shouhu agency|client|token|keys` as an operator runs them: real subprocesses, a temp data directory.

The token the CLI mints is then validated in-process against the same database, and the client the
CLI registers authenticates at the live token endpoint with the secret the CLI printed.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from auth.routes import AuthService
from kernel.db import make_engine
from kernel.settings import Settings
from tests.test_tokens import LiveServer, free_port, protected_app

SHOUHU = [sys.executable, "-m", "shouhu.cli"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(SHOUHU + args, env=env, capture_output=True, text=True, timeout=120)


def ok(args: list[str], env: dict[str, str]) -> str:
    out = run(args, env)
    assert out.returncode == 0, out.stderr
    assert "PRIVATE KEY" not in out.stdout + out.stderr
    return out.stdout


def one_line_error(out: subprocess.CompletedProcess[str], needle: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("错误：") and needle in lines[0], lines[0]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {**clean, "SHOUHU_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The CLI's own database, opened in-process (after the CLI has created it)."""
    eng = make_engine(f"sqlite:///{(tmp_path / 'data' / 'shouhu.sqlite3').as_posix()}")
    yield eng
    eng.dispose()


def add_agency(env: dict[str, str]) -> None:
    command = (
        "agency add --id civ-500101 --name 重庆市万州区民政局 --type civil_affairs"
        " --jurisdiction 500101000000 --institution WZ-FLY-01 --institution WZ-JZ-02"
    )
    assert "civ-500101" in ok(shlex.split(command), env)


def add_client(env: dict[str, str]) -> tuple[str, str]:
    command = "client add --agency civ-500101 --role caseworker --scopes 'read:child write:case'"
    command += " --name 个案管理系统"
    out = ok(shlex.split(command), env)
    fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
    return fields["client_id"], fields["client_secret"]


def test_agency_add_and_list(env: dict[str, str]) -> None:
    add_agency(env)
    listing = ok(["agency", "list"], env)
    assert (
        listing.strip() == "civ-500101\tcivil_affairs\t500101000000\tWZ-FLY-01,WZ-JZ-02\t重庆市万州区民政局"
    )
    row = json.loads(ok(["agency", "list", "--json"], env))
    assert row["id"] == "civ-500101" and row["institution_codes"] == ["WZ-FLY-01", "WZ-JZ-02"]


def test_client_add_prints_the_secret_once_and_token_validates(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    add_agency(env)
    client_id, secret = add_client(env)
    assert client_id.startswith("civ-500101-") and len(secret) >= 40
    listing = ok(["client", "list"], env)
    assert client_id in listing and secret not in listing

    token = ok(["token", "--client-id", client_id], env).strip()
    assert token.count(".") == 2
    principal = AuthService(Settings(data_dir=tmp_path / "data"), engine).validate(token)
    assert (principal.client_id, principal.agency_id, principal.agency_type, principal.role) == (
        client_id,
        "civ-500101",
        "civil_affairs",
        "caseworker",
    )
    assert principal.jurisdiction == "500101000000"
    assert principal.scopes == {"read:child", "write:case"}
    assert principal.institution_codes == {"WZ-FLY-01", "WZ-JZ-02"}

    narrowed = json.loads(ok(["token", "--client-id", client_id, "--scope", "read:child", "--json"], env))
    assert narrowed["scope"] == "read:child" and narrowed["token_type"] == "Bearer"


def test_the_printed_secret_works_at_the_token_endpoint(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    add_agency(env)
    client_id, secret = add_client(env)
    port = free_port()
    settings = Settings(data_dir=tmp_path / "data", token_issuer=f"http://127.0.0.1:{port}")
    with LiveServer(protected_app(settings, engine, []), port) as server:
        r = httpx.post(
            f"{server.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert r.status_code == 200, r.text
        who = httpx.get(
            f"{server.url}/whoami", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        assert who.status_code == 200 and who.json()["agency_id"] == "civ-500101"

        ok(["client", "disable", client_id], env)
        r = httpx.post(
            f"{server.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert (r.status_code, r.json()) == (401, {"error": "invalid_client"})


def test_keys_rotate_and_list_never_show_key_material(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    add_agency(env)
    client_id, _ = add_client(env)
    first = ok(["token", "--client-id", client_id], env).strip()
    rotated = ok(["keys", "rotate"], env)
    assert rotated.startswith("当前签名密钥 ")
    listing = ok(["keys", "list"], env).strip().splitlines()
    assert len(listing) == 2 and all("\tRS256\t" in line for line in listing)
    second = ok(["token", "--client-id", client_id], env).strip()
    service = AuthService(Settings(data_dir=tmp_path / "data"), engine)
    assert service.validate(first).client_id == service.validate(second).client_id == client_id

    old_kid = listing[1].split("\t")[0]
    ok(["keys", "retire", old_kid], env)
    with pytest.raises(Exception, match="retired_key"):
        AuthService(Settings(data_dir=tmp_path / "data"), engine).validate(first)


@pytest.mark.parametrize("prefix", ["-8", "--", "-h"])
def test_a_kid_that_begins_with_a_dash_retires_as_listed(
    env: dict[str, str], engine: Engine, prefix: str
) -> None:
    """Thumbprints are base64url: '-' is one of its letters, so 1 kid in 32 begins with it."""
    from auth.keys import generate_key
    from kernel.db import session

    add_agency(env)
    row = generate_key()
    row.kid = prefix + row.kid[len(prefix) :]
    with session(engine) as s:
        s.add(row)
    listed = [line.split("\t")[0] for line in ok(["keys", "list"], env).splitlines()]
    assert row.kid in listed
    assert row.kid in ok(["keys", "retire", row.kid], env)
    retired = [line for line in ok(["keys", "list"], env).splitlines() if line.startswith(row.kid)]
    assert retired and not retired[0].rstrip().endswith("-")


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        (
            "agency add --id x-1 --name n --type police --jurisdiction 500101000000",
            "未知的单位类型 'police'",
        ),
        ("agency add --id x-1 --name n --type education --jurisdiction 5001", "不是 12 位数字"),
        ("agency add --id x-1 --name n --type education --jurisdiction 500100123000", "在为零的层级之下"),
        ("agency add --id X_1 --name n --type education --jurisdiction 500101000000", "单位编号 'X_1'"),
        ("client add --agency nope --role caseworker --scopes read:child --name n", "没有单位 'nope'"),
        ("token --client-id nope", "没有客户端 'nope'"),
        ("keys retire nope", "没有编号为 'nope' 的签名密钥"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(env: dict[str, str], command: str, needle: str) -> None:
    one_line_error(run(shlex.split(command), env), needle)


def test_duplicate_agency_is_one_line(env: dict[str, str]) -> None:
    add_agency(env)
    command = "agency add --id civ-500101 --name n --type civil_affairs --jurisdiction 500101000000"
    one_line_error(run(shlex.split(command), env), "已存在")
