"""The urgent queue: its rules as partial unique indexes, escalation, duty, live connections; the outbox.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN = "mode = 'urgent' AND status IN ('waiting', 'in_progress')"
BUSY = "mode = 'urgent' AND status = 'in_progress'"
WAITING = "status = 'waiting'"


def _partial(name, table, columns, where, unique=False):
    op.create_index(
        name, table, columns, unique=unique, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    _partial("uq_consultations_urgent_open_patient", "consultations", ["patient_id"], OPEN, unique=True)
    _partial("uq_consultations_urgent_busy_doctor", "consultations", ["doctor_id"], BUSY, unique=True)
    _partial("ix_consultations_waiting", "consultations", ["specialty_code", "created_at"], WAITING)

    op.create_table(
        "urgent_requests",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("level1_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("level2_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_urgent_requests_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consultation_id", name=op.f("pk_urgent_requests")),
    )
    op.create_table(
        "duty",
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("since", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["doctors.id"], name=op.f("fk_duty_doctor_id_doctors"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("doctor_id", name=op.f("pk_duty")),
    )
    op.create_table(
        "duty_connections",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=32), nullable=False),
        sa.Column("seen_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["doctors.id"],
            name=op.f("fk_duty_connections_doctor_id_doctors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_duty_connections")),
    )
    op.create_index("ix_duty_connections_doctor_id", "duty_connections", ["doctor_id"])
    op.create_index("ix_duty_connections_process_id", "duty_connections", ["process_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", telemed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("delivered_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"])
    _partial("ix_outbox_pending", "outbox", ["id"], "delivered_at IS NULL")


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("duty_connections")
    op.drop_table("duty")
    op.drop_table("urgent_requests")
    for name in (
        "ix_consultations_waiting",
        "uq_consultations_urgent_busy_doctor",
        "uq_consultations_urgent_open_patient",
    ):
        op.drop_index(name, table_name="consultations")
