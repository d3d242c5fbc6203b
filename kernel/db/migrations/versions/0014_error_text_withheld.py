"""Withhold the text of errors stored before it was withheld: a run's error, a quarantine reason.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

A sync that failed kept ``<ExceptionClass>: <its text>`` as its run's error (in ``sync_run.error``
and in the stored report), and a record whose interpretation raised kept the same as its
quarantine reason (``error.internal``). That text can quote the record being handled: SQLAlchemy's
carried the statement's parameters (the mention rows a resolution was inserting, names and ID
numbers), a parser's the line it stopped at. Since then only the kind is kept; this revision does
the same to what was stored before, so ``shouhu runs`` and the quarantine lists stop showing it.
The original text is gone for good (there is no downgrade of data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from kernel.messages import say

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the old code wrote: an exception class's name, a colon, its text. Texts written since start
# with a catalogue sentence (Chinese, or English words with no colon straight after the first word).
_OLD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*): ")


def _kind(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    m = _OLD.match(text)
    return m.group(1).rsplit(".", 1)[-1] if m else None


def upgrade() -> None:
    conn = op.get_bind()
    runs = sa.table(
        "sync_run",
        sa.column("run_id", sa.String),
        sa.column("source", sa.String),
        sa.column("error", sa.Text),
        sa.column("report", sa.JSON),
    )
    for run_id, source, error, report in conn.execute(
        sa.select(runs.c.run_id, runs.c.source, runs.c.error, runs.c.report)
    ).all():
        values: dict[str, Any] = {}
        if (kind := _kind(error)) is not None:
            values["error"] = say("sync.error_withheld", kind=kind)
        stored = json.loads(report) if isinstance(report, str) else report
        if isinstance(stored, dict) and (kind := _kind(stored.get("error"))) is not None:
            values["report"] = {**stored, "error": say("sync.error_withheld", kind=kind)}
        if values:
            conn.execute(
                sa.update(runs).where(runs.c.run_id == run_id, runs.c.source == source).values(**values)
            )
    landing = sa.table(
        "landing_record",
        sa.column("seq", sa.Integer),
        sa.column("reason_code", sa.String),
        sa.column("reason", sa.Text),
    )
    for seq, reason in conn.execute(
        sa.select(landing.c.seq, landing.c.reason).where(landing.c.reason_code == "error.internal")
    ).all():
        if (kind := _kind(reason)) is not None:
            conn.execute(
                sa.update(landing)
                .where(landing.c.seq == seq)
                .values(reason=say("reject.internal_error", kind=kind))
            )


def downgrade() -> None:
    """Nothing to put back: the texts withheld are not kept anywhere."""
