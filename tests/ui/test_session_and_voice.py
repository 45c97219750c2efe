"""Session rules, speech and translations, without a window."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import wave
from pathlib import Path
from xml.etree import ElementTree

import pytest

from kiosk.voice import EspeakVoice, MuteVoice, build_voice, to_pinyin

from tests.ui.conftest import tile

ROOT = Path(__file__).resolve().parents[2]


def test_idle_session_warns_then_ends_and_wipes(terminal, clock, sims):
    events = []
    terminal.events.subscribe(lambda name, kw: events.append(name))
    terminal.start_session(tile(terminal, "account_query"))
    flow = terminal.identify()
    sims.idcard.place()
    terminal.tasks.run_until(lambda: flow.document is not None, 5)
    clock.advance(59)
    terminal.tick()
    assert "idle_warning" not in events
    clock.advance(2)                                   # 29 s left, inside the 30 s warning
    terminal.tick()
    assert "idle_warning" in events and "idle_countdown" in events
    clock.advance(29)
    terminal.tick()
    assert terminal.session is None and "session_ended" in events
    assert flow.document is None
    assert ("zh_CN", "长时间未操作，已为您安全退出") in terminal.voice.spoken


def test_extending_is_one_tap_and_limited(terminal, clock):
    terminal.start_session(tile(terminal, "loan_calculator"))
    limit = terminal.settings.session.max_extensions
    for _ in range(limit):
        clock.advance(70)
        terminal.tick()
        assert terminal.extend()
    clock.advance(70)
    terminal.tick()
    assert not terminal.extend()                      # the 11th extension is refused, plainly
    assert ("zh_CN", "已达最长办理时间，请联系工作人员") in terminal.voice.spoken
    clock.advance(30)
    terminal.tick()
    assert terminal.session is None


def test_touching_the_screen_keeps_the_session_alive(terminal, clock):
    terminal.start_session(tile(terminal, "loan_calculator"))
    for _ in range(5):
        clock.advance(50)
        terminal.touch()
        terminal.tick()
    assert terminal.session is not None


def test_taking_the_bank_card_out_after_identification_ends_the_session(terminal, sims):
    terminal.start_session(tile(terminal, "withdrawal"))
    flow = terminal.identify()
    sims.idcard.place()
    terminal.tasks.run_until(lambda: flow.busy == "read_card", 5)
    sims.cardreader.insert()
    assert terminal.tasks.run_until(lambda: flow.finished, 5) and flow.used >= {"bank_card"}
    terminal.tick()
    assert terminal.session is not None               # card still in: the customer goes on
    sims.cardreader.remove()
    terminal.tick()
    assert terminal.session is None
    assert ("zh_CN", "银行卡已取出，本次办理结束") in terminal.voice.spoken


def test_cards_and_paper_left_behind_are_announced_until_taken(terminal, sims, clock):
    reminders = []
    terminal.events.subscribe(lambda n, kw: reminders.append([m.code for m in kw["messages"]]) if n == "reminders" else None)
    terminal.start_session(tile(terminal, "account_query"))
    flow = terminal.identify()
    sims.idcard.place()
    terminal.tasks.run_until(lambda: flow.finished, 5)
    terminal.finish_session()
    terminal.tasks.run_until(lambda: sims.printer.paper_present(), 5)
    terminal.tick()
    assert reminders[-1] == ["REMIND_ID_CARD", "REMIND_RECEIPT"]
    terminal.voice.forget()
    clock.advance(10)
    terminal.tick()                                   # repeated while still there
    assert ("zh_CN", "请取走您的身份证") in terminal.voice.spoken
    sims.idcard.lift()
    sims.printer.take()
    terminal.tick()
    assert reminders[-1] == []


def test_help_is_acknowledged_and_audited(terminal):
    audited = []
    terminal.audit = lambda event, **f: audited.append(event)
    msg = terminal.call_staff("home")
    assert msg.zh == "已通知工作人员，请稍候" and audited == ["staff_called"]


def test_the_core_imports_no_qt():
    for path in (ROOT / "kiosk").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith(("PySide6", "PyQt", "shiboken")) for n in names), path
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("screens"):
                assert path.name in ("app.py", "run_cmd.py"), f"{path} reaches into screens/"


def test_chinese_prompts_are_spoken_as_pinyin_with_tones():
    assert to_pinyin("请插入银行卡") == "qing3 cha1 ru4 yin2 hang2 ka3"
    assert to_pinyin("138****8000。") == "yi1 san1 ba1 xing1 xing1 xing1 xing1 ba1 ling2 ling2 ling2,"


def test_espeak_speaks_mandarin_into_a_wav(tmp_path):
    assert shutil.which("espeak-ng") and EspeakVoice().binary, \
        "espeak-ng missing: scripts/setup.sh installs it (Debian package espeak-ng)"
    out = tmp_path / "prompt.wav"
    voice = EspeakVoice(wav_file=str(out))
    voice.say("请将身份证放在读卡区")
    assert voice.wait()
    voice.close()
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() > 1.0        # more than a second of speech


def test_tests_run_muted_and_mute_remembers(monkeypatch):
    monkeypatch.setenv("HPF_KIOSK_VOICE", "mute")
    voice = build_voice("espeak")
    assert isinstance(voice, MuteVoice)
    voice.say("你好")
    assert voice.spoken == [("zh_CN", "你好")]


def test_every_screen_text_has_an_english_translation_and_the_qm_builds(tmp_path):
    sources = set()
    for path in (ROOT / "screens").rglob("*.py"):
        sources |= set(re.findall(r'\b_\("((?:[^"\\]|\\.)*)"', path.read_text(encoding="utf-8")))
    root = ElementTree.parse(ROOT / "screens" / "i18n" / "hpf_en.ts").getroot()
    translated = {}
    for msg in root.iter("message"):
        tr = msg.find("translation")
        forms = [f.text for f in tr.findall("numerusform")] or [tr.text]
        assert tr.get("type") != "unfinished" and all(forms), msg.find("source").text
        translated[msg.find("source").text] = forms
    missing = sources - set(translated)
    assert not missing, f"not in hpf_en.ts: {sorted(missing)}"
    from screens.i18n import lrelease
    tool = lrelease()
    assert tool, "pyside6-lrelease ships with PySide6-Essentials"
    qm = tmp_path / "hpf_en.qm"
    subprocess.run([tool, "-silent", str(ROOT / "screens" / "i18n" / "hpf_en.ts"), "-qm", str(qm)], check=True)
    assert qm.stat().st_size > 1000


def test_the_installed_qt_keeps_references_to_none(qapp):
    # PySide6-Essentials 6.12.0 on Python 3.11 drops one reference to None per void call: a long-running
    # kiosk would abort with "deallocating None". setup.cfg pins <6.12; this catches a regression.
    from screens.app import none_refcount_leak
    assert none_refcount_leak() == 0


def test_at_power_on_home_shows_the_cached_catalog_and_tiles_wait_until_devices_are_attached(settings, sims, center):
    from kiosk.app import new_terminal
    from tests.ui.conftest import demo_catalog
    cache = settings.paths.data_dir / "catalog.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text('{"etag": "x", "catalog": ' + demo_catalog().model_dump_json() + '}', encoding="utf-8")
    terminal = new_terminal(settings)
    try:
        assert terminal.starting and {t.code for t in terminal.tiles()} >= {"withdrawal", "loan_calculator"}
        assert not any(t.available for t in terminal.tiles())
        assert terminal.tiles()[0].note_zh == "正在启动，请稍候"
        terminal.attach(sims, center)
        terminal.set_network(True)
        assert not terminal.starting and all(t.available for t in terminal.tiles())
    finally:
        terminal.close()


def test_a_new_prompt_interrupts_the_one_being_spoken_and_is_itself_spoken(tmp_path):
    assert shutil.which("espeak-ng") and EspeakVoice().binary, \
        "espeak-ng missing: scripts/setup.sh installs it (Debian package espeak-ng)"
    out = tmp_path / "last.wav"
    voice = EspeakVoice(wav_file=str(out))
    voice.say("您长时间未操作，三十秒后将退出，如需继续请点击继续办理。" * 3)
    voice.say("已通知工作人员，请稍候", "zh_CN")
    assert voice.wait()
    voice.close()
    with wave.open(str(out)) as w:                    # the file holds the second, short prompt, complete
        seconds = w.getnframes() / w.getframerate()
    assert 0.8 < seconds < 6


def test_face_guidance_is_spoken_calmly_not_at_every_frame(terminal, clock):
    from kiosk.flows.identification import FACE_HINTS
    for hint in ("no_face", "too_far", "no_face", "too_far"):          # a flickering camera report
        terminal._speak_guidance(FACE_HINTS[hint])
    said = [t for _, t in terminal.voice.spoken]
    assert said == ["未检测到人脸，请正对摄像头"]
    clock.advance(3)
    terminal._speak_guidance(FACE_HINTS["too_far"])
    terminal._speak_guidance(FACE_HINTS["ok"])                           # always said
    assert [t for _, t in terminal.voice.spoken][1:] == ["请靠近一些", "很好，正在核验"]
