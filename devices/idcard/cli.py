"""Technician commands for the ID-card reader (registered under `hpf-kiosk devices`).

    hpf-kiosk devices read-id [--port PORT --baud N] [--timeout S] [--json] [--reveal]
    hpf-kiosk devices idcard-sim --link PATH [--baud N] [--card NAME]

read-id uses the configured reader unless --port is given. Personal fields are masked unless --reveal.
Exit status: 0 a card was read, 1 no card / reader problem, 130 interrupted.
"""
from __future__ import annotations

import json
import sys

from devices.base import Completion
from devices.idcard import protocol as p

LABELS = {
    "card_type": "证件类型", "name": "姓名", "english_name": "英文姓名", "gender": "性别", "nation": "民族",
    "nationality": "国籍", "birth": "出生", "address": "住址", "id_number": "证件号码", "authority": "签发机关",
    "valid_from": "有效期起", "valid_to": "有效期至", "pass_number": "通行证号码", "issue_count": "签发次数",
    "renewal_count": "换证次数", "card_version": "证件版本", "authority_code": "受理机关代码",
    "photo": "照片", "fingerprint": "指纹",
}


def register(sub, common) -> None:
    from devices.idcard import sim
    r = sub.add_parser("read-id", parents=[common],
                       help="read a second-generation ID card (居民身份证) and print it, masked unless --reveal")
    r.add_argument("--port", help="serial port of a GA/T 467 reader (default: the configured reader)")
    r.add_argument("--baud", type=int, choices=p.BAUD_RATES, help="baud rate (default: configured, or 115200)")
    r.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for a card (0 = until Ctrl-C; default 30)")
    r.add_argument("--fingerprint", action="store_true", help="also read the fingerprint block (30 10)")
    r.add_argument("--json", action="store_true")
    r.add_argument("--reveal", action="store_true", help="print personal fields in clear (technician only)")
    r.add_argument("--sim-card", choices=sorted(sim.SYNTHETIC_CARDS),
                   help="with the simulated reader (backend sim): place this synthetic card first")
    r.set_defaults(func=cmd_read_id)
    s = sub.add_parser("idcard-sim", parents=[common],
                       help="run the ID-card reader simulator on a pty for a technician (Ctrl-C stops it)")
    sim.add_arguments(s)
    s.set_defaults(func=cmd_idcard_sim)


def _open_reader(args):
    """The reader to use and None, or None and the reason there is none."""
    from devices.idcard.reader import IdCardReader
    if args.port:
        return IdCardReader(args.port, args.baud or 115200), None
    from devices import registry
    from kiosk.cli.main import load
    settings = load(args)
    cfg = settings.devices.idcard
    if args.baud and cfg.backend == "gat467":
        return IdCardReader(cfg.port or "", args.baud, read_fingerprint=cfg.read_fingerprint), None
    built = registry.build(settings, "idcard")
    if built.device is None:
        return None, built.usability.missing or f"no ID-card reader (backend {built.backend})"
    return built.device, None


def cmd_read_id(args) -> int:
    if args.timeout < 0:
        print("error: --timeout must be 0 or more seconds", file=sys.stderr)
        return 2
    reader, why = _open_reader(args)
    if reader is None:
        return _report(args, None, f"deviceNotReady: {why}", "未配置身份证阅读器")
    try:
        simulator = getattr(reader, "simulator", None)
        if args.sim_card:
            if simulator is None:
                print("error: --sim-card needs the simulated reader (devices.idcard.backend = sim)", file=sys.stderr)
                return 2
            simulator.place(args.sim_card)
        print(f"请将身份证放在阅读器感应区… (port {reader.port}, "
              f"{'no time limit' if not args.timeout else f'{args.timeout:g} s'})", file=sys.stderr, flush=True)
        handle = reader.read_card(args.timeout, fingerprint=args.fingerprint or None)
        try:
            completion = handle.result()
        except KeyboardInterrupt:
            handle.cancel()
            completion = handle.result()
            _report(args, completion)
            return 130
        return _report(args, completion)
    finally:
        reader.close()


def _report(args, completion: Completion | None, detail: str = "", message: str = "") -> int:
    if completion is not None and completion.ok:
        data = completion.value
        fields = data.revealed() if args.reveal else data.masked()
        if args.json:
            print(json.dumps({"result": "success", "card": fields}, ensure_ascii=False, indent=2))
        else:
            from devices.idcard.card import CardType
            for key, value in fields.items():
                if key == "card_type":
                    value = CardType(value).label_zh
                if key in LABELS and value not in ("", None):
                    print(f"{LABELS[key]:<6} {value}")
        return 0
    if completion is not None:
        doc = {"result": completion.code.value, "code": completion.error_code,
               "message": completion.message, "detail": completion.description}
    else:
        doc = {"result": "deviceNotReady", "code": "NO_READER", "message": message, "detail": detail}
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(f"{doc['message']} [{doc['result']} {doc['code']}] {doc['detail']}", file=sys.stderr)
    return 1


def cmd_idcard_sim(args) -> int:
    from devices.idcard import sim
    return sim.run(args)
