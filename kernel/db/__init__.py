"""The relational store: connector landing records, sync cursors, identities, policies, the audit log.

SQLModel table classes live in `kernel.db.tables`; the schema is owned by Alembic revisions in
`kernel/db/migrations/versions`, applied with `migrate()` (which `shouhu init` calls). The database is
`settings.sql_url`: a SQLite file under the data directory by default, PostgreSQL when
`SHOUHU_DATABASE_URL` is set. Every revision must run on both.

Typical use::

    from kernel.db import check_reachable, make_engine, migrate, session
    from kernel.db.tables import SyncCursor

    check_reachable(url)          # DatabaseUnavailable: one line naming the database and the cause
    engine = make_engine(url)
    migrate(engine)               # upgrade to head; a no-op when already there
    with session(engine) as s:    # commits on success, rolls back on error
        s.add(SyncCursor(source="hotline", cursor="2025-11-25T08:00:00Z"))
    with writing(engine) as conn: # reads then writes: SQLite's write lock taken at BEGIN (IMMEDIATE)
        ...

Adding a table or column
------------------------
1. Edit or add the SQLModel class in `kernel/db/tables.py` (use `UTCDateTime` for timestamps).
2. Generate the revision from a source checkout::

       .venv/bin/python -m shouhu.migrations revision -m "agencies and clients"

   This autogenerates against a scratch SQLite database migrated to the current head (no server
   needed) and writes `kernel/db/migrations/versions/<NNNN>_<slug>.py` with the next sequential id.
   `--url postgresql+psycopg://...` compares against a real database instead; `--empty` writes a blank
   revision for data migrations.
3. Read the file and fix what autogenerate cannot know (renames come out as drop + add, server
   defaults, data backfills). Keep ALTERs in `op.batch_alter_table` so SQLite can run them.
4. `.venv/bin/python -m shouhu.migrations check` must print "no pending changes", and
   `pytest tests/test_db.py` runs the revisions up and down on SQLite and PostgreSQL.

Other commands: `python -m shouhu.migrations upgrade [REV]`, `downgrade REV`, `current`, `history`; each takes
`--url` (default: `settings.sql_url`).
"""

from kernel.db.engine import (
    DatabaseUnavailable,
    check_reachable,
    describe,
    for_writing,
    make_engine,
    session,
    write_session,
    writing,
)
from kernel.db.schema import current_revision, downgrade, head_revision, migrate, pending_changes

__all__ = [
    "DatabaseUnavailable",
    "check_reachable",
    "current_revision",
    "describe",
    "downgrade",
    "for_writing",
    "head_revision",
    "make_engine",
    "migrate",
    "pending_changes",
    "session",
    "write_session",
    "writing",
]
