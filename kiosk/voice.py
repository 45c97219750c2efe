"""Spoken prompts (Qt-free). espeak-ng speaks Mandarin well only when fed pinyin with tone numbers
(`-v cmn-latn-pinyin`), so Chinese text goes through pypinyin first; English goes to `-v en`.

One utterance at a time: a new prompt interrupts the previous one (its espeak-ng process, by the PID we
started). `mute` speaks nothing and keeps what it would have said (tests assert on it).
HPF_KIOSK_VOICE=mute|espeak overrides settings.ui.voice (the test runner sets mute)."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from typing import Optional

log = logging.getLogger(__name__)

ENV_VOICE = "HPF_KIOSK_VOICE"


class Voice:
    name = "base"

    def say(self, text: str, lang: str = "zh_CN") -> None:
        raise NotImplementedError

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.stop()


class MuteVoice(Voice):
    """Says nothing; remembers the last prompts (bounded) so tests can check what would be spoken."""
    name = "mute"

    def __init__(self, keep: int = 200):
        self.spoken: list[tuple[str, str]] = []
        self._keep = keep

    def say(self, text: str, lang: str = "zh_CN") -> None:
        self.spoken.append((lang, text))
        del self.spoken[:-self._keep]

    def forget(self) -> None:
        self.spoken.clear()


_DIGITS = {"0": "ling2", "1": "yi1", "2": "er4", "3": "san1", "4": "si4", "5": "wu3", "6": "liu4",
           "7": "qi1", "8": "ba1", "9": "jiu3", "*": "xing1"}


def to_pinyin(text: str) -> str:
    """'请放置身份证' -> 'qing3 fang4 zhi4 shen1 fen4 zheng4'; punctuation becomes a pause, digits stay."""
    from pypinyin import Style, lazy_pinyin
    parts = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda s: list(s))
    out: list[str] = []
    for p in parts:
        if p.strip() == "":
            continue
        if p in "，。！？；：、,.!?;:":
            out.append(",")
        elif p in _DIGITS:
            out.append(_DIGITS[p])
        else:
            out.append(p)
    return " ".join(out).replace(" ,", ",")


class EspeakVoice(Voice):
    """espeak-ng processes started and stopped on a voice thread of their own: say() only hands the text
    over, so the caller (the Qt thread) never waits for a process to start or to die."""
    name = "espeak"

    def __init__(self, binary: str = "espeak-ng", speed: int = 150, amplitude: int = 120,
                 wav_file: Optional[str] = None):
        self.binary = binary
        self.wav_file = wav_file          # write the speech to this file instead of the sound card
        self.speed = speed
        self.amplitude = amplitude
        self._proc: Optional[subprocess.Popen] = None
        self._pending: Optional[tuple[str, str, int]] = None
        self._seq = 0                     # utterances asked for; the running one knows its own number
        self._running_seq = 0
        self._cond = threading.Condition()
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._loop, name="voice", daemon=True)
        self._thread.start()

    def command(self, text: str, lang: str) -> list[str]:
        out = ["-w", self.wav_file] if self.wav_file else []
        if lang == "en":
            return [self.binary, "-v", "en", "-s", str(self.speed), "-a", str(self.amplitude), *out, text]
        return [self.binary, "-v", "cmn-latn-pinyin", "-s", str(self.speed), "-a", str(self.amplitude), *out,
                to_pinyin(text)]

    def say(self, text: str, lang: str = "zh_CN") -> None:
        """Queue the prompt (the newest replaces any not yet started) and interrupt the current one."""
        with self._cond:
            self._seq += 1
            self._pending = (text, lang, self._seq)
            self._idle.clear()
            self._cond.notify()
        self._interrupt()

    def stop(self) -> None:
        with self._cond:
            self._pending = None
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def _interrupt(self) -> None:
        """Stop the utterance being spoken if a newer one is waiting (never the newest itself)."""
        with self._cond:
            proc = self._proc if self._running_seq < self._seq or self._closed else None
        if proc is not None and proc.poll() is None:
            proc.terminate()            # the process we started, by its handle

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._idle.set()
                    self._cond.wait()
                if self._closed:
                    return
                text, lang, seq = self._pending
                self._pending = None
            try:
                proc = subprocess.Popen(self.command(text, lang), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                with self._cond:
                    self._proc, self._running_seq = proc, seq
                proc.wait()
            except OSError as exc:
                log.warning("voice: espeak-ng could not start: %s", exc)
            finally:
                self._proc = None

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued has been spoken (tests, file output)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify()
        self._interrupt()
        self._thread.join(timeout=5)


def build_voice(configured: str = "espeak") -> Voice:
    choice = os.environ.get(ENV_VOICE) or configured
    if choice == "espeak":
        binary = shutil.which("espeak-ng")
        if binary:
            return EspeakVoice(binary)
        log.warning("voice: espeak-ng not installed; prompts are shown but not spoken")
    return MuteVoice()
