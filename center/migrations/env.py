"""Alembic environment for the center (batch mode so SQLite can ALTER)."""
from alembic import context
from sqlalchemy import create_engine

from center.models import Base

config = context.config
# The center's models, and the tables services_extra defines on its own MetaData (created by revision 0002), so
# that autogenerate sees both and proposes dropping neither.
from center.api.services_extra import META as SERVICES_EXTRA_META  # noqa: E402

target_metadata = [Base.metadata, SERVICES_EXTRA_META]


def _render_item(type_, obj, autogen_context):
    """Custom column types are rendered as their plain SQLAlchemy implementation."""
    if type_ == "type" and obj.__class__.__name__ == "UtcDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
