"""The local journal: durable, encrypted at rest, migrated without losing unsent data, ordered per person."""
from __future__ import annotations

import os
import re
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from sync.crypto import FieldCipher, KeyFileError, load_or_create_key
from sync.db import create_journal_engine, migrate
from sync.journal import Journal, JournalError, State
from sync.protocol import ItemOutcome, ItemResult

PERSON = {"name": "欧阳娜娜", "id_number": "330802199001011234", "bank_card": "6222021234567890123",
          "phone": "13800138000"}


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.sqlite3", tmp_path / "journal.key")
    yield j
    j.close()


def accept(*client_ids):
    return [ItemResult(client_id=c, outcome=ItemOutcome.ACCEPTED, http_status=200) for c in client_ids]


def test_an_enqueued_withdrawal_survives_a_restart_with_the_same_client_id(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key")
    entry = j.create("withdrawal", {"reason": "02", **PERSON}, amount_fen=1_234_56, person_key=PERSON["id_number"],
                     teller_id="T001", offline=True)
    j.close()
    again = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key")
    got = again.get(entry.client_id)
    assert got.state == State.QUEUED and got.amount_fen == 123456 and got.offline
    assert got.payload == {"reason": "02", **PERSON}
    assert got.status_text_zh == "已受理，待联网确认"
    assert [h.to_state for h in again.history(entry.client_id)] == ["queued"]
    assert again.next_batch(10)[0].client_id == entry.client_id     # the id is the idempotency key forever
    again.close()


def test_the_journal_file_holds_no_plaintext_personal_data(journal, tmp_path):
    e = journal.create("withdrawal", dict(PERSON), amount_fen=100, person_key=PERSON["id_number"])
    journal.apply_results([ItemResult(client_id=e.client_id, outcome=ItemOutcome.ACCEPTED, http_status=200,
                                      result={"card": PERSON["bank_card"], "phone": PERSON["phone"]})])
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("journal.sqlite3"))
    assert b"withdrawal" in raw                                         # the grep does see the file
    for secret in PERSON.values():
        for enc in ("utf-8", "gb18030", "utf-16-le"):
            assert secret.encode(enc) not in raw, f"{secret} found in the journal file ({enc})"
    for name in ("journal.key", "journal.sqlite3", "journal.sqlite3-wal"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_a_key_file_readable_by_others_is_refused_with_a_clear_error(tmp_path):
    key = tmp_path / "k"
    load_or_create_key(key)
    os.chmod(key, 0o644)
    with pytest.raises(KeyFileError) as exc:
        Journal(tmp_path / "j.sqlite3", key)
    assert exc.value.code == "JOURNAL_KEY_INVALID" and "chmod 600" in str(exc.value)


def test_upgrading_the_schema_keeps_queued_transactions(tmp_path):
    db, key = tmp_path / "old.sqlite3", tmp_path / "old.key"
    engine = create_journal_engine(db)
    migrate(engine, "0001")                                  # a terminal still on the first schema
    cipher = FieldCipher.from_key_file(key)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO transactions (client_id, kind, state, created_at, updated_at, amount_fen, offline, "
            "payload_enc, attempts) VALUES ('0190-old-1', 'withdrawal', 'queued', '2026-01-02T03:04:05+00:00', "
            "'2026-01-02T03:04:05+00:00', 5000, 1, :p, 0)"), {"p": cipher.seal({"reason": "02"}, "0190-old-1")})
        conn.execute(sa.text("INSERT INTO outbox (client_id, ready, enqueued_at, next_attempt_at, amount_fen) "
                             "VALUES ('0190-old-1', 1, 1.0, 1.0, 5000)"))
    engine.dispose()
    j = Journal(db, key)                                     # opening migrates to head
    try:
        assert j.get("0190-old-1").state == State.QUEUED
        assert j.get("0190-old-1").payload == {"reason": "02"}
        assert [t.client_id for t in j.next_batch(10)] == ["0190-old-1"]
        assert j.figures().depth == 1 and j.figures().queued_amount_fen == 5000
    finally:
        j.close()


def test_no_migration_drops_or_rewrites_journal_tables():
    versions = Path(__file__).resolve().parents[2] / "sync" / "migrations" / "versions"
    scripts = list(versions.glob("*.py"))
    assert scripts
    forbidden = re.compile(r"drop_table|drop_column|batch_alter_table|alter_column|DROP\s|DELETE\s|UPDATE\s",
                           re.IGNORECASE)
    for script in scripts:
        upgrade = script.read_text().split("def upgrade", 1)[1].split("def downgrade", 1)[0]
        if script.name == "0003_drop_documents.py":       # the unused documents table, dropped only when empty
            assert 'if rows:' in upgrade and 'op.drop_table("documents")' in upgrade
            upgrade = upgrade.replace('op.drop_table("documents")', "").replace(
                'op.drop_index("ix_documents_client_id", table_name="documents", if_exists=True)', "").replace(
                "SELECT count(*) FROM documents", "")
        assert not forbidden.search(upgrade), f"{script.name} would drop or rewrite journal data"


