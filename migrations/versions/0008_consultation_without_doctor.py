"""Consultations without a doctor yet (an urgent request waiting in the queue), and when a visit ended.

Revision ID: 0008
Revises: 0007

``consultations.doctor_id`` becomes nullable and ``completed_at`` is added. On SQLite that rebuilds
the table; ``telemed.migrate`` runs migrations with foreign keys off there, so the rebuild does not
cascade into the rows that refer to it (messages, conclusions, attachments...).
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ACTIVE_SLOT = "status != 'cancelled'"


def _active_slot_index() -> None:
    op.create_index(
        "uq_consultations_active_slot",
        "consultations",
        ["slot_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_SLOT),
        postgresql_where=sa.text(ACTIVE_SLOT),
    )


def upgrade() -> None:
    # the partial index is dropped and made again: a SQLite table rebuild must not lose its WHERE
    op.drop_index("uq_consultations_active_slot", table_name="consultations")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.alter_column("doctor_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("completed_at", telemed.db.UTCDateTime(timezone=True), nullable=True))
    _active_slot_index()


def downgrade() -> None:
    op.drop_index("uq_consultations_active_slot", table_name="consultations")
    # consultations nobody took (urgent requests) cannot stay; on SQLite (foreign keys off while
    # migrating) their dependent rows go explicitly, on PostgreSQL the foreign keys cascade
    untaken = "SELECT id FROM consultations WHERE doctor_id IS NULL"
    if op.get_bind().dialect.name == "sqlite":
        for table in ("read_marks", "attachments", "messages", "room_presence", "conclusions"):
            op.execute(f"DELETE FROM {table} WHERE consultation_id IN ({untaken})")
    op.execute("DELETE FROM consultations WHERE doctor_id IS NULL")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
        batch_op.alter_column("doctor_id", existing_type=sa.Integer(), nullable=False)
    _active_slot_index()
