"""The technician's command line: help that can be followed, options before or after the subcommand."""
import json
import os
import subprocess
import sys

HPF = [sys.executable, "-m", "kiosk.cli.main"]


def run(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPF_KIOSK")}
    return subprocess.run(HPF + list(args), capture_output=True, text=True, env=env, timeout=120)


def test_help_lists_the_command_groups_and_examples():
    r = run("--help")
    assert r.returncode == 0
    for group in ("config", "devices", "doctor", "audit"):
        assert group in r.stdout
    assert "HPF_KIOSK__SECTION__KEY" in r.stdout


def test_profile_before_the_subcommand_is_not_reset_by_it():
    before = json.loads(run("--profile", "bank-teller", "config", "show", "--json").stdout)
    after = json.loads(run("config", "show", "--json", "--profile", "bank-teller").stdout)
    assert before["profile"] == after["profile"] == "bank-teller"
    assert before["terminal"]["role"] == "teller"


def test_doctor_reports_a_broken_configuration_with_exit_2(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text("[devices.receipt_printer]\nwidth_mm = 76\n")
    r = run("--config", str(f), "doctor")
    assert r.returncode == 2
    assert "devices.receipt_printer.width_mm = 76" in r.stdout and "Traceback" not in r.stderr


def test_doctor_names_a_storage_directory_it_cannot_write(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    f = tmp_path / "k.toml"
    f.write_text(f'[paths]\ndata_dir = "{blocker}/data"\nlog_dir = "{tmp_path}/log"\n')
    r = run("--config", str(f), "doctor", "--skip-devices", "--json")
    checks = json.loads(r.stdout)
    data = [c for c in checks if c["name"] == "data dir"][0]
    assert r.returncode == 1 and data["ok"] is False and "file-not-dir" in data["detail"]
