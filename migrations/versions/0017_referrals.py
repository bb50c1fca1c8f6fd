"""Referrals of signed conclusions: to a test or study, a specialist or an in-person visit.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("conclusion_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("specialty_code", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('test', 'specialist', 'in_person')", name=op.f("ck_referrals_kind")),
        sa.ForeignKeyConstraint(
            ["conclusion_id"],
            ["conclusions.id"],
            name=op.f("fk_referrals_conclusion_id_conclusions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_referrals_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_referrals_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["specialty_code"], ["specialties.code"], name=op.f("fk_referrals_specialty_code_specialties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("conclusion_id", "position", name=op.f("uq_referrals_conclusion_id")),
    )
    op.create_index(
        "ix_referrals_patient_id_issued_at", "referrals", ["patient_id", "issued_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_patient_id_issued_at", table_name="referrals")
    op.drop_table("referrals")
