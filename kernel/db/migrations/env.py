"""Alembic environment for the Shouhu relational store.

Normally reached through `kernel.db.migrate()` or `python -m shouhu.migrations`, which pass an open
connection in `config.attributes["connection"]` (inside the transaction that makes the migration
atomic). Run any other way, it connects to `settings.sql_url`.

The target metadata is SQLModel's shared one: whoever runs an autogenerate (`shouhu.migrations`)
imports every package's tables first (`shouhu.tables`); an upgrade needs none of them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from kernel.db.schema import COMPARE_OPTIONS
from kernel.db.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, **COMPARE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """`--sql` mode: print the DDL instead of running it (for a DBA to review)."""
    from kernel.settings import get_settings

    url = config.get_main_option("sqlalchemy.url") or get_settings().sql_url
    context.configure(url=url, target_metadata=metadata, literal_binds=True, **COMPARE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from kernel.db.schema import migration_connection
    from kernel.settings import get_settings

    with migration_connection(config.get_main_option("sqlalchemy.url") or get_settings().sql_url) as conn:
        _run(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
