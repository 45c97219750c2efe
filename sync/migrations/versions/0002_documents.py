"""documents (receipts, certificates, print jobs) for reprint; review note on transactions

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("doc_id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=True, index=True),  # the transaction it belongs to
        sa.Column("kind", sa.String(32), nullable=False),            # receipt | certificate | report | ...
        sa.Column("target", sa.String(32), nullable=False),          # receipt_printer | a4_printer
        sa.Column("status", sa.String(16), nullable=False),          # pending | printed | failed
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("content_enc", sa.LargeBinary, nullable=False),    # AES-GCM sealed
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("printed_at", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    # Additive only, plain ALTER TABLE ADD COLUMN (no table copy): existing rows get NULL.
    op.add_column("transactions", sa.Column("review_note", sa.Text, nullable=True))


def downgrade() -> None:
    raise RuntimeError("journal migrations are forward-only: unsent data must never be dropped")