def test_one_persons_transactions_go_out_in_order_while_others_proceed(journal):
    a1 = journal.create("withdrawal", {"n": 1}, person_key="330802199001011234").client_id
    a2 = journal.create("withdrawal", {"n": 2}, person_key="330802199001011234").client_id
    b1 = journal.create("withdrawal", {"n": 3}, person_key="110105194912310029").client_id
    x1 = journal.create("evaluation", {"n": 4}).client_id
    assert [t.client_id for t in journal.next_batch(10)] == [a1, b1, x1]
    journal.mark_sending([a1, b1, x1])
    journal.apply_results([ItemResult(client_id=a1, outcome=ItemOutcome.IN_FLIGHT, http_status=409,
                                      code="IDEMPOTENCY_IN_FLIGHT")] + accept(b1, x1),
                          retry_delay_s=lambda r: 0.0)
    assert [t.client_id for t in journal.next_batch(10)] == [a1]          # a2 waits behind a1
    assert not journal.is_next_for_person(a2) and journal.is_next_for_person(a1)   # a flow must not jump a2
    journal.mark_sending([a1])
    journal.apply_results(accept(a1))
    assert [t.client_id for t in journal.next_batch(10)] == [a2] and journal.is_next_for_person(a2)


def test_a_draft_is_not_sent_until_the_customer_confirms(journal):
    d = journal.create("withdrawal", {"n": 1}, draft=True)
    gone = journal.create("withdrawal", {"n": 2}, draft=True)
    assert journal.next_batch(10) == [] and journal.figures().depth == 0
    journal.submit_draft(d.client_id)
    journal.cancel_draft(gone.client_id)
    assert [t.client_id for t in journal.next_batch(10)] == [d.client_id]
    assert journal.get(gone.client_id).state == State.CANCELED
    with pytest.raises(JournalError) as exc:
        journal.submit_draft(gone.client_id)
    assert exc.value.code == "QUEUE_STATE_CONFLICT"


def test_a_refused_item_stays_refused_and_a_key_conflict_goes_to_review(journal):
    r = journal.create("withdrawal", {"n": 1}).client_id
    k = journal.create("withdrawal", {"n": 2}).client_id
    journal.mark_sending([r, k])
    journal.apply_results([
        ItemResult(client_id=r, outcome=ItemOutcome.REJECTED, http_status=422, code="PERSON_NOT_FOUND",
                   message="未查询到您的公积金账户信息，请到柜台咨询"),
        ItemResult(client_id=k, outcome=ItemOutcome.REJECTED, http_status=422, code="IDEMPOTENCY_KEY_REUSED")])
    assert journal.get(r).state == State.REJECTED and journal.get(r).last_code == "PERSON_NOT_FOUND"
    assert journal.get(k).state == State.NEEDS_REVIEW
    journal.apply_results(accept(r))                                      # a late duplicate answer
    assert journal.get(r).state == State.REJECTED                         # never moves a final state
    with pytest.raises(JournalError) as exc:
        journal.retry(r)
    assert exc.value.code == "QUEUE_RETRY_NOT_ALLOWED"
    journal.retry(k, by="tech-01")
    assert journal.get(k).state == State.QUEUED and [t.client_id for t in journal.next_batch(5)] == [k]


def test_the_journal_has_no_second_print_journal():
    """Receipts and print jobs are journaled by printing.jobs.PrintJournal only."""
    for name in ("add_document", "get_document", "mark_printed", "mark_print_failed", "documents_for",
                 "pending_documents"):
        assert not hasattr(Journal, name)


