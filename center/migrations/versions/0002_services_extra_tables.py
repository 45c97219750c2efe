"""adopt the services_extra tables (query passwords, statements, loan repayment accounts)

center/api/services_extra.py used to create these three tables at start-up (MetaData.create_all). They are
created here instead. A database that already has them (made by an older center at start-up) keeps them and
their rows as they are: each table is created only if it is missing.

The definitions are frozen copies of those in services_extra.py at this revision; a table added there later
needs its own revision.

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("svc_query_passwords", "svc_statements", "svc_loan_repayment_accounts")


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "svc_query_passwords" not in existing:
        op.create_table(
            "svc_query_passwords",
            sa.Column("person_id", sa.Integer(), nullable=False),
            sa.Column("salt", sa.LargeBinary(length=16), nullable=False),
            sa.Column("hash", sa.LargeBinary(length=64), nullable=False),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("person_id"),
        )
    if "svc_statements" not in existing:
        op.create_table(
            "svc_statements",
            sa.Column("verification_code", sa.String(length=14), nullable=False),
            sa.Column("serial", sa.String(length=40), nullable=False),
            sa.Column("person_id", sa.Integer(), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("signature", sa.String(length=200), nullable=False),
            sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("verification_code"),
            sa.UniqueConstraint("serial"),
        )
    if "svc_loan_repayment_accounts" not in existing:
        op.create_table(
            "svc_loan_repayment_accounts",
            sa.Column("contract_no", sa.String(length=32), nullable=False),
            sa.Column("bank_card", sa.String(length=19), nullable=False),
            sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("client_id", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("contract_no"),
        )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
