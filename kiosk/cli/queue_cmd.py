"""hpf-kiosk queue status | list | show ID | retry ID | export FILE   (technician; personal data masked)"""
from __future__ import annotations

import csv
import json
import logging
import sys
from datetime import datetime
from pathlib import Path

from kiosk.domain.masking import mask_card, mask_id_number, mask_name, mask_phone, mask_text

log = logging.getLogger(__name__)

STATES = ("draft", "queued", "sending", "accepted", "rejected", "needs_review", "canceled")


def register(sub, common) -> None:
    p = sub.add_parser("queue", help="the local journal / outbox: status, items, retry, export (masked)",
                       parents=[common])
    s = p.add_subparsers(dest="queue_cmd", metavar="ACTION", required=True)
    st = s.add_parser("status", help="queue depth, queued amount, oldest queued age, counts per state",
                      parents=[common])
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    ls = s.add_parser("list", help="recent transactions, newest first", parents=[common])
    ls.add_argument("--state", choices=STATES)
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    sh = s.add_parser("show", help="one transaction (id or unique prefix): masked payload and state history",
                      parents=[common])
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)
    rt = s.add_parser("retry", help="send again now (queued: skip the backoff; needs_review: requeue)",
                      parents=[common])
    rt.add_argument("id")
    rt.add_argument("--by", default="technician", help="who asks (recorded in the history and the audit log)")
    rt.set_defaults(func=cmd_retry)
    ex = s.add_parser("export", help="write the journal to FILE (.csv or .jsonl), personal data masked",
                      parents=[common])
    ex.add_argument("file")
    ex.add_argument("--state", choices=STATES)
    ex.set_defaults(func=cmd_export)


# --- masking of payloads (routes each field to kiosk.domain.masking) ------------------------------------

_NAME_KEYS = ("name", "xingming", "xm", "holder", "payee")
_ID_KEYS = ("id_number", "idcard", "id_no", "zjhm", "certificate_no")
_PHONE_KEYS = ("phone", "mobile", "sjhm", "tel")
_CARD_KEYS = ("card", "pan", "account_no", "yhzh")


def mask_payload(value, key: str = ""):
    k = key.lower()
    if isinstance(value, dict):
        return {kk: mask_payload(v, str(kk)) for kk, v in value.items()}
    if isinstance(value, list):
        return [mask_payload(v, key) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return mask_text(str(value)) if abs(value) > 10 ** 10 else value
    if not isinstance(value, str):
        return value
    if any(k == n or k.endswith("_" + n) for n in _NAME_KEYS):
        return mask_name(value)
    if any(n in k for n in _ID_KEYS):
        return mask_id_number(value)
    if any(n in k for n in _PHONE_KEYS):
        return mask_phone(value)
    if any(n in k for n in _CARD_KEYS):
        return mask_card(value)
    return mask_text(value)


# --- helpers -------------------------------------------------------------------------------------------

def _open(args, actor: str = "technician"):
    from kiosk.cli.main import load
    from sync.journal import Journal
    settings = load(args)
    audit = None
    try:
        from kiosk.audit import AuditLog
        audit = AuditLog.open(settings).sink(actor)
    except Exception as exc:   # reading the queue must work even if the audit log is damaged
        log.warning("audit log unavailable (%s); continuing without it", exc)
    return Journal.open(settings, audit=audit)


def _fail(exc) -> int:
    code = getattr(exc, "code", "ERROR")
    zh = getattr(exc, "message_zh", "")
    print(f"{code}: {zh}", file=sys.stderr)
    detail = getattr(exc, "detail", "") or str(exc)
    if detail:
        print(f"  {detail}", file=sys.stderr)
    log.error("queue command failed: %s %s", code, detail)
    return 1


def _yuan(fen) -> str:
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def _local(dt: datetime | None) -> str:
    if dt is None:
        return "-"
    from sync.journal import LOCAL_TZ
    return dt.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _age(seconds: int) -> str:
    h, rem = divmod(int(seconds), 3600)
    return f"{h}h{rem // 60:02d}m"


def _row(e) -> dict:
    return {"client_id": e.client_id, "kind": e.kind, "state": e.state.value, "status_zh": e.status_text_zh,
            "created_at": e.created_at.isoformat(), "amount_fen": e.amount_fen, "teller_id": e.teller_id,
            "offline": e.offline, "attempts": e.attempts, "code": e.last_code, "message_zh": e.last_message,
            "accepted_at": e.accepted_at.isoformat() if e.accepted_at else None, "review_note": e.review_note}


# --- commands ------------------------------------------------------------------------------------------

def cmd_status(args) -> int:
    from sync.journal import JournalError
    try:
        j = _open(args)
    except (JournalError, OSError) as exc:
        return _fail(exc)
    with j:
        f = j.figures()
    data = {"queue_depth": f.depth, "queued_amount_fen": f.queued_amount_fen, "oldest_queued_age_s": f.oldest_age_s,
            "by_state": f.by_state}
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"待上传 queued:        {f.depth}")
    print(f"待确认金额 amount:    {_yuan(f.queued_amount_fen)} 元")
    print(f"最早待传 oldest age:  {_age(f.oldest_age_s) if f.depth else '-'}")
    for state in STATES:
        if f.by_state.get(state):
            print(f"  {state:<13} {f.by_state[state]}")
    if f.rejected or f.needs_review:
        print(f"注意: {f.rejected} 笔被中心拒绝, {f.needs_review} 笔待人工核对 (hpf-kiosk queue list --state rejected)")
    return 0


