"""A technician at the terminal: `hpf-kiosk devices read-id` and the stand-alone simulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.idcard.reader import IdCardReader
from devices.idcard.sim import SYNTHETIC_CARDS
from kiosk.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_read_id_with_the_demo_reader_prints_the_card_masked(capsys):
    assert main(["--profile", "demo", "devices", "read-id", "--sim-card", "resident", "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    card = SYNTHETIC_CARDS["resident"]
    assert "居民身份证" in out and "张**" in out and "330802********0032" in out
    assert card.id_number not in out and card.name not in out and "县学街" not in out


def test_read_id_reveal_prints_every_field_in_clear_as_json(capsys):
    assert main(["--profile", "demo", "devices", "read-id", "--sim-card", "foreign_2017", "--json",
                 "--reveal", "--timeout", "5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["result"] == "success"
    assert doc["card"]["id_number"] == SYNTHETIC_CARDS["foreign_2017"].id_number
    assert doc["card"]["english_name"] == "MARTIN, JOHN PAUL"


def test_read_id_without_a_card_exits_1_with_the_reason(capsys):
    assert main(["--profile", "demo", "devices", "read-id", "--timeout", "0.3", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["result"] == "timeout" and doc["code"] == "NO_CARD_TIMEOUT" and "身份证" in doc["message"]


def test_read_id_on_a_port_that_is_not_there_exits_1(capsys, tmp_path):
    assert main(["devices", "read-id", "--port", str(tmp_path / "ttyUSB7"), "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert "PORT_MISSING" in err and "未连接身份证阅读器" in err


@pytest.fixture
def sim_process(tmp_path):
    """`python -m devices.idcard.sim` as a technician starts it; stopped by its own PID."""
    link = tmp_path / "ttyIDSIM"
    proc = subprocess.Popen([sys.executable, "-m", "devices.idcard.sim", "--link", str(link), "--card", "hmt"],
                            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(200):                         # up to ~10 s for the interpreter to start
            if link.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert link.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no link"
        yield link, proc
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_standalone_simulator_answers_a_real_reader_and_stops_cleanly(sim_process):
    link, proc = sim_process
    reader = IdCardReader(str(link), probe_interval_s=5)
    try:
        card = reader.read_card(timeout=5).result().value
        assert card.pass_number == "H12345678"
    finally:
        reader.close()
    proc.terminate()
    assert proc.wait(10) == 0
    assert not link.exists()                         # it removes its link on the way out


def test_read_id_reads_from_the_technicians_simulator_by_port(sim_process, capsys):
    link, _ = sim_process
    assert main(["devices", "read-id", "--port", str(link), "--timeout", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["card"]["card_type"] == "hmt_residence_permit"


def test_the_simulator_refuses_a_link_path_that_is_a_real_file(tmp_path, capsys):
    taken = tmp_path / "notalink"
    taken.write_text("x")
    assert main(["devices", "idcard-sim", "--link", str(taken)]) == 2
    assert "not a link" in capsys.readouterr().err


def test_the_technicians_console_places_cards_and_switches_faults(tmp_path):
    import io
    from devices.idcard.sim import Fault, IdCardSimulator, console
    with IdCardSimulator(link=str(tmp_path / "ttyC"), pace=False) as sim:
        out = io.StringIO()
        assert console(sim, "place foreign_2023", out) and sim.card.english_name == "MUELLER, ANNA MARIA"
        assert console(sim, "fault checksum find_card", out) and sim.faults == {Fault.CHECKSUM}
        assert console(sim, "fault melting", out) and "error" in out.getvalue()   # a typo is not a crash
        assert console(sim, "clear", out) and sim.faults == set()
        assert console(sim, "lift", out) and sim.card is None
        assert console(sim, "status", out) and "plugged=True" in out.getvalue()
        assert not console(sim, "quit", out)
        assert "MUELLER" not in out.getvalue()      # what it echoes about the card is masked
