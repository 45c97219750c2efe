"""Alembic migrations of the local journal (run programmatically by sync.db.open_engine).

Rule: a migration never drops or rewrites unsent data. Tables `transactions`, `outbox` and `history` are
only ever extended (add column with a default, add index, add table). tests/sync checks both the rule in
the scripts and that queued rows survive an upgrade."""
