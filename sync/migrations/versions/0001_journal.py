"""journal, outbox and state history

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),       # ISO-8601 UTC
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=True),
        sa.Column("person_tag", sa.String(64), nullable=True),        # keyed hash, never the ID number
        sa.Column("teller_id", sa.String(64), nullable=True),
        sa.Column("offline", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("payload_enc", sa.LargeBinary, nullable=False),     # AES-GCM sealed JSON
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_code", sa.String(64), nullable=True),
        sa.Column("last_message", sa.Text, nullable=True),
        sa.Column("result_enc", sa.LargeBinary, nullable=True),
        sa.Column("accepted_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_transactions_state", "transactions", ["state"])
    op.create_index("ix_transactions_created", "transactions", ["created_at"])
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), sa.ForeignKey("transactions.client_id"), nullable=False,
                  unique=True),
        sa.Column("person_tag", sa.String(64), nullable=True),
        sa.Column("ready", sa.Boolean, nullable=False),               # False while a draft
        sa.Column("enqueued_at", sa.Float, nullable=False),           # unix seconds
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_person", "outbox", ["person_tag", "seq"])
    op.create_table(
        "history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
    )


def downgrade() -> None:
    raise RuntimeError("journal migrations are forward-only: unsent data must never be dropped")
