"""Need-to-know mental-health entries: the patient's shares with their doctors («Показать врачам»).

Revision ID: 0014
Revises: 0013

A psychologist consultation or visit is shown to doctors other than the one who held it only while
a row here says the patient shared it.
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("shared_by_id", sa.Integer(), nullable=False),
        sa.Column("shared_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(consultation_id IS NULL) != (visit_id IS NULL)", name=op.f("ck_record_shares_one_subject")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_record_shares_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_record_shares_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["shared_by_id"], ["users.id"], name=op.f("fk_record_shares_shared_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_record_shares_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_shares")),
        sa.UniqueConstraint("consultation_id", name=op.f("uq_record_shares_consultation_id")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_record_shares_visit_id")),
    )
    op.create_index("ix_record_shares_patient_id", "record_shares", ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_record_shares_patient_id", table_name="record_shares")
    op.drop_table("record_shares")
