"""Masked log export (to a folder the technician picks, e.g. a USB stick) and the masked bundle for a remote
log upload. Every line is masked again on the way out (kiosk.domain.masking.mask_text), whatever the
logging filter did when it was written: a line written before a masking rule existed leaves masked too."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.domain.masking import mask_text
from kiosk.staff.errors import StaffError

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 19 * 1024 * 1024       # the center takes ≤ 20 MB


def log_files(settings) -> list[Path]:
    d = Path(settings.paths.log_dir)
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if p.is_file() and (".log" in p.name or ".jsonl" in p.name)),
                  key=lambda p: p.name)


MOUNT_ROOTS = ("/media", "/run/media", "/mnt")


def candidate_folders(extra: "list[str | Path]" = (), roots=MOUNT_ROOTS) -> list[str]:
    """Folders a technician without a keyboard can pick: mounted USB sticks (/media/<stick>, /media/<user>/<stick>,
    /run/media/<user>/<stick>, /mnt/<stick>) that are writable, plus `extra` (e.g. the configured export dir)."""
    out: list[str] = []

    def add(p: Path) -> None:
        if p.is_dir() and os.access(p, os.W_OK) and str(p) not in out:
            out.append(str(p))
    for e in extra:
        if e:
            add(Path(e))
    for root in roots:
        r = Path(root)
        try:
            children = sorted(c for c in r.iterdir() if c.is_dir())
        except OSError:
            continue
        for c in children:
            try:
                inner = sorted(g for g in c.iterdir() if g.is_dir()) if not os.path.ismount(c) else []
            except OSError:
                inner = []
            for g in inner or [c]:
                add(g)
    return out[:6]


def _masked_lines(path: Path):
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            yield mask_text(line.rstrip("\n"))


@dataclass
class ExportResult:
    folder: Path
    files: list[str] = field(default_factory=list)
    lines: int = 0

    def view(self) -> dict:
        return {"folder": str(self.folder), "files": list(self.files), "lines": self.lines}


def export_logs(settings, dest: "str | Path") -> ExportResult:
    """Writes masked copies into <dest>/hpf-logs-<terminal>-<UTC stamp>/; returns what was written."""
    dest = Path(dest)
    if not dest.is_dir():
        raise StaffError("LOG_EXPORT_DEST", "所选位置不存在或不是文件夹", f"{dest} is not a directory")
    if not os.access(dest, os.W_OK):
        raise StaffError("LOG_EXPORT_DEST", "所选位置不能写入（U盘是否只读？）", f"{dest} is not writable")
    folder = dest / f"hpf-logs-{settings.terminal.id}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    try:
        folder.mkdir()
        out = ExportResult(folder)
        for src in log_files(settings):
            target = folder / src.name
            with open(target, "w", encoding="utf-8") as fh:
                for line in _masked_lines(src):
                    fh.write(line + "\n")
                    out.lines += 1
                fh.flush()
                os.fsync(fh.fileno())
            out.files.append(src.name)
    except OSError as exc:
        raise StaffError("LOG_EXPORT_FAILED", "日志导出失败（空间不足或设备已拔出？）",
                         f"export to {folder}: {exc.strerror or exc}") from None
    log.info("exported %d masked log lines in %d files to %s", out.lines, len(out.files), folder)
    return out


def masked_bundle(settings, limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """All log files, masked, newest lines kept when the total is over `limit`."""
    chunks: list[bytes] = []
    for src in log_files(settings):
        chunks.append(f"==> {src.name} <==\n".encode())
        chunks.extend((line + "\n").encode("utf-8") for line in _masked_lines(src))
    data = b"".join(chunks)
    return data[-limit:] if len(data) > limit else data
