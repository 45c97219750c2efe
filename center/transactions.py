"""Terminal transactions: one item or a batch of up to 500, each idempotent by its client_id.

A kind handler gets (session, ctx, item) and returns the result dict, or raises Refusal (a business or
validation refusal: final, rejected) . Anything else is a server error: the item answers `error` and its key is
released so the terminal retries."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select

from center import idempotency as idem
from center.errors import ApiError
from center.models import AcceptedTransaction, Evaluation
from center.security import TerminalCtx
from sync.protocol import ItemOutcome, ItemResult, TransactionIn

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Refusal(Exception):
    """A final business or validation refusal of one transaction."""

    def __init__(self, code: str, message: str, detail: str = ""):
        super().__init__(f"{code}: {detail or code}")
        self.code, self.message, self.detail = code, message, detail


Handler = Callable[..., dict]
HANDLERS: dict[str, Handler] = {}
BULK_KINDS: set[str] = set()      # kinds whose handler only queues rows in BulkRows (no ORM writes)


def handler(kind: str, *, bulk: bool = False):
    def deco(fn):
        HANDLERS[kind] = fn
        if bulk:
            BULK_KINDS.add(kind)
        return fn
    return deco


class BulkRows:
    """Rows queued by bulk kinds during one batch, inserted with one executemany per table at the end."""

    def __init__(self):
        self.rows: dict = {}

    def add(self, table, row: dict) -> None:
        self.rows.setdefault(table, []).append(row)

    def flush(self, session) -> None:
        from sqlalchemy import insert
        conn = session.connection()
        for table, rows in self.rows.items():
            conn.execute(insert(table), rows)
        self.rows.clear()


def bulk(session) -> BulkRows:
    return session.info.setdefault("hpf.bulk", BulkRows())


def local_day(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).date().isoformat()


def item_fingerprint(item: TransactionIn) -> str:
    d = item.model_dump(mode="json")
    return idem.fingerprint(d["kind"], d["payload"], d["created_at"], d["teller_id"], d["offline"])


def _result(item: TransactionIn, outcome: ItemOutcome, status: int, code: str = "OK", message: str = "",
            result: dict | None = None, replayed: bool = False) -> ItemResult:
    return ItemResult(client_id=item.client_id, outcome=outcome, http_status=status, code=code, message=message,
                      result=result or {}, replayed=replayed)


def _disabled_kinds(session, ctx: TerminalCtx) -> set[str]:
    """Kinds whose service item the operator switched off for this terminal or its channel."""
    from center.catalog import ITEM_CODES, item_enabled
    from center.models import ServiceSwitch
    switches = list(session.scalars(select(ServiceSwitch)))
    return {k for k in HANDLERS if k in ITEM_CODES and not item_enabled(switches, k, ctx.channel, ctx.terminal_id)}


def _run_one(session, ctx: TerminalCtx, item: TransactionIn, taken: dict[str, str],
             disabled: set[str] = frozenset()) -> ItemResult:
    if item.kind in disabled:
        raise Refusal("ITEM_DISABLED", "该业务暂停办理，请到柜台咨询",
                      f"service item {item.kind!r} is switched off for this terminal or channel")
    if item.client_id in taken:      # same client id already used by another terminal
        raise Refusal("CLIENT_ID_CONFLICT", "业务编号重复，请重新办理",
                      f"client_id already accepted from terminal {taken[item.client_id]}")
    if item.teller_id and ctx.teller_id and item.teller_id != ctx.teller_id:
        raise Refusal("TELLER_MISMATCH", "经办柜员与登录柜员不一致", "item teller_id differs from the teller token")
    fn = HANDLERS.get(item.kind)
    if fn is None:
        raise Refusal("UNKNOWN_KIND", "终端提交了中心不支持的业务类型", f"unknown transaction kind {item.kind!r}")
    teller = item.teller_id or ctx.teller_id
    result = fn(session, ctx, item) or {}
    return _result(item, ItemOutcome.ACCEPTED, 200, result=result), teller


def _store(session, ctx, item: TransactionIn, res: ItemResult, teller) -> None:
    now = datetime.now(timezone.utc)
    created = item.created_at if item.created_at.tzinfo else item.created_at.replace(tzinfo=timezone.utc)
    bulk(session).add(AcceptedTransaction.__table__, dict(
        client_id=item.client_id, terminal_id=ctx.terminal_id, kind=item.kind, outcome=res.outcome.value,
        code=res.code, message=res.message, payload=item.payload, result=res.result, teller_id=teller,
        offline=item.offline, created_at=created, received_at=now, local_day=local_day(now)))


def process(db, ctx: TerminalCtx, items: list[TransactionIn]) -> list[ItemResult]:
    """Answers every item, in order. Two short transactions: claim the keys, then do the work."""
    principal = ctx.terminal_id
    with db() as s, s.begin():
        claims = idem.claim_many(s, principal, [(i.client_id, item_fingerprint(i)) for i in items])
    answers: dict[int, ItemResult] = {}
    owned: list[tuple[int, TransactionIn]] = []
    first_pos: dict[str, int] = {}
    for pos, item in enumerate(items):
        c = claims[item.client_id]
        if item.client_id in first_pos:
            continue                                    # duplicate inside the batch: answered below
        first_pos[item.client_id] = pos
        if c.state == "mismatch":
            e = idem.key_reused(item.client_id)
            answers[pos] = _result(item, ItemOutcome.REJECTED, 422, e.code, e.message)
        elif c.state == "in_flight":
            e = idem.in_flight(item.client_id)
            answers[pos] = _result(item, ItemOutcome.IN_FLIGHT, 409, e.code, e.message)
        elif c.state == "replay":
            r = ItemResult.model_validate(c.response)
            answers[pos] = r.model_copy(update={"replayed": True})
        else:
            owned.append((pos, item))
    if owned:
        from center import business  # noqa: F401  (registers the business kinds)
        failed: list[tuple[int, TransactionIn, Exception]] = []
        done: list[tuple[idem.Claim, int, dict]] = []
        with db() as s, s.begin():
            taken = dict(s.execute(select(AcceptedTransaction.client_id, AcceptedTransaction.terminal_id).where(
                AcceptedTransaction.client_id.in_([i.client_id for _, i in owned]))).all())
            disabled = _disabled_kinds(s, ctx)
            for pos, item in owned:
                claim = claims[item.client_id]
                try:
                    if item.kind in BULK_KINDS:           # no ORM writes: no savepoint needed
                        res, teller = _run_one(s, ctx, item, taken, disabled)
                    else:
                        with s.begin_nested():
                            res, teller = _run_one(s, ctx, item, taken, disabled)
                            s.flush()
                    _store(s, ctx, item, res, teller)
                except Refusal as r:
                    res = _result(item, ItemOutcome.REJECTED, 422, r.code, r.message)
                    log.info("transaction %s (%s) from %s rejected: %s %s", item.client_id, item.kind,
                             ctx.terminal_id, r.code, r.detail)
                    if r.code != "CLIENT_ID_CONFLICT":
                        _store(s, ctx, item, res, item.teller_id or ctx.teller_id)
                except Exception as e:  # noqa: BLE001 - answered as a retryable server error
                    log.exception("transaction %s (%s) from %s failed", item.client_id, item.kind, ctx.terminal_id)
                    failed.append((pos, item, e))
                    idem.release(s, principal, claim)
                    continue
                done.append((claim, res.http_status, res.model_dump(mode="json")))
                answers[pos] = res
            s.flush()
            bulk(s).flush(s)
            idem.complete_many(s, principal, done)
        for pos, item, e in failed:
            answers[pos] = _result(item, ItemOutcome.ERROR, 500, "INTERNAL_ERROR", "系统繁忙，请稍后再试")
    out = []
    for pos, item in enumerate(items):
        if pos in answers:
            out.append(answers[pos])
        else:
            first = answers[first_pos[item.client_id]]
            out.append(first.model_copy(update={"replayed": first.outcome == ItemOutcome.ACCEPTED or first.replayed}))
    return out


def get_result(db, ctx: TerminalCtx, client_id: str) -> ItemResult:
    with db() as s:
        row = s.get(AcceptedTransaction, client_id)
        if row is None or row.terminal_id != ctx.terminal_id:
            rec = s.get(idem.IdempotencyRecord, (ctx.terminal_id, client_id))
            if rec is not None and rec.state == "in_flight":
                e = idem.in_flight(client_id)
                return ItemResult(client_id=client_id, outcome=ItemOutcome.IN_FLIGHT, http_status=409,
                                  code=e.code, message=e.message)
            raise ApiError(404, "TRANSACTION_NOT_FOUND", "中心未收到该笔业务",
                           f"no transaction {client_id!r} from terminal {ctx.terminal_id}")
        status = 200 if row.outcome == ItemOutcome.ACCEPTED.value else 422
        return ItemResult(client_id=client_id, outcome=ItemOutcome(row.outcome), http_status=status, code=row.code,
                          message=row.message, result=row.result or {})


def reconcile(db, ctx: TerminalCtx, day: str) -> dict:
    with db() as s:
        rows = s.execute(select(AcceptedTransaction.client_id, AcceptedTransaction.outcome).where(
            AcceptedTransaction.terminal_id == ctx.terminal_id, AcceptedTransaction.local_day == day)
            .order_by(AcceptedTransaction.received_at)).all()
    return {"date": day, "terminal_id": ctx.terminal_id,
            "client_ids": [r.client_id for r in rows if r.outcome == "accepted"],
            "rejected": [r.client_id for r in rows if r.outcome == "rejected"]}


# --- kinds that need no business rule -----------------------------------------------------------------

def require(payload: dict, key: str, typ, zh: str):
    v = payload.get(key)
    if v is None or (typ is int and isinstance(v, bool)) or not isinstance(v, typ):
        raise Refusal("VALIDATION_FAILED", f"缺少或错误的字段：{zh}", f"payload field {key!r} missing or not {typ.__name__}")
    return v


@handler("evaluation", bulk=True)
def _evaluation(session, ctx: TerminalCtx, item: TransactionIn) -> dict:
    """好差评: always accepted when well-formed (score 1..5)."""
    p = item.payload
    score = p.get("score", p.get("rating"))
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise Refusal("VALIDATION_FAILED", "评价等级应为1至5", "evaluation score must be an integer 1..5")
    created = item.created_at if item.created_at.tzinfo else item.created_at.replace(tzinfo=timezone.utc)
    bulk(session).add(Evaluation.__table__, dict(client_id=item.client_id, terminal_id=ctx.terminal_id,
                                                 item_code=str(p.get("item_code", ""))[:32], score=score,
                                                 comment=str(p.get("comment", ""))[:256], created_at=created))
    return {"recorded": True}
