"""The center's own settings (not the kiosk's config/schema.py): from arguments and HPF_CENTER_* variables."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FACE_FAIL_IDS = ("330802199311111335",)   # demo person 郑浩: face never matches (README)


@dataclass
class CenterConfig:
    db_url: str = "sqlite:///var/center/center.sqlite3"
    data_dir: Path = Path("var/center")                     # signing key lives here
    operator_token: str = ""                                 # admin API bearer token
    center_code: str = "C33080"
    center_name: str = "衢州市住房公积金中心"
    face_fail_ids: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_FACE_FAIL_IDS))
    sandbox: bool = True                                     # sandbox SMS outbox readable over HTTP
    face_min_size_px: int = 80
    face_threshold: int = 80
    sms_ttl_s: int = 300
    sms_max_attempts: int = 5
    sms_min_interval_s: int = 60
    sms_max_per_day: int = 10
    idempotency_retention_days: int = 30
    enroll_code_ttl_s: int = 24 * 3600
    teller_max_failures: int = 5
    teller_lockout_s: int = 15 * 60
    teller_token_ttl_s: int = 8 * 3600
    case_auto_advance_minutes: int = 0                       # sandbox: advance open cases after N min (0 = off)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "CenterConfig":
        env = os.environ if env is None else env
        cfg = cls()
        if env.get("HPF_CENTER_DB"):
            cfg.db_url = env["HPF_CENTER_DB"]
        if env.get("HPF_CENTER_DATA_DIR"):
            cfg.data_dir = Path(env["HPF_CENTER_DATA_DIR"])
        cfg.operator_token = env.get("HPF_CENTER_OPERATOR_TOKEN", "")
        if env.get("HPF_CENTER_SANDBOX") is not None:
            cfg.sandbox = env["HPF_CENTER_SANDBOX"].strip().lower() not in ("0", "false", "no", "off")
        if env.get("HPF_CENTER_FACE_FAIL_IDS") is not None:
            cfg.face_fail_ids = frozenset(x.strip().upper() for x in env["HPF_CENTER_FACE_FAIL_IDS"].split(",")
                                          if x.strip())
        if env.get("HPF_CENTER_CASE_AUTO_ADVANCE_MIN"):
            cfg.case_auto_advance_minutes = max(0, int(env["HPF_CENTER_CASE_AUTO_ADVANCE_MIN"]))
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        if not cfg.operator_token:
            cfg.operator_token = secrets.token_urlsafe(24)
        return cfg
