"""A GA/T 467 ID-card reader simulator on a pseudo-terminal, and SimIdCardReader (the real adapter wired to it).

The simulator answers the same frames a SAM_A module does, paced to the baud rate (a pty delivers bytes
instantly; a UART does not), over a pty whose slave end is published at a stable link path (like
`socat pty,link=PATH`), so the real IdCardReader opens it as it would /dev/ttyUSB0. It copies a real SAM's
habits: a read card is halted and answers "no card" until lifted and placed again.

Faults a test (or the demo panel) can switch on: silence, checksum error, truncated frame, card lifted
mid-read, SAM self-test failure, SAM not authorised; "no card" is simply no card placed. Unplug/replug
close and reopen the pty (hot-plug).

    python -m devices.idcard.sim --link /tmp/idcard --card resident      # for a technician
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import select
import signal
import sys
import tempfile
import threading
import time
import tty
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Optional, Union

from config import Settings
from devices.idcard import protocol as p
from devices.idcard.card import (CardType, IdCardData, build_read_data, encode_text, gb11643_check_char)
from devices.idcard.photo import PHOTO_HEIGHT, PHOTO_WIDTH, bmp_from_bgr
from devices.idcard.reader import IdCardReader

log = logging.getLogger(__name__)


class Fault(str, Enum):
    SILENCE = "silence"                  # no answer at all
    CHECKSUM = "checksum"                # answer with a wrong CHK
    TRUNCATED = "truncated"              # send half of the answer, then nothing
    LIFT_MID_READ = "lift_mid_read"      # the customer lifts the card during the RF read: SW3 41
    SAM_FAILURE = "sam_failure"          # SAM self-test failed: SW3 60 to everything
    SAM_UNAUTHORISED = "sam_unauthorised"  # SW3 66 to everything
    NOISE = "noise"                      # answer with the bytes in `simulator.noise` instead of a frame


# ---------------------------------------------------------------------------------------------------------
# Synthetic cards (made-up people with numbers that pass GB 11643)

def synthetic_number(prefix6: str, birth: date, seq: str) -> str:
    first17 = f"{prefix6}{birth:%Y%m%d}{seq}"
    return first17 + gb11643_check_char(first17)


def icao_check_digit(chars: str) -> str:
    """ICAO 9303 check digit (weights 7,3,1; A=10..Z=35): the last character of a 2017-format card number."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * (7, 3, 1)[i % 3] for i, c in enumerate(chars))
    return str(total % 10)


def _wlt(seed: str) -> bytes:
    out = b""
    while len(out) < 1024:
        out += hashlib.sha256(f"{seed}{len(out)}".encode()).digest()
    return out[:1024]


def _card(**kw) -> IdCardData:
    kw.setdefault("photo_wlt", _wlt(kw["id_number"]))
    return IdCardData(**kw)


