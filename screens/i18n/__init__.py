"""Chinese and English through Qt's translation system.

Source strings in screens/ are Chinese, wrapped in the _ function; screens/i18n/hpf_en.ts holds the English
(edit it with Qt Linguist or by hand). The .qm is compiled with pyside6-lrelease (shipped in the
PySide6-Essentials wheel) when the .ts is newer; the committed .qm is used if lrelease is missing."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CONTEXT = "hpf"
TS = {"en": HERE / "hpf_en.ts"}


def _(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """Translate a Chinese source text; with n, '%n' is replaced (and plural forms chosen)."""
    return QCoreApplication.translate(CONTEXT, text, disambiguation, n)


def lrelease() -> str | None:
    exe = Path(sys.executable).with_name("pyside6-lrelease")
    if exe.exists():
        return str(exe)
    return shutil.which("pyside6-lrelease") or shutil.which("lrelease")


def compile_qm(lang: str, force: bool = False) -> Path:
    """The .qm for `lang`, rebuilt from the .ts if the .ts is newer (or force)."""
    ts = TS[lang]
    qm = ts.with_suffix(".qm")
    if force or not qm.exists() or qm.stat().st_mtime < ts.stat().st_mtime:
        tool = lrelease()
        if tool:
            res = subprocess.run([tool, "-silent", str(ts), "-qm", str(qm)], capture_output=True, text=True,
                                 timeout=60)
            if res.returncode != 0:
                log.warning("lrelease failed for %s: %s", ts.name, res.stderr.strip())
        elif not qm.exists():
            log.warning("no lrelease and no compiled %s: English texts will show in Chinese", qm.name)
    return qm


class Translations:
    """Installs/removes the translator on the application; Chinese is the source language."""

    def __init__(self, app):
        self.app = app
        self.translator: QTranslator | None = None
        self.language = "zh_CN"

    def set(self, lang: str) -> bool:
        if self.translator:
            self.app.removeTranslator(self.translator)
            self.translator = None
        self.language = lang
        if lang == "zh_CN":
            return True
        tr = QTranslator(self.app)
        qm = compile_qm(lang)
        if not tr.load(str(qm)):
            log.warning("translation %s could not be loaded from %s", lang, qm)
            return False
        self.app.installTranslator(tr)
        self.translator = tr
        return True
