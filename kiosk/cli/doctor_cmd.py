"""hpf-kiosk doctor: what a technician runs first. Checks configuration, devices, storage and the center link,
and says in one line each what is wrong and what to do. Exit 0 when nothing is wrong, 1 otherwise
(2 for a configuration that does not load)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Check:
    area: str
    name: str
    ok: bool
    detail: str
    hint: str = ""


def register(sub, common) -> None:
    p = sub.add_parser("doctor", parents=[common],
                       help="check configuration, devices, storage and the center link; say what is wrong")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--skip-devices", action="store_true", help="do not open devices (for a remote check)")
    p.set_defaults(func=cmd_doctor)


def _storage_checks(settings) -> list[Check]:
    out = []
    for label, path in (("data dir", settings.paths.data_dir), ("log dir", settings.paths.log_dir)):
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / f".doctor-{os.getpid()}"
            with open(probe, "wb") as fh:
                fh.write(b"ok")
                fh.flush()
                os.fsync(fh.fileno())
            probe.unlink()
            free = shutil.disk_usage(path).free
            ok = free > 200 * 1024 * 1024
            out.append(Check("storage", label, ok, f"{path} writable, {free // (1024 * 1024)} MiB free",
                             "" if ok else "free disk space: the journal needs room to keep transactions"))
        except OSError as exc:
            out.append(Check("storage", label, False, f"{path}: {exc.strerror or exc}",
                             f"create it and give the kiosk user write access, or set paths.{label.split()[0]}_dir"))
    key = settings.key_file
    if key.exists():
        mode = key.stat().st_mode & 0o777
        out.append(Check("storage", "terminal key", mode == 0o600, f"{key} mode {mode:o}",
                         "" if mode == 0o600 else f"chmod 600 {key}"))
    else:
        out.append(Check("storage", "terminal key", settings.center.embedded, f"{key} not present",
                         "" if settings.center.embedded else "enroll the terminal: hpf-kiosk enroll --code CODE"))
    return out


def _center_check(settings) -> Check:
    url = str(settings.center.url).rstrip("/")
    if settings.center.embedded:
        return Check("center", "link", True, f"embedded reference center (demo) at {url} when the kiosk runs")
    t0 = time.monotonic()
    try:
        req = urllib.request.Request(url + "/healthz", headers={"User-Agent": "hpf-kiosk-doctor"})
        with urllib.request.urlopen(req, timeout=settings.center.connect_timeout_s) as resp:
            code = resp.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, socket.timeout, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("center", "link", False, f"{url} not reachable: {reason}",
                     "check the network cable/4G router and center.url; offline items still work")
    ms = (time.monotonic() - t0) * 1000
    return Check("center", "link", code < 500, f"{url} answered HTTP {code} in {ms:.0f} ms",
                 "" if code < 500 else "the center reports an error; call the center's operations desk")


def _device_checks(settings) -> list[Check]:
    from devices import registry
    out = []
    for role in registry.ROLES:
        built = registry.build(settings, role)
        if built.backend == "none":
            out.append(Check("devices", role, True, "disabled (backend = none)"))
            continue
        if built.device is None or not built.usability.ok:
            out.append(Check("devices", role, False, f"{built.backend}: {built.usability.missing}",
                             "see `hpf-kiosk devices list`; check cable, power and devices.* settings"))
        else:
            st = built.device.status.state
            out.append(Check("devices", role, True, f"{built.backend}: {st.device.value} {st.detail}".strip()))
        if built.device is not None:
            built.device.close()
    return out


def cmd_doctor(args) -> int:
    from config import ConfigError
    from kiosk.cli.main import load
    checks: list[Check] = []
    try:
        settings = load(args)
        checks.append(Check("config", "settings", True,
                            f"profile {settings.profile}, terminal {settings.terminal.id}, "
                            f"role {settings.terminal.role.value}, center {settings.center.url}"))
    except ConfigError as exc:
        for line in exc.lines:
            checks.append(Check("config", "settings", False, line, "fix the file or variable named"))
        _print(checks, args.json)
        return 2
    checks += _storage_checks(settings)
    if not args.skip_devices:
        checks += _device_checks(settings)
    checks.append(_center_check(settings))
    _print(checks, args.json)
    return 0 if all(c.ok for c in checks) else 1


def _print(checks: list[Check], as_json: bool) -> None:
    if as_json:
        print(json.dumps([asdict(c) for c in checks], ensure_ascii=False, indent=2))
        return
    for c in checks:
        mark = "ok" if c.ok else "!!"
        print(f"{mark} {c.area:<8} {c.name:<16} {c.detail}")
        if not c.ok and c.hint:
            print(f"   {'':<8} {'':<16} -> {c.hint}")
    bad = sum(not c.ok for c in checks)
    print(f"\n{len(checks) - bad} ok, {bad} to fix", file=sys.stdout)
