"""The operator's command line: openapi, terminals enroll/list/disable, seed, sms list, purge; and the
center's log never shows a full ID number or phone number."""
import json
import subprocess
import sys

import requests

from center.testing import SignedClient


def hpf_center(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "center.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_openapi_prints_the_published_contract():
    out = hpf_center("openapi")
    assert out.returncode == 0, out.stderr
    spec = json.loads(out.stdout)
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/transactions", "/v1/transactions/batch", "/v1/catalog", "/v1/heartbeat",
                 "/v1/terminals/enroll", "/v1/identity/face-verify", "/v1/certificates/verify/{code}"):
        assert path in spec["paths"]


def test_a_technician_enrolls_lists_and_disables_a_terminal_from_the_cli(center_process):
    out = hpf_center("terminals", "enroll", "KIOSK-CLI1", "--db", center_process.db_url)
    assert out.returncode == 0, out.stderr
    code = out.stdout.strip()
    r = requests.post(center_process.url + "/v1/terminals/enroll", json={"terminal_id": "KIOSK-CLI1", "code": code},
                      timeout=30)
    assert r.status_code == 200
    client = SignedClient(center_process.url, "KIOSK-CLI1", bytes.fromhex(r.json()["secret_hex"]))
    assert client.get("/v1/catalog").status_code == 200
    listing = hpf_center("terminals", "list", "--db", center_process.db_url).stdout
    assert "KIOSK-CLI1" in listing and "enrolled" in listing
    assert hpf_center("terminals", "disable", "KIOSK-CLI1", "--db", center_process.db_url).returncode == 0
    assert client.get("/v1/catalog").json()["code"] == "AUTH_TERMINAL_DISABLED"
    assert hpf_center("terminals", "disable", "NOPE-0000", "--db", center_process.db_url).returncode == 1


def test_seed_adds_persons_with_valid_ids_and_purge_keeps_30_days(tmp_path):
    from sqlalchemy import select

    from center.db import make_engine, make_sessionmaker
    from center.models import Loan, Person
    from kiosk.domain.ids import ResidentId
    db = f"sqlite:///{tmp_path / 'seed.sqlite3'}"
    out = hpf_center("seed", "--persons", "12", "--db", db)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["persons_added"] == 22           # 10 demo persons + 12
    eng = make_engine(db)
    with make_sessionmaker(eng)() as s:
        ids = s.scalars(select(Person.zjhm)).all()
        states = set(s.scalars(select(Loan.state)).all())
    eng.dispose()
    assert len(ids) == 22 and all(ResidentId.is_valid(i) for i in ids)
    assert {"repaying", "overdue", "paid_off"} <= states
    assert hpf_center("purge", "--days", "29", "--db", db).returncode == 2
    assert hpf_center("purge", "--db", db).returncode == 0


def test_the_center_log_masks_id_numbers(center_process):
    client = center_process.client("KIOSK-LOGMASK")
    assert client.get("/v1/persons/11010519491231002X").status_code == 404     # logged as a refusal
    log_text = "".join(p.read_text(errors="replace") for p in center_process.data_dir.glob("*.log"))
    assert "110105********002X" in log_text
    assert "11010519491231002X" not in log_text
