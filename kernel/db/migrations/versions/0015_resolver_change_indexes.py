"""Indexes on ``resolution_mention.seen_at`` and ``person_link.linked_at``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The resolver checks, three times a batch, whether its tables changed since it last read them
(``connectors.resolution.resolver._signature``): the newest ``seen_at`` and ``linked_at`` among
others. Without an index each is a scan of the whole table, whose cost grew with the county
(about five CPU-seconds of a 200,000-person sync); with one, SQLite reads the newest value off
the index's end, and ``count(*)`` scans the small index instead of the table. Rows of one batch
share their timestamp, so the index grows at its end.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_resolution_mention_seen_at", "resolution_mention", ["seen_at"])
    op.create_index("ix_person_link_linked_at", "person_link", ["linked_at"])


def downgrade() -> None:
    op.drop_index("ix_person_link_linked_at", table_name="person_link")
    op.drop_index("ix_resolution_mention_seen_at", table_name="resolution_mention")
