"""Fixtures shared by the suites that run on both SQLite and the machine's real PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url

from kernel.db import DatabaseUnavailable, check_reachable

PG_ADMIN_URL = os.environ.get("SHOUHU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The maintenance database's URL, once the server has been found reachable.

    CI starts the server, so an unreachable one fails the tests; SHOUHU_SKIP_POSTGRES=1 skips.
    """
    try:
        check_reachable(PG_ADMIN_URL)
    except DatabaseUnavailable as exc:
        if os.environ.get("SHOUHU_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL skipped (SHOUHU_SKIP_POSTGRES=1): {exc}")
        pytest.fail(
            f"PostgreSQL tests need the server ({exc}) -- start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
            "or set SHOUHU_SKIP_POSTGRES=1 to skip them",
            pytrace=False,
        )
    return PG_ADMIN_URL


def fresh_pg_database(admin_url: str) -> Iterator[str]:
    """A new empty database for one test or module, dropped afterwards whatever happened."""
    name = f"shouhu_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE: a connection a failed test left open must not keep the database alive.
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