def _old_journal_at_0002(tmp_path, document_rows: int = 0):
    db, key = tmp_path / "old.sqlite3", tmp_path / "old.key"
    engine = create_journal_engine(db)
    migrate(engine, "0002")                                  # a terminal on the schema with `documents`
    cipher = FieldCipher.from_key_file(key)
    with engine.begin() as conn:
        for i in range(3):
            cid = f"0190-old-{i}"
            conn.execute(sa.text(
                "INSERT INTO transactions (client_id, kind, state, created_at, updated_at, amount_fen, offline, "
                "payload_enc, attempts, review_note) VALUES (:c, 'withdrawal', 'queued', '2026-01-02T03:04:05+00:00', "
                "'2026-01-02T03:04:05+00:00', 5000, 1, :p, 0, NULL)"), {"c": cid, "p": cipher.seal({"i": i}, cid)})
            conn.execute(sa.text("INSERT INTO outbox (client_id, ready, enqueued_at, next_attempt_at, amount_fen) "
                                 "VALUES (:c, 1, :t, :t, 5000)"), {"c": cid, "t": float(i)})
        for i in range(document_rows):
            conn.execute(sa.text("INSERT INTO documents (doc_id, kind, target, status, content_type, content_enc, "
                                 "created_at, attempts) VALUES (:d, 'receipt', 'receipt_printer', 'pending', "
                                 "'application/octet-stream', x'00', '2026-01-02', 0)"), {"d": f"doc-{i}"})
    engine.dispose()
    return db, key


def test_an_old_journal_with_queued_rows_migrates_and_loses_its_unused_documents_table(tmp_path):
    db, key = _old_journal_at_0002(tmp_path)
    j = Journal(db, key)
    try:
        assert "documents" not in sa.inspect(j.engine).get_table_names()
        assert [t.client_id for t in j.next_batch(10)] == ["0190-old-0", "0190-old-1", "0190-old-2"]
        assert [j.get(f"0190-old-{i}").payload for i in range(3)] == [{"i": 0}, {"i": 1}, {"i": 2}]
        assert j.figures().depth == 3 and j.figures().queued_amount_fen == 15000
        with j.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0003"
    finally:
        j.close()


def test_a_documents_table_that_holds_rows_is_kept(tmp_path):
    db, key = _old_journal_at_0002(tmp_path, document_rows=2)
    j = Journal(db, key)
    try:
        with j.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM documents").scalar() == 2
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0003"
        assert j.figures().depth == 3
    finally:
        j.close()


def test_an_interrupted_send_is_resumed_with_the_same_key_after_restart(journal):
    c = journal.create("evaluation", {"score": 5}).client_id
    journal.mark_sending([c])                               # ... and the process dies here
    assert journal.recover_interrupted() == 1
    assert journal.get(c).state == State.QUEUED
    assert [t.client_id for t in journal.next_batch(5)] == [c]


def test_two_writers_never_lose_an_enqueue(tmp_path):
    j1 = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key")
    j2 = Journal(tmp_path / "j.sqlite3", tmp_path / "j.key")
    made: list[str] = []

    def write(j, base):
        for n in range(100):
            made.append(j.create("evaluation", {"n": base + n}).client_id)

    threads = [threading.Thread(target=write, args=(j, i * 1000)) for i, j in enumerate((j1, j2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 200 and j1.figures().depth == 200
    j1.close()
    j2.close()


def test_an_item_a_flow_is_sending_is_not_picked_up_by_the_worker_meanwhile(journal):
    e = journal.create("withdrawal", {"reason": "02"}, amount_fen=100, teller_id="T001", offline=False)
    journal.mark_sending([e.client_id])                     # the flow posts it right now
    assert journal.next_batch(10) == []
    journal.requeue([e.client_id], 0.0, "CENTER_UNREACHABLE")   # link lost: the worker finishes it
    wire = journal.next_batch(10)
    assert wire == [journal.get(e.client_id).as_transaction()] == [e.as_transaction()]


def test_an_unreadable_row_goes_to_review_instead_of_blocking_the_queue(journal):
    bad = journal.create("withdrawal", {"n": 1}).client_id
    good = journal.create("withdrawal", {"n": 2}).client_id
    with journal.engine.begin() as conn:                    # e.g. a restored row sealed under another key
        conn.execute(sa.text("UPDATE transactions SET payload_enc = :p WHERE client_id = :c"),
                     {"p": b"\x01" + b"\x00" * 40, "c": bad})
    assert [t.client_id for t in journal.next_batch(10)] == [good]
    assert journal.get(bad, with_payload=False).state == State.NEEDS_REVIEW
    assert journal.get(bad, with_payload=False).last_code == "JOURNAL_ROW_UNREADABLE"


def test_an_item_that_could_never_be_sent_is_refused_at_once(journal):
    with pytest.raises(JournalError) as exc:
        journal.create("x" * 65, {"n": 1})
    assert exc.value.code == "JOURNAL_INVALID_ITEM" and journal.figures().depth == 0
    from decimal import Decimal
    with pytest.raises(JournalError) as exc:                   # money as Decimal must be converted to fen
        journal.create("withdrawal", {"amount": Decimal("12.30")})
    assert exc.value.code == "JOURNAL_INVALID_ITEM" and journal.figures().depth == 0
