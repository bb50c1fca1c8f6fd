"""Login sessions and API tokens record the device (user agent), the client address and when they
were last used; ``credential_endings`` counts the endings of logins, which serving processes poll
to disconnect an ended login's sockets within a second (``telemed.sockets``).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import telemed.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TABLES = ("login_sessions", "api_tokens")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("last_seen_at", telemed.db.UTCDateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("user_agent", sa.String(length=255), nullable=True))
            batch_op.add_column(sa.Column("client_addr", sa.String(length=64), nullable=True))
    op.create_table(
        "credential_endings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("changed_at", telemed.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_endings")),
    )
    op.execute("INSERT INTO credential_endings (id, generation) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("credential_endings")
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("client_addr")
            batch_op.drop_column("user_agent")
            batch_op.drop_column("last_seen_at")
