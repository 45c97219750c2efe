"""The audit log shows any tampering, naming the record, and never stores personal data in clear."""
import os
import sqlite3
import stat
import threading

import pytest

from kiosk.audit import AuditError, AuditLog, load_or_create_key

KEY = b"k" * 32


@pytest.fixture
def audit(tmp_path):
    log = AuditLog(tmp_path / "audit.sqlite3", KEY)
    for i in range(1, 7):
        log.append(f"teller:T{i:03d}", "withdrawal.submit", target=f"client-{i}",
                   details={"amount_fen": 1000 * i, "reason": "07"})
    yield log
    log.close()


def _raw(log):
    """What someone with shell access to the kiosk can do: open the file and drop the guards."""
    db = sqlite3.connect(log.path, isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    return db


def _kinds(report):
    return {(p.seq, p.kind) for p in report.problems}


def test_untouched_log_verifies(audit):
    report = audit.verify()
    assert report.ok and report.records == 6 and report.head_seq == 6
    assert audit.head() == audit.stored_head()


def test_sqlite_refuses_updates_and_deletes(audit):
    db = sqlite3.connect(audit.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET actor='x' WHERE seq=1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq=1")


def test_edited_record_is_named(audit):
    _raw(audit).execute("""UPDATE audit SET details='{"amount_fen":999999,"reason":"07"}' WHERE seq=3""")
    report = audit.verify()
    assert not report.ok and _kinds(report) == {(3, "edited")}


def test_edited_record_with_recomputed_plain_hash_is_still_named(audit):
    import hashlib
    _raw(audit).execute("UPDATE audit SET actor='teller:T999', hash=? WHERE seq=2",
                        (hashlib.sha256(b"forged").hexdigest(),))
    assert (2, "edited") in _kinds(audit.verify())


def test_deleted_record_is_named_as_a_gap(audit):
    _raw(audit).execute("DELETE FROM audit WHERE seq=4")
    assert _kinds(audit.verify()) == {(4, "deleted")}


def test_record_inserted_at_the_end_is_named(audit):
    _raw(audit).execute("INSERT INTO audit VALUES (7, '2026-01-01T00:00:00+00:00', 'teller:X', 'cash.out', '', "
                        "'ok', '{}', ?, ?)", (audit.head()[1], "0" * 64))
    assert _kinds(audit.verify()) == {(7, "inserted")}


def test_record_inserted_in_the_middle_is_named(audit):
    db = _raw(audit)
    for seq in (6, 5, 4, 3):
        db.execute("UPDATE audit SET seq=seq+1 WHERE seq=?", (seq,))
    prev = db.execute("SELECT hash FROM audit WHERE seq=2").fetchone()[0]
    db.execute("INSERT INTO audit VALUES (3, '2026-01-01T00:00:00+00:00', 'teller:X', 'cash.out', '', 'ok', '{}', ?, ?)",
               (prev, "f" * 64))
    kinds = _kinds(audit.verify())
    assert (3, "inserted") in kinds
    assert {(s, "reordered") for s in (3, 4, 5, 6)} <= kinds     # the genuine records were pushed down


def test_truncation_is_named_against_the_stored_head(audit):
    _raw(audit).execute("DELETE FROM audit WHERE seq >= 5")
    report = audit.verify()
    assert _kinds(report) == {(5, "truncated")}
    assert "5..6" in str(report.problems[0])


def test_truncation_is_named_against_the_head_reported_to_the_center(audit):
    reported = audit.head()
    _raw(audit).execute("DELETE FROM audit WHERE seq = 6")
    audit.head_path.unlink()        # the attacker also removed the sidecar
    assert (6, "truncated") in _kinds(audit.verify(expected_head=reported))
    assert any(p.kind == "head" for p in audit.verify().problems)


def test_forged_head_file_is_not_trusted(audit):
    audit.head_path.write_text('{"seq": 2, "hash": "00", "mac": "00"}')
    assert any(p.kind == "head" for p in audit.verify().problems)


def test_reordered_records_are_named(audit):
    db = _raw(audit)
    db.execute("UPDATE audit SET seq=-2 WHERE seq=2")
    db.execute("UPDATE audit SET seq=2 WHERE seq=3")
    db.execute("UPDATE audit SET seq=3 WHERE seq=-2")
    assert _kinds(audit.verify()) == {(2, "reordered"), (3, "reordered")}


def test_result_is_part_of_the_signed_record(audit):
    rec = audit.append("teller:T001", "withdrawal.submit", details={"amount_fen": 1}, result="refused:WD_TOO_SOON")
    assert rec.result == "refused:WD_TOO_SOON" and audit.tail(1)[0].result == "refused:WD_TOO_SOON"
    _raw(audit).execute("UPDATE audit SET result='ok' WHERE seq=?", (rec.seq,))
    assert _kinds(audit.verify()) == {(rec.seq, "edited")}


def test_backup_copy_verifies_and_is_never_overwritten(audit, tmp_path):
    dest = audit.backup(tmp_path / "backup" / "audit-copy.sqlite3")
    copy = AuditLog(dest, KEY)
    report = copy.verify()
    assert report.ok and report.records == 6
    with pytest.raises(AuditError) as err:
        audit.backup(dest)
    assert err.value.code == "AUDIT_BACKUP_EXISTS"


def test_sink_adapter_for_callers_that_only_know_actions(audit):
    sink = audit.sink("sync-worker")
    rec = sink.append("journal.created", {"client_id": "0192", "phone": "13800138000"})
    assert (rec.actor, rec.action, rec.details["phone"]) == ("sync-worker", "journal.created", "138****8000")
    assert audit.verify().ok


def test_personal_data_is_never_stored_unmasked(tmp_path):
    log = AuditLog(tmp_path / "a.sqlite3", KEY)
    rec = log.append("teller:T001 for 11010519491231002X", "identify",
                     target="card 6222021234567890128",
                     details={"id": "11010519491231002X", "phone": 13800138000,
                              "nested": [{"note": "手机13800138000，身份证11010519491231002X"}]})
    log.close()
    raw = (tmp_path / "a.sqlite3").read_bytes() + (tmp_path / "a.sqlite3-wal").read_bytes() \
        if (tmp_path / "a.sqlite3-wal").exists() else (tmp_path / "a.sqlite3").read_bytes()
    for secret in (b"11010519491231002X", b"13800138000", b"6222021234567890128", b"19491231"):
        assert secret not in raw
    assert rec.details["phone"] == "138****8000"
    assert "110105********002X" in rec.details["nested"][0]["note"]


def test_concurrent_appends_keep_one_chain(tmp_path):
    log = AuditLog(tmp_path / "a.sqlite3", KEY)

    def work(n):
        for i in range(50):
            log.append(f"worker{n}", "tick", details={"i": i})
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other = AuditLog(tmp_path / "a.sqlite3", KEY)      # a second connection, as another process would
    other.append("other", "tick")
    report = log.verify()
    assert report.ok and report.records == 201


def test_key_file_is_created_private_and_loose_permissions_are_refused(tmp_path):
    path = tmp_path / "data" / "audit.key"
    key = load_or_create_key(path)
    assert len(key) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path) == key
    os.chmod(path, 0o644)
    with pytest.raises(AuditError) as err:
        load_or_create_key(path)
    assert err.value.code == "AUDIT_KEY_PERMISSIONS"


def test_a_different_key_sees_every_record_as_foreign(audit):
    other = AuditLog(audit.path, b"x" * 32)
    assert not other.verify().ok


def test_cli_verify_tail_head(tmp_path, monkeypatch, capsys):
    from kiosk.cli.main import main
    monkeypatch.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HPF_KIOSK__PATHS__LOG_DIR", str(tmp_path / "log"))
    from config import load_settings
    settings = load_settings()
    log = AuditLog.open(settings)
    for i in range(3):
        log.append("technician", "config.change", details={"key": f"k{i}", "phone": "13800138000"})
    log.close()
    assert main(["audit", "verify"]) == 0
    assert "OK: 3 records" in capsys.readouterr().out
    assert main(["audit", "tail", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("config.change") == 2 and "13800138000" not in out and "138****8000" in out
    assert main(["audit", "head"]) == 0
    assert capsys.readouterr().out.startswith("3 ")
    assert main(["audit", "backup", str(tmp_path / "copy.sqlite3")]) == 0
    assert (tmp_path / "copy.sqlite3").exists() and (tmp_path / "copy.sqlite3.head").exists()
    capsys.readouterr()
    _raw(AuditLog.open(settings)).execute("UPDATE audit SET action='config.view' WHERE seq=2")
    assert main(["audit", "verify"]) == 1
    assert "seq 2: edited" in capsys.readouterr().out


def test_unusable_storage_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AuditError) as err:
        AuditLog(blocker / "audit.sqlite3", KEY)
    assert err.value.code == "AUDIT_DB"
    with pytest.raises(AuditError) as err:
        load_or_create_key(blocker / "audit.key")
    assert err.value.code == "AUDIT_KEY_UNREADABLE"
    (tmp_path / "garbage.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditError):
        AuditLog(tmp_path / "garbage.sqlite3", KEY)
    from kiosk.cli.main import main
    monkeypatch.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(blocker))
    assert main(["audit", "verify"]) == 2
    assert "AUDIT_" in capsys.readouterr().err


def test_batched_records_chain_like_single_ones(audit):
    recs = audit.append_many([{"actor": "sync", "action": f"outbox.{i}", "details": {"card": "6222021234567890123"}}
                              for i in range(50)])
    assert [r.seq for r in recs] == list(range(7, 57))
    assert all(r.details["card"] == "622202*********0123" for r in recs)
    assert audit.verify().ok and audit.stored_head() == (56, recs[-1].hash)
    with pytest.raises(AuditError):
        audit.append_many([{"actor": "", "action": "x"}])
    assert audit.head()[0] == 56


def test_head_file_moves_with_every_append_and_is_a_lower_bound(tmp_path):
    """The head is rewritten on each append without an fsync on that path; a head left behind by a crash
    between the records' commit and the head rename (older than the table) still verifies."""
    log = AuditLog(tmp_path / "a.sqlite3", KEY)
    log.append("teller:T001", "login")
    assert log.stored_head() == log.head()
    older = log.head_path.read_bytes()
    for i in range(3):
        log.append("teller:T001", "withdrawal.submit", details={"i": i})
        assert log.stored_head() == log.head()          # visible at once to a second reader / the heartbeat
    log.head_path.write_bytes(older)                    # as if killed before the last three head renames
    report = log.verify()
    assert report.ok and report.records == 4 and log.stored_head()[0] == 1
    _raw(log).execute("DELETE FROM audit WHERE seq >= 1")
    assert (1, "truncated") in _kinds(log.verify())     # a head ahead of the table is still truncation
    log.close()


def _fsync_spy(monkeypatch):
    import kiosk.audit.log as mod
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)
    monkeypatch.setattr(mod.os, "fsync", spy)
    return mod, synced


def test_head_fsync_is_off_the_append_path_and_done_on_close(tmp_path, monkeypatch):
    mod, synced = _fsync_spy(monkeypatch)
    monkeypatch.setattr(mod, "HEAD_SYNC_INTERVAL_S", 3600)
    log = AuditLog(tmp_path / "a.sqlite3", KEY)
    for i in range(5):
        log.append("teller:T001", "tick", details={"i": i})
    assert not any(p.startswith(str(log.head_path)) for p in synced)   # neither the head nor its temp file
    assert log.stored_head() == log.head()
    log.close()
    assert str(log.head_path) in synced                 # close makes the last head durable
    assert not log._head_thread.is_alive()              # noqa: SLF001 - and stops the background syncer


def test_head_is_fsynced_in_the_background_soon_after_an_append(tmp_path, monkeypatch):
    import time
    mod, synced = _fsync_spy(monkeypatch)
    monkeypatch.setattr(mod, "HEAD_SYNC_INTERVAL_S", 0.05)
    log = AuditLog(tmp_path / "a.sqlite3", KEY)
    log.append("teller:T001", "login")
    deadline = time.monotonic() + 30                    # a wait for an outcome, not a timed assertion
    while str(log.head_path) not in synced and time.monotonic() < deadline:
        time.sleep(0.02)
    assert str(log.head_path) in synced
    log.close()


def test_client_ids_are_kept_whole_while_personal_data_next_to_them_is_masked(audit):
    """A UUIDv7 whose last group is mostly digits is not a phone or card number: the audit record must name
    the transaction it concerns exactly, or it cannot be matched with the journal."""
    cid = "01a20130-7f4d-7036-a9b2-956308319983"
    rec = audit.append("sync", "journal.create", target=f"client:{cid}",
                       details={"client_id": cid, "client_ids": [cid], "note": f"{cid} 手机13800138000"})
    assert rec.target == f"client:{cid}" and rec.details["client_id"] == cid and rec.details["client_ids"] == [cid]
    assert rec.details["note"] == f"{cid} 手机138****8000"
    assert audit.tail(1)[0].details["client_id"] == cid and audit.verify().ok


# --- schema versions -------------------------------------------------------------------------------------

V1_SCHEMA = """CREATE TABLE audit (seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '', details TEXT NOT NULL DEFAULT '{}', prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"""


def _v1_log(path, n=3):
    """An audit log as the first release wrote it: no result column, records signed without it, version 0."""
    import hashlib
    import hmac
    import json
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(V1_SCHEMA)
    prev = "0" * 64
    for seq in range(1, n + 1):
        body = {"seq": seq, "ts": f"2026-01-0{seq}T00:00:00+00:00", "actor": "technician", "action": "config.change",
                "target": "", "details": {"key": f"k{seq}"}}
        digest = hmac.new(KEY, prev.encode() + json.dumps(body, ensure_ascii=False, sort_keys=True,
                                                          separators=(",", ":")).encode(), hashlib.sha256).hexdigest()
        db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)", (seq, body["ts"], "technician", "config.change", "",
                                                                 json.dumps(body["details"]), prev, digest))
        prev = digest
    db.close()


