"""The audit chain is keyed (each event names the key that chained it) and the database itself
refuses to change or remove audit events (triggers; PostgreSQL also refuses TRUNCATE).

Revision ID: 0011
Revises: 0010

Events written before keep ``key_id`` NULL: they were chained with plain SHA-256 and still verify.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The guards per dialect (tests that must empty the table drop and re-create the SQLite ones).
POSTGRESQL_GUARD = (
    """CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)
SQLITE_GUARD = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only (DELETE refused)'); END""",
)
SQLITE_UNGUARD = (
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
)
POSTGRESQL_UNGUARD = (
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP FUNCTION IF EXISTS audit_events_append_only()",
)


def _statements(guard: bool) -> tuple[str, ...]:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if guard:
        return SQLITE_GUARD if sqlite else POSTGRESQL_GUARD
    return SQLITE_UNGUARD if sqlite else POSTGRESQL_UNGUARD


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    for statement in _statements(guard=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(guard=False):
        op.execute(statement)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("key_id")
