"""Second medical opinion requests, their chosen e-card documents and history; uploads belong to a
request through ``attachments.opinion_id``.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "second_opinions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("icd10", sa.String(length=10), nullable=False),
        sa.Column("icd10_category", sa.String(length=3), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("contact_due_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("contacted_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("curator_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_second_opinions_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["curator_id"], ["users.id"], name=op.f("fk_second_opinions_curator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_second_opinions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_second_opinions_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_opinions")),
        sa.UniqueConstraint(
            "patient_id", "contract_id", "icd10_category", name=op.f("uq_second_opinions_patient_id")
        ),
    )
    op.create_index("ix_second_opinions_patient_id", "second_opinions", ["patient_id"], unique=False)
    op.create_index(
        "ix_second_opinions_status_due", "second_opinions", ["status", "contact_due_at"], unique=False
    )
    op.create_table(
        "second_opinion_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opinion_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_second_opinion_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["opinion_id"],
            ["second_opinions.id"],
            name=op.f("fk_second_opinion_events_opinion_id_second_opinions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_opinion_events")),
    )
    op.create_index(
        "ix_second_opinion_events_opinion_id", "second_opinion_events", ["opinion_id"], unique=False
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opinion_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_attachments_opinion_id", ["opinion_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_opinion_id_second_opinions"),
            "second_opinions",
            ["opinion_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_table(
        "second_opinion_documents",
        sa.Column("opinion_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_second_opinion_documents_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opinion_id"],
            ["second_opinions.id"],
            name=op.f("fk_second_opinion_documents_opinion_id_second_opinions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("opinion_id", "attachment_id", name=op.f("pk_second_opinion_documents")),
    )


def downgrade() -> None:
    op.drop_table("second_opinion_documents")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_attachments_opinion_id_second_opinions"), type_="foreignkey")
        batch_op.drop_index("ix_attachments_opinion_id")
        batch_op.drop_column("opinion_id")
    op.drop_index("ix_second_opinion_events_opinion_id", table_name="second_opinion_events")
    op.drop_table("second_opinion_events")
    op.drop_index("ix_second_opinions_status_due", table_name="second_opinions")
    op.drop_index("ix_second_opinions_patient_id", table_name="second_opinions")
    op.drop_table("second_opinions")
