"""drop the journal's unused `documents` table (receipts and print jobs live in printing.jobs.PrintJournal)

Nothing ever wrote to it (sync.journal's add_document & co. had no caller), so on every terminal it is empty and
is dropped. Should a journal hold rows in it all the same, the table is left as it is (a migration never drops
data); the code no longer reads it.

Revision ID: 0003
Revises: 0002
"""
import logging

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("sync.migrations")


def upgrade() -> None:
    bind = op.get_bind()
    if "documents" not in sa.inspect(bind).get_table_names():
        return
    rows = bind.execute(sa.text("SELECT count(*) FROM documents")).scalar()
    if rows:
        log.warning("journal table 'documents' holds %d row(s); kept although no code uses it any more", rows)
        return
    op.drop_index("ix_documents_client_id", table_name="documents", if_exists=True)
    op.drop_table("documents")


def downgrade() -> None:
    raise RuntimeError("journal migrations are forward-only: unsent data must never be dropped")
