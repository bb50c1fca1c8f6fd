"""Room presence carries its serving process and when that process last refreshed it, so the
presence of a process that died expires (``telemed.video.presence``).

Revision ID: 0010
Revises: 0009

The rows present at the upgrade belong to processes that stopped for it: they are deleted.
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM room_presence")
    with op.batch_alter_table("room_presence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("process_id", sa.String(length=32), nullable=False))
        batch_op.add_column(sa.Column("seen_at", telemed.db.UTCDateTime(timezone=True), nullable=False))
        batch_op.create_index("ix_room_presence_process_id", ["process_id"], unique=False)
        batch_op.create_index("ix_room_presence_seen_at", ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_presence", schema=None) as batch_op:
        batch_op.drop_index("ix_room_presence_seen_at")
        batch_op.drop_index("ix_room_presence_process_id")
        batch_op.drop_column("seen_at")
        batch_op.drop_column("process_id")
