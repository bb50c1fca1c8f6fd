"""The member's rating of a consultation, the curator service's complaints, the room's join
records, and the psychologist quota given back when the doctor did not come.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_joins",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("first_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_room_joins_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_room_joins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("consultation_id", "user_id", name=op.f("pk_room_joins")),
    )
    op.create_table(
        "consultation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=True),
        sa.Column("rated_by_id", sa.Integer(), nullable=False),
        sa.Column("happened", sa.String(length=20), nullable=False),
        sa.Column("credible", sa.Boolean(), nullable=True),
        sa.Column("doctor_score", sa.Integer(), nullable=True),
        sa.Column("service_score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_ratings_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name=op.f("fk_consultation_ratings_doctor_id_doctors")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_consultation_ratings_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["rated_by_id"], ["users.id"], name=op.f("fk_consultation_ratings_rated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_ratings")),
        sa.UniqueConstraint("consultation_id", name=op.f("uq_consultation_ratings_consultation_id")),
    )
    op.create_index("ix_consultation_ratings_doctor_id", "consultation_ratings", ["doctor_id"], unique=False)
    op.create_index(
        "ix_consultation_ratings_patient_id", "consultation_ratings", ["patient_id"], unique=False
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("curator_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_complaints_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["curator_id"], ["users.id"], name=op.f("fk_complaints_curator_id_users")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_complaints_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("consultation_id", name=op.f("uq_complaints_consultation_id")),
    )
    op.create_index("ix_complaints_patient_id", "complaints", ["patient_id"], unique=False)
    op.create_index("ix_complaints_status_opened_at", "complaints", ["status", "opened_at"], unique=False)
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("doctor_absent_at", telemed.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("doctor_absent_at")
    op.drop_index("ix_complaints_status_opened_at", table_name="complaints")
    op.drop_index("ix_complaints_patient_id", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_consultation_ratings_patient_id", table_name="consultation_ratings")
    op.drop_index("ix_consultation_ratings_doctor_id", table_name="consultation_ratings")
    op.drop_table("consultation_ratings")
    op.drop_table("room_joins")