SYNTHETIC_CARDS: dict[str, IdCardData] = {
    "resident": _card(
        card_type=CardType.RESIDENT, name="张晓明", gender_code="1", nation_code="01",
        birth=date(1988, 6, 15), address="浙江省衢州市柯城区荷花街道县学街88号",
        id_number=synthetic_number("330802", date(1988, 6, 15), "003"), authority="衢州市公安局柯城分局",
        valid_from=date(2018, 3, 1), valid_to=date(2038, 3, 1)),
    "resident_long_term": _card(
        card_type=CardType.RESIDENT, name="李秀英", gender_code="2", nation_code="01",
        birth=date(1952, 11, 3), address="浙江省衢州市衢江区樟潭街道东迹大道12号",
        id_number=synthetic_number("330803", date(1952, 11, 3), "024"), authority="衢州市公安局衢江分局",
        valid_from=date(2012, 5, 20), valid_to=None),
    "resident_deang": _card(
        card_type=CardType.RESIDENT, name="岩温", gender_code="1", nation_code="46",
        birth=date(1995, 2, 28), address="云南省德宏傣族景颇族自治州芒市三台山德昂族乡出冬瓜村",
        id_number=synthetic_number("533103", date(1995, 2, 28), "017"), authority="芒市公安局",
        valid_from=date(2015, 4, 8), valid_to=date(2025, 4, 8)),
    "resident_fingerprint": _card(
        card_type=CardType.RESIDENT, name="欧阳娜娜", gender_code="2", nation_code="01",
        birth=date(2000, 1, 1), address="浙江省衢州市柯城区新新街道百汇路1号",
        id_number=synthetic_number("330802", date(2000, 1, 1), "042"), authority="衢州市公安局柯城分局",
        valid_from=date(2020, 1, 1), valid_to=date(2030, 1, 1),
        fingerprint=bytes((i * 7) & 0xFF for i in range(1024))),
    "hmt": _card(
        card_type=CardType.HMT_RESIDENCE_PERMIT, name="陈家豪", gender_code="1",
        birth=date(1990, 8, 8), address="浙江省衢州市柯城区花园街道三衢路66号",
        id_number=synthetic_number("810000", date(1990, 8, 8), "051"), authority="衢州市公安局",
        valid_from=date(2021, 7, 1), valid_to=date(2026, 7, 1), pass_number="H12345678", issue_count="01"),
    "foreign_2017": _card(
        card_type=CardType.FOREIGN_PERMANENT_2017, name="马丁", english_name="MARTIN, JOHN PAUL",
        gender_code="1", id_number="USA33008806151" + icao_check_digit("USA33008806151"), nationality="USA",
        birth=date(1988, 6, 15),
        valid_from=date(2017, 6, 1), valid_to=date(2027, 6, 1), card_version="01", authority_code="3300", authority="公安部"),
    "foreign_2023": _card(
        card_type=CardType.FOREIGN_PERMANENT_2023, name="安娜", english_name="MUELLER, ANNA MARIA",
        gender_code="2", renewal_count="00", birth=date(1985, 9, 30),
        id_number=synthetic_number("933276", date(1985, 9, 30), "002"), nationality="DEU",
        valid_from=date(2023, 12, 1), valid_to=date(2033, 12, 1), authority="国家移民管理局"),
}


def fixture_photo_bmp(card: IdCardData) -> bytes:
    """A plain 102x126 BMP standing in for a decoded photo (a fixture, not a WLT decoder)."""
    shade = card.photo_wlt[0] if card.photo_wlt else 128
    row = bytes([shade, 180, 220]) * PHOTO_WIDTH
    return bmp_from_bgr(row * PHOTO_HEIGHT)


class FixturePhotoDecoder:
    """'Decodes' only the WLT blocks of the simulator's own cards, to their fixture BMP."""

    def __init__(self, cards: dict[str, IdCardData]):
        self._by_wlt = {c.photo_wlt: fixture_photo_bmp(c) for c in cards.values() if c.photo_wlt}

    def decode(self, wlt: bytes) -> Optional[bytes]:
        return self._by_wlt.get(bytes(wlt))


# ---------------------------------------------------------------------------------------------------------

@dataclass
class _Placement:
    card: IdCardData
    found: bool = False
    selected: bool = False
    halted: bool = False