def test_a_first_release_log_is_upgraded_in_place_and_its_old_records_still_verify(tmp_path, caplog):
    path = tmp_path / "audit.sqlite3"
    _v1_log(path)
    with caplog.at_level("INFO", logger="kiosk.audit.log"):
        log = AuditLog(path, KEY)
    assert any("upgraded from schema 1 to 2" in r.getMessage() for r in caplog.records)
    assert [r.result for r in log] == [None, None, None]            # old records keep their signed form
    rec = log.append("technician", "config.change", details={"key": "k4"}, result="ok")
    report = log.verify(expected_head=(3, list(log)[2].hash))       # the v1 log had no head file of its own
    assert report.ok and report.records == 4 and rec.seq == 4
    assert log.verify().ok                                          # the head file written by the append
    log.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
    again = AuditLog(path, KEY)                                     # opening twice upgrades once
    assert again.verify().ok and again.tail(1)[0].result == "ok"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite3.connect(path).execute("UPDATE audit SET result='ok' WHERE seq=1")   # guards still in place
    again.close()


def test_a_current_log_without_a_recorded_version_opens_unchanged(tmp_path):
    log = AuditLog(tmp_path / "audit.sqlite3", KEY)
    log.append("technician", "login")
    log.close()
    sqlite3.connect(tmp_path / "audit.sqlite3", isolation_level=None).execute("PRAGMA user_version=0")  # as in var/demo
    log = AuditLog(tmp_path / "audit.sqlite3", KEY)
    assert log.verify().ok and log.tail(1)[0].result == "ok"
    log.close()
    assert sqlite3.connect(tmp_path / "audit.sqlite3").execute("PRAGMA user_version").fetchone()[0] == 2


