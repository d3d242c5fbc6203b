"""Engines, sessions and the reachability check for the relational store.

One place decides how a connection is opened so that the CLI, the API and the tests all get the same
SQLite pragmas and PostgreSQL pool behaviour, and so that a bad configuration surfaces as one readable
line (`DatabaseUnavailable`) instead of a driver traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from kernel.messages import say

# How long a SQLite writer waits for another writer's lock before giving up. Connectors, the API and
# the CLI may share one file; without a busy timeout the second writer fails at once with
# "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0
# How long a PostgreSQL connection attempt may take. libpq's default is to wait forever, which turns a
# firewalled host into a hung `shouhu init`.
PG_CONNECT_TIMEOUT_S = 10
# The reachability check answers quickly; a healthy local server replies within milliseconds.
CHECK_TIMEOUT_S = 5

# Execution option read by the SQLite "begin" hook: the BEGIN variant to emit ("", "IMMEDIATE",
# "EXCLUSIVE"). Set it through `for_writing`, the one place that chooses IMMEDIATE.
SQLITE_BEGIN_OPTION = "shouhu_sqlite_begin"

_Bind = TypeVar("_Bind", Engine, Connection)


class DatabaseUnavailable(Exception):
    """The relational store cannot be opened. The message is one line, names the database and the cause,
    and never contains a password, so callers can show it to the operator as is."""


def make_engine(url: str | URL) -> Engine:
    """Create the engine for `url` (usually `settings.sql_url`).

    SQLite: WAL journal (readers do not block the writer), foreign keys enforced (SQLite ignores them
    unless asked, per connection), a busy timeout, `check_same_thread=False` (the API hands pooled
    connections between threads; SQLAlchemy's pool keeps one connection to one thread at a time), and
    real transactions: SQLAlchemy emits BEGIN itself, because Python's sqlite3 module only opens a
    transaction before DML, which would leave migration DDL non-atomic.

    PostgreSQL: `pool_pre_ping` so a connection dropped by a server restart or an idle timeout is
    replaced instead of failing the next request, and a connect timeout.
    """
    return _build_engine(_parse(url), for_check=False)


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit when the block ends normally, roll back when it raises, always close.

    `expire_on_commit=False` keeps the loaded objects readable after the block, which is what callers
    that return rows (API resolvers, connectors reporting their cursor) expect.
    """
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise


def for_writing(bind: _Bind) -> _Bind:
    """`bind` set so that its transactions take the write lock at BEGIN (IMMEDIATE) on SQLite.

    A transaction that reads then writes must: with WAL, a deferred one upgrades to the write lock at its
    first write, and if another writer has committed since its read snapshot began SQLite refuses at once
    ("database is locked"), which no busy timeout helps. Taken at BEGIN, the lock is queued for on the
    busy timeout instead, so concurrent writers (API, background workers, migrations, audit) take turns.
    PostgreSQL needs nothing of the kind; its `bind` comes back unchanged.

    An engine comes back as a new engine sharing the pool; a connection is changed in place (and
    returned), for callers that must set pragmas on it before the transaction begins.
    """
    if bind.dialect.name != "sqlite":
        return bind
    return bind.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that will write (see `for_writing`): commits when the block ends
    normally, rolls back when it raises."""
    with for_writing(engine).begin() as conn:
        yield conn


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """`session` for a unit of work that will write (see `for_writing`)."""
    with session(for_writing(engine)) as s:
        yield s


def check_reachable(url: str | URL) -> None:
    """Open one connection to `url` and prove it is usable, or raise `DatabaseUnavailable`.

    For SQLite this creates missing parent directories (opening the database would create the file
    anyway) and takes and releases the write lock, so a read-only location is reported now rather than
    at the first write. For PostgreSQL it connects and runs `SELECT 1`.
    """
    u = _parse(url)
    where = describe(u)
    if u.get_backend_name() == "sqlite":
        _prepare_sqlite_dir(u, where)
    try:
        engine = _build_engine(u, for_check=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnavailable(say("db.cannot_open", where=where, reason=_one_line(str(exc), u))) from None
    try:
        with engine.connect() as conn:
            if u.get_backend_name() == "sqlite":
                with for_writing(conn).begin():
                    conn.exec_driver_sql("SELECT 1")
            else:
                conn.exec_driver_sql("SELECT 1")
    except DBAPIError as exc:
        raise DatabaseUnavailable(say("db.cannot_reach", where=where, reason=_cause(exc, u))) from None
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(
            say("db.cannot_reach", where=where, reason=_one_line(str(exc), u))
        ) from None
    finally:
        engine.dispose()


def describe(url: str | URL) -> str:
    """Name the database for messages without its password: the SQLite file or user@host:port/dbname."""
    u = _parse(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        if _sqlite_in_memory(u):
            return say("db.where.sqlite_memory")
        return say("db.where.sqlite", path=_sqlite_path(u))
    if backend == "postgresql":
        host = u.host or "localhost (Unix socket)"
        port = u.port or 5432
        user = f"{u.username}@" if u.username else ""
        return say("db.where.postgresql", at=f"{user}{host}:{port}/{u.database or ''}")
    return say("db.where.other", url=u.render_as_string(hide_password=True))


# --------------------------------------------------------------------------------------------- internals


def _parse(url: str | URL) -> URL:
    if isinstance(url, URL):
        return url
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        # The string may hold a password; do not repeat it.
        raise DatabaseUnavailable(say("db.bad_url")) from None


def _build_engine(u: URL, *, for_check: bool) -> Engine:
    backend = u.get_backend_name()
    # A failed statement's error text leaves its parameters out: they are a record's payload (a
    # child's name, an ID number), and that text reaches run reports, logs and the operator.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if for_check:
        # The check must not leave pooled connections behind.
        kwargs["poolclass"] = NullPool
    if backend == "sqlite":
        timeout = CHECK_TIMEOUT_S if for_check else SQLITE_BUSY_TIMEOUT_S
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": timeout}
        engine = create_engine(u, **kwargs)
        _install_sqlite_hooks(engine, in_memory=_sqlite_in_memory(u))
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in u.query:
            connect_args["connect_timeout"] = CHECK_TIMEOUT_S if for_check else PG_CONNECT_TIMEOUT_S
        if "application_name" not in u.query:
            connect_args["application_name"] = "shouhu"
        return create_engine(u, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    return create_engine(u, pool_pre_ping=True, **kwargs)


def _install_sqlite_hooks(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (see make_engine); the "begin" hook
        # below emits BEGIN for every SQLAlchemy transaction, DDL included.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not in_memory:
                # Persistent in the file; repeating it per connection is cheap and heals files that
                # were created by other tools in rollback-journal mode.
                cur.execute("PRAGMA journal_mode=WAL")
                # Safe with WAL (no corruption on power loss, at most the last commits are lost) and
                # much faster than FULL for the connectors' many small commits.
                cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "")).upper()
        if mode not in ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _sqlite_in_memory(u: URL) -> bool:
    db = u.database or ""
    return db in ("", ":memory:") or (db.startswith("file:") and "mode=memory" in db)


def _sqlite_path(u: URL) -> Path:
    db = u.database or ""
    if db.startswith("file:"):
        db = db[len("file:") :].split("?", 1)[0]
    return Path(db).expanduser().absolute()


def _prepare_sqlite_dir(u: URL, where: str) -> None:
    if _sqlite_in_memory(u):
        return
    path = _sqlite_path(u)
    if path.is_dir():
        raise DatabaseUnavailable(say("db.cannot_open", where=where, reason=say("db.path_is_directory")))
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        reason = say("db.parent_not_directory", parent=parent)
        raise DatabaseUnavailable(say("db.cannot_open", where=where, reason=reason)) from None
    except NotADirectoryError:
        reason = say("db.parent_component_file", parent=parent)
        raise DatabaseUnavailable(say("db.cannot_open", where=where, reason=reason)) from None
    except OSError as exc:
        reason = say("db.cannot_mkdir", parent=parent, reason=exc.strerror or exc)
        raise DatabaseUnavailable(say("db.cannot_open", where=where, reason=reason)) from None


_PG_NOISE = (
    re.compile(r"^connection failed:\s*", re.IGNORECASE),
    # psycopg repeats host and port, which the message already names.
    re.compile(r"connection to server (at|on) .*? failed:\s*", re.IGNORECASE),
    re.compile(r"\b(FATAL|ERROR):\s+"),
)


def _cause(exc: DBAPIError, u: URL) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    for pattern in _PG_NOISE:
        text = pattern.sub("", text)
    return _one_line(text, u)


def _one_line(text: str, u: URL) -> str:
    """Collapse a driver message to one line and scrub the password, whatever the driver put in it."""
    parts = [p.strip() for p in text.splitlines() if p.strip()]
    line = "; ".join(parts) or "unknown error"
    line = re.sub(r"\s+", " ", line)
    if u.password:
        from urllib.parse import quote

        for secret in {str(u.password), quote(str(u.password), safe="")}:
            if secret:
                line = line.replace(secret, "***")
    return line
