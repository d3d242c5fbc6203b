"""entity resolution: person links, the mentions resolved, the review queue, merge history, models.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Hand-written from connectors/resolution/tables.py; checked on SQLite and PostgreSQL. `person_link` maps
each mention (system, record_id) to a random person key; `resolution_mention` keeps what each mention said
so later runs compare new mentions with everyone known; `review_item` is the caseworkers' queue;
`merge_history` records each merge and what it moved so it can be undone; `resolution_model` keeps the
trained Splink parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_link",
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method IN ('id_number', 'probabilistic', 'new', 'review')", name=op.f("ck_person_link_method")
        ),
        sa.PrimaryKeyConstraint("system", "record_id", name=op.f("pk_person_link")),
    )
    op.create_index("ix_person_link_person_key", "person_link", ["person_key"])

    op.create_table(
        "resolution_mention",
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("name_py", sa.String(length=300), nullable=True),
        sa.Column("name_fz", sa.String(length=300), nullable=True),
        sa.Column("surname_fz", sa.String(length=50), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("division", sa.String(length=12), nullable=True),
        sa.Column("household_number", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("adult", sa.Integer(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system", "record_id", name=op.f("pk_resolution_mention")),
    )

    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("left_system", sa.String(length=64), nullable=False),
        sa.Column("left_record_id", sa.String(length=200), nullable=False),
        sa.Column("right_system", sa.String(length=64), nullable=False),
        sa.Column("right_record_id", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'merged', 'rejected')", name=op.f("ck_review_item_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_item")),
    )
    op.create_index(
        "ix_review_item_pair",
        "review_item",
        ["left_system", "left_record_id", "right_system", "right_record_id"],
        unique=True,
    )
    op.create_index("ix_review_item_status", "review_item", ["status"])

    op.create_table(
        "merge_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("survivor_key", sa.String(length=32), nullable=False),
        sa.Column("absorbed_key", sa.String(length=32), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"], ["review_item.id"], name=op.f("fk_merge_history_review_id_review_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_history")),
    )

    op.create_table(
        "resolution_model",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("spec", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("labelled_pairs", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolution_model")),
    )
    op.create_index("ix_resolution_model_spec", "resolution_model", ["spec", "id"])


def downgrade() -> None:
    op.drop_index("ix_resolution_model_spec", table_name="resolution_model")
    op.drop_table("resolution_model")
    op.drop_table("merge_history")
    op.drop_index("ix_review_item_status", table_name="review_item")
    op.drop_index("ix_review_item_pair", table_name="review_item")
    op.drop_table("review_item")
    op.drop_table("resolution_mention")
    op.drop_index("ix_person_link_person_key", table_name="person_link")
    op.drop_table("person_link")
