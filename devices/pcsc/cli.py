"""`hpf-kiosk devices read-card`: a technician's test read of a bank card or a social-security card.

Output is masked unless --reveal. Exit 0 only when a card was read; 1 when the read failed (the completion
code and the Chinese message are printed); 2 for bad arguments.
"""
from __future__ import annotations

import json
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(sub, common) -> None:
    from devices.pcsc.cards import CARDS
    p = sub.add_parser("read-card", parents=[common],
                       help="read a bank card (or a social-security card) in the PC/SC reader",
                       description="Wait for a card in the configured card reader and read it. "
                                   "Personal data is masked unless --reveal.")
    p.add_argument("--reader", metavar="TEXT",
                   help="use the PC/SC reader whose name contains TEXT (overrides the configuration)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for a card (0 = wait until Ctrl-C); default 30")
    p.add_argument("--interface", choices=("auto", "contact", "contactless"), default="auto",
                   help="bank card directory to use: contact (PSE), contactless (PPSE) or auto")
    p.add_argument("--ssc", action="store_true", help="read a social-security card (社保卡) instead")
    p.add_argument("--sim-card", choices=sorted(CARDS), metavar="KIND",
                   help="with the simulated reader: insert this synthetic card first")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--reveal", action="store_true", help="show unmasked card data (technician only)")
    p.set_defaults(func=cmd_read_card)


def _build(args):
    from devices.registry import backend_of
    from kiosk.cli.main import load
    settings = load(args)
    if args.reader is not None:
        from devices.pcsc.reader import PcscCardReader
        return PcscCardReader(args.reader), "pcsc"
    backend = backend_of(settings, "cardreader")
    if backend == "pcsc":
        from devices.pcsc.reader import build_pcsc_reader
        return build_pcsc_reader(settings), backend
    if backend == "sim":
        from devices.pcsc.sim import build_sim_card_reader
        return build_sim_card_reader(settings), backend
    return None, backend


def cmd_read_card(args) -> int:
    if args.timeout < 0:
        print("error: --timeout must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    reader, backend = _build(args)
    if reader is None:
        print(f"card reader is disabled in the configuration (backend = {backend})", file=sys.stderr)
        return EXIT_FAILED
    try:
        if args.sim_card:
            if not hasattr(reader, "simulator"):
                print("error: --sim-card needs the simulated reader (backend = sim)", file=sys.stderr)
                return EXIT_USAGE
            reader.simulator.insert(args.sim_card)
        state = reader.status.state
        if not args.json:
            name = getattr(reader, "reader_name", None) or backend
            print(f"reader: {name} ({state.device.value}{', ' + state.detail if state.detail else ''})",
                  file=sys.stderr)
            if state.device.value == "online" and state.media.value != "present":
                print("请插入卡片 / insert a card ...", file=sys.stderr, flush=True)
        handle = (reader.start_read_social_security_card(args.timeout) if args.ssc
                  else reader.start_read_bank_card(args.timeout, args.interface))
        try:
            c = handle.result()
        except KeyboardInterrupt:
            handle.cancel()
            c = handle.result()
    finally:
        reader.close()
    if args.json:
        out = {"result": c.code.value, "code": c.error_code, "detail": c.description,
               "message": c.message if not c.ok else "",
               "card": c.value.to_dict(reveal=args.reveal) if c.ok else None}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    elif c.ok:
        for key, value in c.value.to_dict(reveal=args.reveal).items():
            if value not in (None, ""):
                print(f"{key:<16} {value}")
    else:
        print(f"{c.code.value} {c.error_code}: {c.message} ({c.description})", file=sys.stderr)
    return EXIT_OK if c.ok else EXIT_FAILED
