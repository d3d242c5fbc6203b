"""The relational tables, as SQLModel classes.

The kernel's own table and the column types every package's tables share. Each package defines its
tables beside its code; `shouhu.tables` (the composition root) imports them all, so that Alembic's
autogenerate and `pending_changes` compare the whole schema. A table never imported there would be
invisible to `python -m shouhu.migrations revision`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, Integer, String, Text, TypeDecorator
from sqlmodel import Field, SQLModel

from kernel import clock

# Deterministic constraint names. SQLite batch migrations (ALTER by copy-and-rename) can only drop or
# alter a constraint they can name, and PostgreSQL's own generated names differ from SQLite's; a
# convention keeps both databases and the hand-written revisions in agreement.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

metadata = SQLModel.metadata
"""The metadata Alembic autogenerates against; all table classes register here."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware in Python and stored as UTC.

    PostgreSQL stores `timestamptz` natively; SQLite has no timezone type and would hand back naive
    datetimes, so values are normalised to UTC on the way in and tagged UTC on the way out. Naive
    datetimes are refused: guessing their zone is how an audit trail ends up eight hours off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a timezone (e.g. UTC)")
        value = value.astimezone(UTC)
        # SQLite stores the text of the value; dropping the (UTC) offset keeps it sortable and
        # comparable with CURRENT_TIMESTAMP.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def copy(self, **kw: Any) -> UTCDateTime:
        return UTCDateTime()


def utcnow() -> datetime:
    """The current time, timezone-aware, as `UTCDateTime` columns expect."""
    return clock.now()


class SyncCursor(SQLModel, table=True):
    """Where each connector stopped: it resumes from `cursor` instead of re-reading its whole source.

    One row per source. The cursor is opaque to the platform (a timestamp, an offset, a page token),
    hence text.
    """

    __tablename__ = "sync_cursor"

    source: str = Field(sa_column=Column(String(200), primary_key=True), description="Connector source name.")
    cursor: str = Field(sa_column=Column(Text, nullable=False), description="Opaque resume position.")
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime(), nullable=False),
        description="When the cursor last moved.",
    )
    records_seen: int = Field(
        default=0,
        sa_column=Column(Integer, nullable=False, server_default="0"),
        description="Records read from the source so far, across runs.",
    )