def cmd_list(args) -> int:
    from sync.journal import JournalError
    try:
        with _open(args) as j:
            entries = j.list(state=args.state, limit=max(1, args.limit))
    except (JournalError, OSError) as exc:
        return _fail(exc)
    if args.json:
        for e in entries:
            print(json.dumps(_row(e), ensure_ascii=False))
        return 0
    if not entries:
        print("(none)")
    for e in entries:
        note = f"  {e.last_code}: {e.last_message}" if e.state.value in ("rejected", "needs_review") else ""
        print(f"{e.client_id}  {_local(e.created_at)}  {e.kind:<16} {e.state.value:<12} "
              f"{_yuan(e.amount_fen):>12}{'  offline' if e.offline else ''}{note}")
    return 0


def cmd_show(args) -> int:
    from sync.journal import JournalError
    try:
        with _open(args) as j:
            e = j.find(args.id)
            hist = j.history(e.client_id)
            j.audit_event("queue.show", client_id=e.client_id)
    except (JournalError, OSError) as exc:
        return _fail(exc)
    doc = _row(e) | {"payload": mask_payload(e.payload or {}), "result": mask_payload(e.result or {}),
                     "history": [{"at": h.at.isoformat(), "from": h.from_state, "to": h.to_state, "code": h.code,
                                  "note": h.note} for h in hist]}
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    print(f"业务编号 client id: {e.client_id}")
    print(f"业务 kind:          {e.kind}")
    print(f"状态 state:         {e.state.value} ({e.status_text_zh})")
    print(f"金额 amount:        {_yuan(e.amount_fen)} 元")
    print(f"创建 created:       {_local(e.created_at)}{'  (offline)' if e.offline else ''}")
    if e.teller_id:
        print(f"柜员 teller:        {e.teller_id}")
    if e.last_code:
        print(f"中心答复 center:    {e.last_code} {e.last_message or ''}")
    print("内容 payload (masked):")
    print("  " + json.dumps(doc["payload"], ensure_ascii=False))
    print("历史 history:")
    for h in hist:
        print(f"  {_local(h.at)}  {h.from_state or '-':>12} -> {h.to_state:<12} {h.code or ''} {h.note or ''}")
    return 0


def cmd_retry(args) -> int:
    from sync.journal import JournalError
    try:
        with _open(args) as j:
            e = j.find(args.id)
            j.retry(e.client_id, by=args.by)
    except (JournalError, OSError) as exc:
        return _fail(exc)
    print(f"{e.client_id}: queued for sending now (the sync worker picks it up)")
    return 0


def cmd_export(args) -> int:
    from sync.journal import JournalError
    out = Path(args.file)
    try:
        with _open(args) as j:
            rows = []
            for e in j.iter_all(with_payload=True):
                if args.state and e.state.value != args.state:
                    continue
                rows.append(_row(e) | {"payload": mask_payload(e.payload or {})})
            j.audit_event("queue.export", file=str(out), count=len(rows))
    except (JournalError, OSError) as exc:
        return _fail(exc)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            with open(out, "w", newline="", encoding="utf-8-sig") as fh:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["client_id"])
                w.writeheader()
                for r in rows:
                    w.writerow(r | {"payload": json.dumps(r["payload"], ensure_ascii=False)})
        else:
            with open(out, "w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    except OSError as exc:
        print(f"EXPORT_FAILED: 导出文件无法写入\n  {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{len(rows)} transactions written to {out} (personal data masked)")
    return 0
