"""The Alembic migrations produce exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import telemed.models  # noqa: F401
from telemed.db import Base


def test_models_and_migrations_agree(app):
    with app.extensions["telemed.db"].engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
