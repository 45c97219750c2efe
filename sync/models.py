"""Table objects for the journal (SQLAlchemy Core), matching the Alembic head. DDL lives in migrations/."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

transactions = sa.Table(
    "transactions", metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("amount_fen", sa.BigInteger),
    sa.Column("person_tag", sa.String(64)),
    sa.Column("teller_id", sa.String(64)),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("payload_enc", sa.LargeBinary, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_code", sa.String(64)),
    sa.Column("last_message", sa.Text),
    sa.Column("result_enc", sa.LargeBinary),
    sa.Column("accepted_at", sa.String(40)),
    sa.Column("review_note", sa.Text),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(64), nullable=False, unique=True),
    sa.Column("person_tag", sa.String(64)),
    sa.Column("ready", sa.Boolean, nullable=False),
    sa.Column("enqueued_at", sa.Float, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("amount_fen", sa.BigInteger),
)

history = sa.Table(
    "history", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("code", sa.String(64)),
    sa.Column("note", sa.Text),
)
