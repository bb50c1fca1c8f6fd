"""Doctors' schedule templates and exceptions, the urgent duty roster, doctors' photos.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("doctors") as batch:
        batch.add_column(sa.Column("photo_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("photo_type", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("photo_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "schedule_templates",
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.Column("updated_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generated_until", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.id"],
            name=op.f("fk_schedule_templates_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("doctor_id", name=op.f("pk_schedule_templates")),
    )
    op.create_table(
        "schedule_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.id"],
            name=op.f("fk_schedule_exceptions_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exceptions")),
    )
    op.create_index(
        "ix_schedule_exceptions_doctor_days", "schedule_exceptions", ["doctor_id", "first_day"], unique=False
    )
    op.create_table(
        "roster_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("specialty_code", sa.String(length=32), nullable=False),
        sa.Column("starts_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name=op.f("fk_roster_shifts_doctor_id_doctors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["specialty_code"],
            ["specialties.code"],
            name=op.f("fk_roster_shifts_specialty_code_specialties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_shifts")),
    )
    op.create_index("ix_roster_shifts_doctor_id", "roster_shifts", ["doctor_id"], unique=False)
    op.create_index(
        "ix_roster_shifts_specialty_start", "roster_shifts", ["specialty_code", "starts_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_roster_shifts_specialty_start", table_name="roster_shifts")
    op.drop_index("ix_roster_shifts_doctor_id", table_name="roster_shifts")
    op.drop_table("roster_shifts")
    op.drop_index("ix_schedule_exceptions_doctor_days", table_name="schedule_exceptions")
    op.drop_table("schedule_exceptions")
    op.drop_table("schedule_templates")
    with op.batch_alter_table("doctors") as batch:
        batch.drop_column("photo_sha256")
        batch.drop_column("photo_type")
        batch.drop_column("photo_key")
