"""The relational store: engines, migrations and the first table, on SQLite and on PostgreSQL.

Every test that takes `db_url` or `engine` runs twice: on a SQLite file under tmp_path and on a fresh
PostgreSQL database created for the test on the server at 127.0.0.1:5432 (database `test` is only used
to create and drop it). A missing server is an error, not a skip, because CI starts one; set
SHOUHU_SKIP_POSTGRES=1 to skip the PostgreSQL half on a machine without it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import StatementError
from sqlmodel import select

from kernel.db import (
    DatabaseUnavailable,
    check_reachable,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
    pending_changes,
    session,
    write_session,
    writing,
)
from kernel.db.tables import SyncCursor
from kernel.messages import say
from shouhu.tables import metadata
from tests.conftest import fresh_pg_database

CST = timezone(timedelta(hours=8))  # China Standard Time: where the agencies' clocks are


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, private to the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'store' / 'shouhu.sqlite3').as_posix()}"
    else:
        yield from fresh_pg_database(request.getfixturevalue("pg_admin_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    check_reachable(db_url)  # also creates the SQLite file's directory
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


# --------------------------------------------------------------------------------------------- migrations


def test_migrate_creates_table_and_records_head(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alembic is configured in code: a working directory without alembic.ini must not matter.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert current_revision(engine) is None

    migrate(engine)

    insp = inspect(engine)
    assert {"sync_cursor", "alembic_version"} <= set(insp.get_table_names())
    assert {c["name"] for c in insp.get_columns("sync_cursor")} == {
        "source",
        "cursor",
        "updated_at",
        "records_seen",
    }
    assert insp.get_pk_constraint("sync_cursor")["constrained_columns"] == ["source"]
    assert current_revision(engine) == head_revision() == "0015"


def test_migrate_twice_is_a_noop(engine: Engine, db_url: str) -> None:
    migrate(engine)
    with session(engine) as s:
        s.add(SyncCursor(source="hotline", cursor="42", updated_at=datetime.now(UTC)))

    migrate(db_url)  # the URL form opens and disposes its own engine

    assert current_revision(engine) == head_revision()
    with session(engine) as s:
        assert [c.source for c in s.exec(select(SyncCursor))] == ["hotline"]


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    migrate(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert "sync_cursor" not in inspect(engine).get_table_names()

    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert "sync_cursor" in inspect(engine).get_table_names()


def test_models_match_migrations(engine: Engine) -> None:
    """A table or column added to kernel/db/tables.py without a revision fails here."""
    migrate(engine)
    assert pending_changes(engine, metadata) == []


# ------------------------------------------------------------------------------------------------- tables


def test_sync_cursor_round_trip_keeps_the_instant_and_the_timezone(engine: Engine) -> None:
    migrate(engine)
    stamp = datetime(2025, 11, 25, 9, 30, 15, 123456, tzinfo=CST)
    with session(engine) as s:
        s.add(SyncCursor(source="school-roster", cursor="page:17", updated_at=stamp))

    with session(engine) as s:
        got = s.get(SyncCursor, "school-roster")
    assert got is not None
    assert got.cursor == "page:17"
    assert got.records_seen == 0  # the server default
    assert got.updated_at.tzinfo is not None
    assert got.updated_at == stamp
    assert got.updated_at.utcoffset() == timedelta(0)  # stored and returned as UTC

    later = stamp + timedelta(hours=1)
    with session(engine) as s:
        row = s.get(SyncCursor, "school-roster")
        assert row is not None
        row.cursor, row.records_seen, row.updated_at = "page:18", 250, later
    with session(engine) as s:
        again = s.exec(select(SyncCursor).where(SyncCursor.updated_at > stamp)).one()
    assert (again.cursor, again.records_seen, again.updated_at) == ("page:18", 250, later)


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    migrate(engine)
    with pytest.raises(StatementError, match="naive datetime"), session(engine) as s:
        s.add(SyncCursor(source="x", cursor="1", updated_at=datetime(2025, 1, 1)))
    with session(engine) as s:
        assert s.get(SyncCursor, "x") is None


def test_session_rolls_back_when_the_block_raises(engine: Engine) -> None:
    migrate(engine)
    with pytest.raises(RuntimeError), session(engine) as s:
        s.add(SyncCursor(source="half-done", cursor="1"))
        s.flush()
        raise RuntimeError("connector crashed")
    with session(engine) as s:
        assert s.get(SyncCursor, "half-done") is None


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{(tmp_path / 'p.sqlite3').as_posix()}")
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        eng.dispose()


def test_a_write_transaction_holds_the_sqlite_write_lock_from_begin(tmp_path: Path) -> None:
    """`writing` and `write_session` take the lock before their first read, so another writer waits (here:
    fails at once, with no busy timeout) rather than one of them failing after it has read."""
    path = tmp_path / "w.sqlite3"
    eng = make_engine(f"sqlite:///{path.as_posix()}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        migrate(eng)
        with writing(eng) as conn:
            conn.exec_driver_sql("SELECT 1")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with write_session(eng) as s:
            s.get(SyncCursor, "nobody")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with session(eng) as s:  # a plain session reads without the lock
            s.get(SyncCursor, "nobody")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()
        eng.dispose()


# ------------------------------------------------------------------------------------------- reachability


def test_check_reachable_accepts_a_working_database(db_url: str) -> None:
    check_reachable(db_url)


def test_unreachable_postgres_names_host_and_port_but_not_the_password() -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        check_reachable("postgresql+psycopg://postgres:secretpw@127.0.0.1:1/nope")
    msg = str(info.value)
    assert "127.0.0.1:1" in msg and "nope" in msg
    assert "refused" in msg.lower()
    assert "secretpw" not in msg
    assert "\n" not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no driver traceback chained


def test_malformed_url_is_reported_without_echoing_it() -> None:
    with pytest.raises(DatabaseUnavailable, match=re.escape(say("db.bad_url"))) as info:
        check_reachable("postgresql+psycopg://postgres:secretpw@127.0.0.1:notaport/nope")
    assert "secretpw" not in str(info.value)


@pytest.mark.parametrize("below_file", ["db.sqlite3", "sub/dir/db.sqlite3"])
def test_sqlite_path_under_a_regular_file_is_unavailable(tmp_path: Path, below_file: str) -> None:
    # Tests run as root, which ignores directory permissions; a regular file as an ancestor cannot be
    # written through by anyone.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    path = blocker / below_file
    with pytest.raises(DatabaseUnavailable) as info:
        check_reachable(f"sqlite:///{path.as_posix()}")
    msg = str(info.value)
    assert str(path) in msg
    parent = path.parent
    assert msg.endswith(
        (say("db.parent_not_directory", parent=parent), say("db.parent_component_file", parent=parent))
    )
    assert "\n" not in msg


def test_a_file_that_is_not_sqlite_is_unavailable(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(DatabaseUnavailable, match="file is not a database"):
        check_reachable(f"sqlite:///{bogus.as_posix()}")


# ------------------------------------------------------------------------------------------ developer CLI


def test_cli_check_finds_no_pending_changes(capsys: pytest.CaptureFixture[str]) -> None:
    from shouhu.migrations import main

    assert main(["check"]) == 0
    assert "no pending changes" in capsys.readouterr().out


def test_next_revision_id_follows_the_head() -> None:
    from shouhu.migrations import next_revision_id

    assert next_revision_id() == f"{int(head_revision()) + 1:04d}"


def test_cli_reports_an_unreachable_database_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from shouhu.migrations import main

    assert main(["current", "--url", "postgresql+psycopg://postgres:secretpw@127.0.0.1:1/nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "secretpw" not in err


def test_engine_fixture_database_is_isolated(engine: Engine) -> None:
    """Each test gets an empty database: nothing migrated, no rows left by other tests."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert conn.execute(text("SELECT current_database()")).scalar().startswith("shouhu_test_")
    assert inspect(engine).get_table_names() == []
