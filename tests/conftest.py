"""Fixtures shared by several test files: a migrated SQLite store, a small generated county's
mentions, and those of the suites that run on both SQLite and the machine's real PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, make_url

from kernel.db import DatabaseUnavailable, check_reachable, make_engine, migrate

if TYPE_CHECKING:
    from connectors.mentions import PersonMention


def pytest_configure(config: pytest.Config) -> None:
    """The log of every test withholds exceptions' text as the app and the CLI do (kernel/logs.py),
    whichever test creates the first app in a worker."""
    from kernel.logs import withhold_exception_text
    from kernel.settings import Settings

    withhold_exception_text(Settings())


SCRYPT_N = 2**14
"""The product's scrypt cost for client secrets (auth/identities.py), which test_tokens checks."""


@pytest.fixture(scope="session", autouse=True)
def cheap_secret_hashing() -> Iterator[None]:
    """Client secrets hashed in this process at a small scrypt cost. Every app a test starts
    registers a client per agency and issues each a token: two scrypts of ~50 ms (ten times that on
    a busy machine) per agency, seconds per app, and most of the suite's apps are started only to
    ask them something else. A stored hash names its cost, so verifying works the same; the CLI's
    subprocesses and test_tokens' check of the stored form use the product's cost."""
    from auth import identities

    if identities._SCRYPT_N != SCRYPT_N:
        raise RuntimeError("the product's scrypt cost changed: update tests/conftest.py's SCRYPT_N")
    identities._SCRYPT_N = 2**10
    try:
        yield
    finally:
        identities._SCRYPT_N = SCRYPT_N


# The files that run longest (seconds of one run on two cores, 2026-12-07), longest first. `make test`
# hands files to its two workers in collection order (--no-loadscope-reorder): these first, so that
# the run ends on short files and both workers finish together. xdist's own order (most tests first)
# left the longest files, which have few tests, to the end, one worker running them while the other
# had finished (on CI's slower machine the suite came within a minute of its 30).
LONGEST_FIRST = (
    "tests/test_record_survives.py",  # 230
    "tests/test_first_load.py",  # 180
    "tests/browser/test_console_walk.py",  # 141
    "tests/test_spill_ahead.py",  # 110
    "tests/test_connectors_cli.py",  # 110
    "tests/test_land_ahead.py",  # 80
    "tests/test_graph_build_worker.py",  # 65
    "tests/browser/test_console_workflows.py",  # 65
    "tests/test_identities_cli.py",  # 59
    "tests/test_operator_survives.py",  # 50
    "tests/test_connectors_pipeline.py",  # 50
    "tests/browser/test_console_audit.py",  # 45
    "tests/test_tokens.py",  # 45
    "tests/test_ladybug_store.py",  # 41
    "tests/browser/test_console_pages.py",  # 40
    "tests/test_neo4j_statements.py",  # 38
    "tests/test_graph_log_replay.py",  # 35
    "tests/test_cli_data_dir.py",  # 30
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (see LONGEST_FIRST); every other file after them, in the order
    pytest-randomly shuffled them into (its reordering runs before this). A stable sort: the tests
    of a file keep their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    root = config.rootpath

    def key(item: pytest.Item) -> int:
        try:
            return rank.get(item.path.relative_to(root).as_posix(), len(rank))
        except ValueError:
            return len(rank)

    items.sort(key=key)


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


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite store under the test's tmp_path.

    A file that means another store by ``engine`` (PostgreSQL too, the CLI's own database, one not
    migrated) defines its own fixture of that name, which takes the place of this one in that file.
    """
    eng = make_engine(f"sqlite:///{(tmp_path / 'shouhu.sqlite3').as_posix()}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def county_mentions_small(tmp_path_factory: pytest.TempPathFactory) -> list[PersonMention]:
    """The mentions of a small generated county (600 people, seed 5): a realistic background
    population (the prior, the name frequencies) for the resolver's scenarios. Built once a module."""
    # Imported here: the generator and the resolver's evaluation are not every file's business.
    from connectors.resolution.evaluate import county_mentions
    from connectors.synthetic import generate

    out = tmp_path_factory.mktemp("res-county")
    generate(out, 600, 5)
    mentions, _ = county_mentions(out)
    return mentions