class IdCardSimulator:
    """A SAM_A module with a card slot, on a pty. Thread-safe controls: place(), lift(), set_fault(), ..."""

    SAM_ID = bytes.fromhex("0500" "0100") + (20101207).to_bytes(4, "little") + \
        (218429).to_bytes(4, "little") + (1234567890).to_bytes(4, "little")

    def __init__(self, link: Optional[str] = None, baud: int = 115200, pace: bool = True,
                 halt_after_read: bool = True, read_delay_s: float = 0.0,
                 cards: Optional[dict[str, IdCardData]] = None):
        self._own_dir: Optional[str] = None
        if link is None:
            self._own_dir = tempfile.mkdtemp(prefix="idcard-sim-")
            link = os.path.join(self._own_dir, "ttyIDCARD")
        self.link = link
        self.baud = baud
        self.pace = pace
        self.halt_after_read = halt_after_read
        self.read_delay_s = read_delay_s
        self.cards = dict(SYNTHETIC_CARDS if cards is None else cards)
        self.photo_decoder = FixturePhotoDecoder(self.cards)
        self.noise = b"\x00\xff" * 8        # what Fault.NOISE sends
        self.reads = 0                   # successful card reads answered
        self.requests: list[int] = []    # CMD<<8|PARA of every request, in order
        self._lock = threading.RLock()
        self._slot: Optional[_Placement] = None
        self._faults: dict[Fault, list] = {}     # fault -> [only this command or None, times left or None]
        self._master: Optional[int] = None
        self._slave: Optional[int] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle --------------------------------------------------------------------------------------
    @property
    def port(self) -> str:
        return self.link

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def start(self) -> "IdCardSimulator":
        with self._lock:
            if self._master is not None:
                return self
            master, slave = os.openpty()
            tty.setraw(slave)            # no echo, no line discipline until the reader opens it
            os.set_blocking(master, False)
            if os.path.lexists(self.link):
                os.unlink(self.link)
            os.symlink(os.ttyname(slave), self.link)
            self._master, self._slave = master, slave
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._serve, args=(master, self._stop),
                                            name="idcard-sim", daemon=True)
            self._thread.start()
        log.info("idcard simulator on %s (%s), %d baud%s", self.link, os.ttyname(slave), self.baud,
                 "" if self.pace else ", unpaced")
        return self

    def unplug(self) -> None:
        """The USB cable is pulled: the pty closes and the link disappears."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(5)
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
            if os.path.lexists(self.link):
                os.unlink(self.link)

    def replug(self) -> None:
        self.start()

    def stop(self) -> None:
        self.unplug()
        if self._own_dir:
            try:
                os.rmdir(self._own_dir)
            except OSError:
                pass

    def __enter__(self) -> "IdCardSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- controls ---------------------------------------------------------------------------------------
    def place(self, card: Union[str, IdCardData] = "resident") -> IdCardData:
        """Put a card on the reader: a SYNTHETIC_CARDS name or any IdCardData (a new placement)."""
        if isinstance(card, str):
            card = self.cards[card]
        with self._lock:
            self._slot = _Placement(card)
        return card

    def lift(self) -> None:
        with self._lock:
            self._slot = None

    def card_present(self) -> bool:
        return self._slot is not None

    @property
    def card(self) -> Optional[IdCardData]:
        slot = self._slot
        return slot.card if slot else None

    def set_fault(self, fault: Fault, command: Optional[p.Command] = None, times: Optional[int] = None) -> None:
        """Switch a fault on for every command (or only for `command`), until clear_fault() or, with
        `times`, for that many answers."""
        with self._lock:
            self._faults[Fault(fault)] = [command, times]

    def clear_fault(self, fault: Optional[Fault] = None) -> None:
        with self._lock:
            if fault is None:
                self._faults.clear()
            else:
                self._faults.pop(Fault(fault), None)

    @property
    def faults(self) -> set[Fault]:
        return set(self._faults)

    def _fault(self, fault: Fault, command: Optional[p.Command]) -> bool:
        if fault not in self._faults:
            return False
        entry = self._faults[fault]
        if entry[0] is not None and entry[0] != command:
            return False
        if entry[1] is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._faults[fault]
        return True

    # ---- the module -------------------------------------------------------------------------------------
    def _serve(self, master: int, stop: threading.Event) -> None:
        parser = p.FrameParser()
        while not stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except BlockingIOError:
                continue
            except OSError:              # the reader side is gone; wait for it to come back
                stop.wait(0.05)
                continue
            parser.feed(data)
            while True:
                try:
                    body = parser.next_frame()
                except p.ChecksumError:
                    self._send(master, p.response(0x10), None, stop)
                    continue
                except p.FrameError:
                    self._send(master, p.response(0x11), None, stop)
                    continue
                if body is None:
                    break
                self._handle(master, body, stop)

    def _handle(self, master: int, body: bytes, stop: threading.Event) -> None:
        code = (body[0] << 8 | body[1]) if len(body) >= 2 else -1
        with self._lock:
            self.requests.append(code)
            try:
                command: Optional[p.Command] = p.Command(code)
            except ValueError:
                command = None
            if self._fault(Fault.SILENCE, command):
                return
            reply = self._answer(code, command, body[2:])
            if reply is None:
                return
        if command in (p.Command.READ_TEXT_PHOTO, p.Command.READ_TEXT_PHOTO_FINGERPRINT) and self.read_delay_s:
            stop.wait(self.read_delay_s)
        self._send(master, reply, command, stop)
        if code >> 8 == 0x60 and len(body) >= 2 and body[1] < len(p.BAUD_RATES):
            self.baud = p.BAUD_RATES[body[1]]   # the module switches after its answer

    def _answer(self, code: int, command: Optional[p.Command], data: bytes) -> Optional[bytes]:
        if self._fault(Fault.SAM_FAILURE, command):
            return p.response(0x60)
        if self._fault(Fault.SAM_UNAUTHORISED, command):
            return p.response(0x66)
        slot = self._slot
        C = p.Command
        if command in (C.RESET_SAM, C.SAM_STATUS):
            return p.response(p.SW3_OK)
        if command is C.SAM_ID:
            return p.response(p.SW3_OK, self.SAM_ID)
        if command is C.FIND_CARD:
            if slot is None or slot.halted:
                return p.response(p.SW3_NO_CARD)
            slot.found = True
            return p.response(p.SW3_FOUND, bytes(4))
        if command is C.SELECT_CARD:
            if slot is None or slot.halted or not slot.found:
                return p.response(0x81)
            slot.selected = True
            return p.response(p.SW3_OK, hashlib.sha256(slot.card.id_number.encode()).digest()[:8])
        if command in (C.READ_TEXT_PHOTO, C.READ_TEXT_PHOTO_FINGERPRINT):
            if slot is None or slot.halted:
                return p.response(0x41)
            if not slot.selected:
                return p.response(0x23)
            if self._fault(Fault.LIFT_MID_READ, command):
                self._slot = None
                return p.response(0x41)
            fp = command is C.READ_TEXT_PHOTO_FINGERPRINT
            payload = build_read_data(encode_text(slot.card), slot.card.photo_wlt, slot.card.fingerprint, fp)
            self.reads += 1
            if self.halt_after_read:
                slot.halted = True
            slot.found = slot.selected = False
            return p.response(p.SW3_OK, payload)
        if command in (C.READ_APPENDED_ADDRESS, C.READ_CARD_MANAGEMENT_NO):
            return p.response(p.SW3_NO_ITEM if slot else 0x41)
        if code >> 8 == 0x60 and (code & 0xFF) < len(p.BAUD_RATES):
            return p.response(p.SW3_OK)
        if code >> 8 == 0x61:
            return p.response(p.SW3_OK)
        return p.response(0x21)

    def _send(self, master: int, frame: bytes, command: Optional[p.Command], stop: threading.Event) -> None:
        if self._fault(Fault.NOISE, command):
            frame = bytes(self.noise)
        if self._fault(Fault.CHECKSUM, command):
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        if self._fault(Fault.TRUNCATED, command):
            frame = frame[:max(p.HEADER_LEN + 1, len(frame) // 2)]
        self._write_paced(master, frame, stop)

    def _write_paced(self, master: int, data: bytes, stop: threading.Event) -> None:
        """Write as a UART would: a chunk goes out when its last byte would have left the wire."""
        chunk = 32
        t0 = time.perf_counter()
        sent = 0
        while sent < len(data) and not stop.is_set():
            piece = data[sent:sent + chunk]
            if self.pace:
                due = t0 + p.wire_seconds(sent + len(piece), self.baud)
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            try:
                n = os.write(master, piece)
            except BlockingIOError:       # the reader is not draining; a UART would drop, so do we
                n = 0
                if not select.select([], [master], [], 0.5)[1]:
                    return
            except OSError:
                return
            sent += n


# ---------------------------------------------------------------------------------------------------------

class SimIdCardReader(IdCardReader):
    """The real IdCardReader talking to an in-process simulator over a pty. `simulator` is the module."""

    def __init__(self, simulator: IdCardSimulator, **kwargs):
        self.simulator = simulator
        kwargs.setdefault("photo_decoder", simulator.photo_decoder)
        super().__init__(simulator.port, simulator.baud, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.simulator.stop()


def build_sim_reader(settings: Settings) -> SimIdCardReader:
    s = settings.devices.idcard
    sim = IdCardSimulator(baud=s.baud, pace=True).start()
    try:
        return SimIdCardReader(sim, read_fingerprint=s.read_fingerprint, poll_interval_s=s.poll_interval_s)
    except Exception:
        sim.stop()
        raise


# ---------------------------------------------------------------------------------------------------------
# Command line: run the simulator for a technician; type commands on stdin.

CONSOLE_HELP = """commands: place NAME | lift | fault NAME [CMD] | clear [NAME] | unplug | replug | status | help | quit
cards:    {cards}
faults:   {faults}"""


def console(sim: IdCardSimulator, line: str, out=sys.stdout) -> bool:
    """One console command; False means quit."""
    words = line.split()
    if not words:
        return True
    cmd, args = words[0].lower(), words[1:]
    try:
        if cmd == "place" and args:
            card = sim.place(args[0])
            print(f"placed {args[0]}: {card}", file=out)
        elif cmd == "lift":
            sim.lift()
            print("lifted", file=out)
        elif cmd == "fault" and args:
            only = p.Command[args[1].upper()] if len(args) > 1 else None
            sim.set_fault(Fault(args[0]), only)
            print(f"fault {args[0]} on", file=out)
        elif cmd == "clear":
            sim.clear_fault(Fault(args[0]) if args else None)
            print("faults: " + (", ".join(sorted(f.value for f in sim.faults)) or "none"), file=out)
        elif cmd == "unplug":
            sim.unplug()
            print("unplugged", file=out)
        elif cmd == "replug":
            sim.replug()
            print(f"plugged in at {sim.link}", file=out)
        elif cmd == "status":
            print(f"link={sim.link} plugged={sim.plugged} baud={sim.baud} card={sim.card} reads={sim.reads} "
                  f"faults={sorted(f.value for f in sim.faults)}", file=out)
        elif cmd in ("quit", "exit"):
            return False
        else:
            print(CONSOLE_HELP.format(cards=" ".join(sim.cards), faults=" ".join(f.value for f in Fault)),
                  file=out)
    except (KeyError, ValueError) as exc:
        print(f"error: {exc}", file=out)
    return True


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--link", required=True, metavar="PATH", help="where to publish the pty (e.g. /tmp/idcard)")
    ap.add_argument("--baud", type=int, default=115200, choices=p.BAUD_RATES)
    ap.add_argument("--card", choices=sorted(SYNTHETIC_CARDS), help="place this synthetic card at start")
    ap.add_argument("--no-pace", action="store_true", help="do not pace bytes to the baud rate")


def run(args: argparse.Namespace) -> int:
    if os.path.lexists(args.link) and not os.path.islink(args.link):
        print(f"error: {args.link} exists and is not a link; choose another path", file=sys.stderr)
        return 2
    sim = IdCardSimulator(link=args.link, baud=args.baud, pace=not args.no_pace)
    try:
        sim.start()
    except OSError as exc:
        print(f"error: cannot create the pty link {args.link}: {exc}", file=sys.stderr)
        return 2
    if args.card:
        sim.place(args.card)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(f"ID-card reader simulator on {sim.link} at {sim.baud} baud. Type 'help'.", flush=True)
    try:
        if sys.stdin and sys.stdin.isatty():
            reader = threading.Thread(target=_console_loop, args=(sim, done), daemon=True)
            reader.start()
        done.wait()
    finally:
        sim.stop()
    return 0


def _console_loop(sim: IdCardSimulator, done: threading.Event) -> None:
    for line in sys.stdin:
        if not console(sim, line):
            break
    done.set()


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devices.idcard.sim",
                                 description="GA/T 467 ID-card reader simulator on a pty")
    add_arguments(ap)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