def test_a_log_from_newer_software_is_refused_with_a_code_a_log_line_and_what_to_do(tmp_path, monkeypatch, capsys,
                                                                                    caplog):
    monkeypatch.setenv("HPF_KIOSK__PATHS__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HPF_KIOSK__PATHS__LOG_DIR", str(tmp_path / "log"))
    from config import load_settings
    settings = load_settings()
    AuditLog.open(settings).close()
    sqlite3.connect(settings.audit_db, isolation_level=None).execute("PRAGMA user_version=7")
    with caplog.at_level("ERROR", logger="kiosk.audit.log"), pytest.raises(AuditError) as err:
        AuditLog.open(settings)
    assert err.value.code == "AUDIT_SCHEMA_NEWER" and "升级" in err.value.message_zh
    assert "schema version 7" in str(err.value) and "Install that version" in str(err.value)
    assert any("AUDIT_SCHEMA_NEWER" in r.getMessage() for r in caplog.records)
    from kiosk.cli.main import main
    assert main(["audit", "verify"]) == 2                            # the CLI: a code, no traceback
    out = capsys.readouterr()
    assert "AUDIT_SCHEMA_NEWER" in out.err and "Traceback" not in out.err + out.out
    assert sqlite3.connect(settings.audit_db).execute("PRAGMA user_version").fetchone()[0] == 7   # left as found


