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
    name = "espeak"

    def __init__(self, binary: str = "espeak-ng", speed: int = 150, amplitude: int = 120,
                 wav_file: Optional[str] = None):
        self.binary = binary
        self.wav_file = wav_file          # write the speech to this file instead of the sound card
        self.speed = speed
        self.amplitude = amplitude
        self._proc: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()

    def command(self, text: str, lang: str) -> list[str]:
        out = ["-w", self.wav_file] if self.wav_file else []
        if lang == "en":
            return [self.binary, "-v", "en", "-s", str(self.speed), "-a", str(self.amplitude), *out, text]
        return [self.binary, "-v", "cmn-latn-pinyin", "-s", str(self.speed), "-a", str(self.amplitude), *out,
                to_pinyin(text)]

    def wait(self, timeout: float = 30.0) -> Optional[int]:
        """Wait for the current utterance to end (tests, file output); returns its exit status."""
        with self._lock:
            proc = self._proc
        return proc.wait(timeout=timeout) if proc else None

    def say(self, text: str, lang: str = "zh_CN") -> None:
        """Start speaking and return at once (never blocks the caller)."""
        self.stop()
        try:
            proc = subprocess.Popen(self.command(text, lang), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            log.warning("voice: espeak-ng could not start: %s", exc)
            return
        with self._lock:
            self._proc = proc

    def stop(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc and proc.poll() is None:
            proc.terminate()            # the process we started, by its handle
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=1)


def build_voice(configured: str = "espeak") -> Voice:
    choice = os.environ.get(ENV_VOICE) or configured
    if choice == "espeak":
        binary = shutil.which("espeak-ng")
        if binary:
            return EspeakVoice(binary)
        log.warning("voice: espeak-ng not installed; prompts are shown but not spoken")
    return MuteVoice()
