"""A technician's configuration mistakes each get one clear line and exit code 2, never a traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, available_profiles, load_settings

HPF = [sys.executable, "-m", "kiosk.cli.main"]


def run_cli(*args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("HPF_KIOSK")}
    e.update(env or {})
    return subprocess.run(HPF + list(args), capture_output=True, text=True, env=e, timeout=60)


def test_every_shipped_profile_loads():
    assert set(available_profiles()) >= {"demo", "village-kiosk", "bank-teller"}
    for name in available_profiles():
        s = load_settings(profile=name, env={})
        assert s.profile == name


def test_bank_teller_profile_is_a_teller_at_a_bank_counter():
    s = load_settings(profile="bank-teller", env={})
    assert s.terminal.role.value == "teller" and s.terminal.channel.value == "bank_counter"
    assert s.devices.idcard.backend == "gat467"


def test_load_order_profile_then_file_then_environment(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text('[session]\nidle_timeout_s = 120\nwarning_s = 25\n[devices.receipt_printer]\nwidth_mm = 58\n')
    s = load_settings(profile="village-kiosk", file=f, env={"HPF_KIOSK__SESSION__IDLE_TIMEOUT_S": "200"})
    assert s.session.idle_timeout_s == 200          # env wins over file
    assert s.session.warning_s == 25                # file wins over profile
    assert s.devices.receipt_printer.width_mm == 58
    assert s.devices.idcard.port == "/dev/ttyUSB0"  # from the profile


def test_file_can_name_its_profile(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text('profile = "bank-teller"\n')
    assert load_settings(file=f, env={}).terminal.role.value == "teller"


def _problems(tmp_path, text):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_settings(file=f, env={})
    return f, ei.value


def test_missing_key_names_file_key_and_what_is_needed(tmp_path):
    f, err = _problems(tmp_path, '[devices.idcard]\nbackend = "gat467"\nport = ""\n')
    assert len(err.lines) == 1
    line = err.lines[0]
    assert str(f) in line and "devices.idcard" in line and "port" in line


def test_wrong_type_names_the_value_and_the_type(tmp_path):
    f, err = _problems(tmp_path, '[session]\nidle_timeout_s = "soon"\n')
    assert err.lines == [f"{f}: session.idle_timeout_s = 'soon': "
                         "Input should be a valid integer, unable to parse string as an integer"]


def test_unknown_backend_lists_the_allowed_ones(tmp_path):
    f, err = _problems(tmp_path, '[devices.camera]\nbackend = "webcam"\n')
    assert "devices.camera.backend = 'webcam'" in err.lines[0]
    assert "'opencv'" in err.lines[0] and "'sim'" in err.lines[0]


def test_malformed_url(tmp_path):
    f, err = _problems(tmp_path, '[center]\nurl = "gjj center"\n')
    assert "center.url = 'gjj center'" in err.lines[0] and "URL" in err.lines[0]


def test_unknown_key_is_refused_not_ignored(tmp_path):
    f, err = _problems(tmp_path, '[session]\nidle_timout_s = 60\n')
    assert "session.idle_timout_s" in err.lines[0] and "unknown key" in err.lines[0]


def test_several_problems_give_one_line_each(tmp_path):
    f, err = _problems(tmp_path, '[session]\nidle_timeout_s = 5\n[ui]\nlanguage = "fr"\n[offline]\nmax_queued_count = -1\n')
    keys = sorted(line.split(":")[1].split("=")[0].strip() for line in err.lines)
    assert keys == ["offline.max_queued_count", "session.idle_timeout_s", "ui.language"]


def test_environment_problem_names_the_variable(tmp_path):
    with pytest.raises(ConfigError) as ei:
        load_settings(profile="demo", env={"HPF_KIOSK__DEVICES__RECEIPT_PRINTER__WIDTH_MM": "76"})
    assert ei.value.lines[0].startswith("env:HPF_KIOSK__DEVICES__RECEIPT_PRINTER__WIDTH_MM: ")


@pytest.mark.parametrize("kind", ["missing_key", "wrong_type", "unknown_backend", "malformed_url",
                                  "unreadable", "toml_syntax", "not_found"])
def test_config_check_exits_2_with_a_clear_line_and_no_traceback(tmp_path, kind):
    f = tmp_path / "kiosk.toml"
    texts = {
        "missing_key": '[devices.idcard]\nbackend = "gat467"\n',
        "wrong_type": '[ui]\ncare_mode = "maybe"\n',
        "unknown_backend": '[devices.cardreader]\nbackend = "nfc"\n',
        "malformed_url": '[center]\nurl = "ftp//center"\n',
        "unreadable": '[ui]\ncare_mode = true\n',
        "toml_syntax": '[ui\ncare_mode = true\n',
    }
    expected = {
        "missing_key": "devices.idcard", "wrong_type": "ui.care_mode", "unknown_backend": "devices.cardreader.backend",
        "malformed_url": "center.url", "unreadable": "cannot be read", "toml_syntax": "TOML syntax error",
        "not_found": "file not found",
    }
    if kind != "not_found":
        f.write_text(texts[kind])
    if kind == "unreadable":
        f.chmod(0o000)
        if os.access(f, os.R_OK):          # root reads anything: make it a directory instead
            f.chmod(0o600)
            f.unlink()
            f.mkdir()
    r = run_cli("config", "check", str(f))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(f) in lines[0] and expected[kind] in lines[0]


def test_config_show_masks_secrets(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text('[center]\nenrollment_code = "ENR-7788-SECRET"\n[security]\ntechnician_pin_hash = "scrypt$abc$def"\n')
    r = run_cli("config", "show", "--config", str(f))
    assert r.returncode == 0, r.stderr
    assert "ENR-7788-SECRET" not in r.stdout and "scrypt$abc" not in r.stdout
    assert "enrollment_code" in r.stdout and "**********" in r.stdout


def test_a_bad_environment_variable_stops_any_command_with_exit_2():
    r = run_cli("config", "show", env={"HPF_KIOSK__CENTER__URL": "not a url"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "env:HPF_KIOSK__CENTER__URL" in r.stderr


def test_environment_values_are_read_as_numbers_and_booleans_where_they_are():
    s = load_settings(profile="demo", env={"HPF_KIOSK__DEVICES__IDCARD__BAUD": "57600",
                                           "HPF_KIOSK__UI__CARE_MODE": "true",
                                           "HPF_KIOSK__DEVICES__CAMERA__SOURCE": "2",
                                           "HPF_KIOSK__DEVICES__IDCARD__PORT": "/dev/ttyS1",
                                           "HPF_KIOSK__CENTER__URL": "https://gjj.example.invalid:8443/api"})
    assert s.devices.idcard.baud == 57600 and s.ui.care_mode is True and s.devices.camera.source == 2
    assert s.devices.idcard.port == "/dev/ttyS1" and s.center.url.port == 8443
