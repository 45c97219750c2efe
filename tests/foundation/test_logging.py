"""Personal data logged from anywhere reaches the log file only in masked form."""
import json
import logging

import pytest

from kiosk.logs import setup_logging

ID = "11010519491231002X"
ID15 = "110105491231002"
PHONE = "13812348000"
CARD = "6222021234567890123"


@pytest.fixture
def logfile(tmp_path):
    path = tmp_path / "log" / "kiosk.jsonl"
    setup_logging(path, level="DEBUG", console=False)
    yield path
    for h in list(logging.getLogger().handlers):
        if getattr(h, "_hpf_logging_installed", False):
            logging.getLogger().removeHandler(h)
            h.close()


def _flush():
    for h in logging.getLogger().handlers:
        h.flush()


def test_personal_data_through_many_loggers_is_masked_in_the_file(logfile):
    logging.getLogger("devices.idcard").info("card read for %s, phone %s", ID, PHONE)
    logging.getLogger("sync.worker").warning("debit card %s refused", CARD)
    logging.getLogger("kiosk.flows.withdrawal").info("person", extra={"id_number": ID, "ctx": {"phone": PHONE}})
    logging.getLogger("center.client").error("old id %s and spaced card %s", ID15, "6222 0212 3456 7890 123")
    try:
        raise ValueError(f"bad account for {ID}")
    except ValueError:
        logging.getLogger("kiosk").exception("lookup failed for card %s", CARD)
    logging.getLogger("x").info(f"f-string with {ID} inside")
    _flush()
    raw = logfile.read_text(encoding="utf-8")
    for secret in (ID, ID15, PHONE, CARD, "6222 0212 3456 7890 123", "19491231"):
        assert secret not in raw, secret
    records = [json.loads(line) for line in raw.splitlines()]
    assert len(records) == 6
    assert "110105********002X" in records[0]["msg"] and "138****8000" in records[0]["msg"]
    assert "622202*********0123" in records[1]["msg"]
    assert records[2]["id_number"] == "110105********002X" and records[2]["ctx"]["phone"] == "138****8000"
    assert "exc" in records[4] and "ValueError" in records[4]["exc"]


def test_records_are_json_lines_with_level_logger_and_time(logfile):
    logging.getLogger("kiosk.session").info("session started")
    _flush()
    rec = json.loads(logfile.read_text().splitlines()[-1])
    assert rec["level"] == "INFO" and rec["logger"] == "kiosk.session" and rec["msg"] == "session started"
    assert rec["ts"].endswith("Z")


def test_a_broken_format_string_does_not_lose_the_record(logfile):
    logging.getLogger("kiosk").info("amount %d for %s", "not-a-number", ID)
    _flush()
    raw = logfile.read_text()
    assert "amount" in raw and ID not in raw


def test_setup_is_idempotent(logfile, tmp_path):
    setup_logging(logfile, level="INFO", console=False)
    installed = [h for h in logging.getLogger().handlers if getattr(h, "_hpf_logging_installed", False)]
    assert len(installed) == 1
