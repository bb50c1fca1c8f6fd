"""The Alembic migrations produce exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import telemed.models  # noqa: F401
from telemed.db import Base


def test_models_and_migrations_agree(app):
    with app.extensions["telemed.db"].engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _declared})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _declared(obj, name, type_, reflected, compare_to) -> bool:
    """The PostgreSQL-only trigram index (migration 0005) is not declared on the model."""
    return name != "ix_patients_name_search_trgm"