def test_a_database_that_is_not_an_audit_log_is_refused(tmp_path):
    other = tmp_path / "journal.sqlite3"
    sqlite3.connect(other, isolation_level=None).execute("CREATE TABLE transactions (client_id TEXT)")
    with pytest.raises(AuditError) as err:
        AuditLog(other, KEY)
    assert err.value.code == "AUDIT_SCHEMA_UNKNOWN" and "transactions" in str(err.value)
    odd = tmp_path / "odd.sqlite3"
    sqlite3.connect(odd, isolation_level=None).execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, blob TEXT)")
    with pytest.raises(AuditError) as err:
        AuditLog(odd, KEY)
    assert err.value.code == "AUDIT_SCHEMA_UNKNOWN"
    assert [r[1] for r in sqlite3.connect(odd).execute("PRAGMA table_info(audit)")] == ["seq", "blob"]  # untouched


def test_a_log_dropped_without_close_is_collected_and_its_syncer_ends(tmp_path, monkeypatch):
    import gc
    import kiosk.audit.log as mod
    mod_synced = _fsync_spy(monkeypatch)[1]
    monkeypatch.setattr(mod, "HEAD_SYNC_INTERVAL_S", 3600)
    log = AuditLog(tmp_path / "a.sqlite3", KEY)
    log.append("teller:T001", "login")
    thread, head_path = log._head_thread, log.head_path       # noqa: SLF001
    del log
    gc.collect()
    thread.join(timeout=30)
    assert not thread.is_alive() and str(head_path) in mod_synced   # stopped, and the last head made durable
