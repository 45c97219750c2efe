"""Downward sync (catalog with ETag, cached on disk for offline use) and the heartbeat (up, every minute)."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from sync.client import CenterPort
from sync.journal import Journal
from sync.protocol import AuditHead, Catalog, Heartbeat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachedCatalog:
    catalog: Catalog
    etag: Optional[str]
    fetched_at: float


class CatalogCache:
    """The last catalog the center sent, kept in one JSON file written atomically (tmp + fsync + rename)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def for_settings(cls, settings) -> "CatalogCache":
        return cls(Path(settings.paths.data_dir) / "catalog.json")

    def load(self) -> Optional[CachedCatalog]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return CachedCatalog(Catalog.model_validate(data["catalog"]), data.get("etag"),
                                 float(data.get("fetched_at", 0)))
        except FileNotFoundError:
            return None
        except Exception as exc:   # a damaged cache must not stop the kiosk: fetch again
            log.warning("catalog cache %s is unreadable (%s); ignoring it", self.path, exc)
            return None

    def store(self, catalog: Catalog, etag: Optional[str], fetched_at: float | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a unique temp name: two refreshes at once (worker + technician) must not share one
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        doc = {"etag": etag, "fetched_at": fetched_at or time.time(), "catalog": catalog.model_dump(mode="json")}
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def refresh(self, port: CenterPort) -> tuple[CachedCatalog, bool]:
        """Ask the center (If-None-Match); returns (catalog in force, changed?). Center errors propagate."""
        cached = self.load()
        catalog, etag = port.fetch_catalog(cached.etag if cached else None)
        now = time.time()
        if catalog is None and cached is not None:       # 304: unchanged
            self.store(cached.catalog, cached.etag, now)
            return CachedCatalog(cached.catalog, cached.etag, now), False
        if catalog is None:
            raise RuntimeError("center answered 304 but no catalog is cached")
        self.store(catalog, etag, now)
        log.info("catalog %s cached (etag %s)", catalog.version, etag)
        return CachedCatalog(catalog, etag, now), True


def _audit_head(value: Any) -> Optional[AuditHead]:
    if value is None:
        return None
    if isinstance(value, AuditHead):
        return value
    if isinstance(value, dict):
        return AuditHead(seq=int(value["seq"]), hash=str(value["hash"]))
    if isinstance(value, (tuple, list)):
        return AuditHead(seq=int(value[0]), hash=str(value[1]))
    return AuditHead(seq=int(getattr(value, "seq")), hash=str(getattr(value, "hash")))


def build_heartbeat(terminal_id: str, journal: Journal, software_version: str,
                    devices: Callable[[], dict[str, str]] | None = None,
                    audit_head: Callable[[], Any] | None = None) -> Heartbeat:
    """Device status, queue depth, oldest queued age, software version and the audit head, as of now."""
    fig = journal.figures()
    dev: dict[str, str] = {}
    if devices is not None:
        try:
            dev = {str(k): str(getattr(v, "value", v)) for k, v in devices().items()}
        except Exception:
            log.exception("device status for the heartbeat failed")
    head = None
    if audit_head is not None:
        try:
            head = _audit_head(audit_head())
        except Exception:
            log.exception("audit head for the heartbeat failed")
    return Heartbeat(terminal_id=terminal_id, sent_at=datetime.now(timezone.utc), software_version=software_version,
                     queue_depth=fig.depth, oldest_queued_age_s=fig.oldest_age_s, devices=dev, audit_head=head)
