"""Alembic environment for the Shouhu relational store.

Normally reached through `shouhu.db.migrate()` or `python -m shouhu.db`, which pass an open connection in
`config.attributes["connection"]` (inside the transaction that makes the migration atomic). Run any other
way, it connects to `settings.sql_url`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import auth.audit.model  # registers the audit log, reviews, notification outbox
import auth.tables  # noqa: F401  (agencies, OAuth clients, signing keys)
import connectors.resolution.tables  # registers person links, the review queue, merge history
import connectors.tables  # noqa: F401  (connector landing log, quarantine, sync runs)
import shouhu.db.tables  # noqa: F401  (registers every table on the metadata)
from shouhu.db.schema import COMPARE_OPTIONS
from shouhu.db.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, **COMPARE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """`--sql` mode: print the DDL instead of running it (for a DBA to review)."""
    from shouhu.settings import get_settings

    url = config.get_main_option("sqlalchemy.url") or get_settings().sql_url
    context.configure(url=url, target_metadata=metadata, literal_binds=True, **COMPARE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from shouhu.db.schema import _migration_connection
    from shouhu.settings import get_settings

    with _migration_connection(config.get_main_option("sqlalchemy.url") or get_settings().sql_url) as conn:
        _run(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
