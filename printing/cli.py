"""`hpf-kiosk devices test-print [--transport URI] [--width 58|80]`: print a sample receipt (Chinese text, an
amount, a QR code) and report the printer's status. Without --transport the configured receipt printer is used
(with backend 'sim' that is a simulated printer, and the decoded receipt is shown)."""
from __future__ import annotations

import json
from datetime import datetime, timezone


def register(devices_sub, common) -> None:
    p = devices_sub.add_parser("test-print", parents=[common],
                               help="print a sample receipt on the receipt printer and report its status")
    p.add_argument("--transport", metavar="URI",
                   help="tcp://host:9100, serial:///dev/ttyS0?baud=115200, usb:///dev/usb/lp0, file:///path")
    p.add_argument("--width", type=int, choices=(58, 80), help="paper width in mm (default: configured)")
    p.add_argument("--printer-profile", dest="printer_profile", help="printer profile (default: configured), e.g. generic-gb18030, basic-raster-qr")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_test_print)


def cmd_test_print(args) -> int:
    from kiosk.cli.main import load
    from printing.escpos.device import EscposPrinter, build_sim_escpos_printer
    from printing.escpos.profiles import ProfileError
    from printing.escpos.transport import TransportError
    from printing.jobs import PrintJournal
    from printing.samples import sample_receipt
    from sync.crypto import KeyFileError

    settings = load(args)
    cfg = settings.devices.receipt_printer
    overrides = {k: v for k, v in (("width_mm", args.width), ("profile", args.printer_profile)) if v}
    if overrides:
        cfg = cfg.model_copy(update=overrides)
        settings = settings.model_copy(update={"devices": settings.devices.model_copy(update={"receipt_printer": cfg})})
    try:
        if args.transport:
            printer = EscposPrinter(args.transport, width_mm=cfg.width_mm, profile=cfg.profile,
                                    status_timeout_s=cfg.status_timeout_s, journal=PrintJournal.for_settings(settings))
        elif cfg.backend == "sim":
            printer = build_sim_escpos_printer(settings)
        elif cfg.backend == "escpos":
            printer = EscposPrinter(cfg.transport, width_mm=cfg.width_mm, profile=cfg.profile,
                                    status_timeout_s=cfg.status_timeout_s, journal=PrintJournal.for_settings(settings))
        else:
            print("receipt printer disabled in configuration (backend = none); use --transport URI")
            return 2
    except (TransportError, ProfileError, KeyFileError) as exc:
        print(f"error {exc.code}: {exc.message_zh} — {exc}")
        return 2
    try:
        receipt = sample_receipt(terminal_id=settings.terminal.id, center_name=settings.terminal.center_name,
                                 issued_at=datetime.now(timezone.utc))
        c = printer.print_receipt(receipt).result()
        state = printer.status.state
        out = {"result": c.code.value, "code": c.error_code, "detail": c.description, "message": c.message,
               "transport": printer.transport_uri, "width_mm": printer.width_mm, "profile": printer.profile.name,
               "status": state.device.value, "paper": state.paper.value, "status_detail": state.detail,
               "status_known": bool(c.value.status_known) if c.ok else None}
        sim = printer.simulator
        if sim is not None:
            jobs = sim.wait_for_jobs(1, timeout=2.0)
            out["simulated_output"] = jobs[-1].texts if jobs else []
            out["qr"] = jobs[-1].qr_payloads if jobs else []
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            print(f"printer   {out['transport']} ({out['width_mm']} mm, {out['profile']})")
            print(f"result    {out['result']} {out['code']} {out['detail']}".rstrip())
            if not c.ok:
                print(f"message   {out['message']}")
            print(f"status    {out['status']}, paper {out['paper']}"
                  + (f" — {out['status_detail']}" if out["status_detail"] else ""))
            for line in out.get("simulated_output", []):
                print(f"  | {line}")
            for payload in out.get("qr", []):
                print(f"  | [QR] {payload}")
        return 0 if c.ok else 1
    finally:
        printer.close()
