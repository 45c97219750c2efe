"""hpf-kiosk devices list | selftest [ROLE] | <per-device commands>

Per-device commands (read-id, read-card, capture-face, test-print, ...) are registered by the device
packages themselves: any module named in DEVICE_CLI_MODULES that has register(devices_subparsers, common)."""
from __future__ import annotations

import importlib
import json

from devices import registry

DEVICE_CLI_MODULES = ("devices.idcard.cli", "devices.pcsc.cli", "devices.camera.cli", "printing.cli")


def register(sub, common) -> None:
    p = sub.add_parser("devices", help="device status, self-tests and test reads (technician)", parents=[common])
    s = p.add_subparsers(dest="devices_cmd", metavar="ACTION", required=True)
    lst = s.add_parser("list", help="every configured device, its backend, whether it is usable and its status",
                       parents=[common])
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)
    st = s.add_parser("selftest", help="run the self-test of one device role or of all", parents=[common])
    st.add_argument("role", nargs="?", choices=registry.ROLES)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_selftest)
    for name in DEVICE_CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        reg = getattr(module, "register", None)
        if reg:
            reg(s, common)


def _load(args):
    from kiosk.cli.main import load
    return load(args)


def cmd_list(args) -> int:
    settings = _load(args)
    rows = []
    for role in registry.ROLES:
        built = registry.build(settings, role)
        state = built.device.status.state if built.device else None
        rows.append({"role": role, "backend": built.backend, "usable": built.usability.ok,
                     "missing": built.usability.missing,
                     "status": state.device.value if state else "noDevice",
                     "detail": state.detail if state else ""})
        if built.device:
            built.device.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            mark = "ok " if r["usable"] else "!! "
            extra = f" — {r['missing']}" if r["missing"] else ""
            print(f"{mark}{r['role']:<16} {r['backend']:<8} {r['status']:<14}{extra}")
    return 0 if all(r["usable"] or r["backend"] == "none" for r in rows) else 1


def cmd_selftest(args) -> int:
    settings = _load(args)
    roles = [args.role] if args.role else list(registry.ROLES)
    results, ok = [], True
    for role in roles:
        built = registry.build(settings, role)
        if built.device is None:
            res = {"role": role, "result": "deviceNotReady" if built.backend != "none" else "skipped",
                   "detail": built.usability.missing}
            ok &= built.backend == "none"
        else:
            c = built.device.selftest()
            res = {"role": role, "result": c.code.value, "code": c.error_code, "detail": c.description,
                   "message": c.message}
            ok &= c.ok
            built.device.close()
        results.append(res)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(f"{r['role']:<16} {r['result']:<14} {r.get('detail', '')}")
    return 0 if ok else 1
