"""The API's half of a payment's lineage: when it was received and recorded, when Kafka
acknowledged it, and the trace id it carried. The consumer composes it with its own half.

A payment is visible only to the key that accepted it (another key gets 404, as if unknown).
"""

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Query
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from payment_events.money import canonical_amount
from service_kit.errors import NotFound, TransientStoreError
from service_kit.failures import is_transient
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA
from transaction_api.accept import Caller
from transaction_api.context import IDEMPOTENCY_KEY, CallerDep, Context, Engine

router = APIRouter(tags=["lineage"])
from transaction_api.outbox.requests import T  # noqa: E402

_COLUMNS = """event_id, scope, payer_id, payee_id, amount, currency, created_at, published_at,
    publish_attempts, last_publish_error, event_headers"""
PROBLEMS: dict[int | str, dict[str, Any]] = {c: PROBLEM_RESPONSE_SCHEMA
                                             for c in (401, 404, 422, 503)}


async def _one(engine: AsyncEngine, where: str, params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM {T} WHERE {where}"),
                                      params)).first()
    except Exception as exc:
        if is_transient(exc):
            raise TransientStoreError("payment store unavailable") from exc
        raise
    return dict(row._mapping) if row is not None else None


def _trace(headers: Any) -> tuple[str | None, str | None]:
    if isinstance(headers, str | bytes):
        headers = orjson.loads(headers)
    for name, value in headers or []:
        if name in ("ce_traceparent", "traceparent") and isinstance(value, str):
            parts = value.split("-")
            return value, parts[1] if len(parts) == 4 else None
    return None, None


def _half(row: dict[str, Any] | None, caller: Caller, keys_enabled: bool) -> dict[str, Any]:
    if row is None or (keys_enabled and row["scope"] != caller.scope):
        raise NotFound("no such payment for this key")
    traceparent, trace_id = _trace(row["event_headers"])
    return {
        "event_id": str(row["event_id"]), "payer_id": row["payer_id"],
        "payee_id": row["payee_id"], "currency": row["currency"],
        "amount": canonical_amount(row["amount"], row["currency"]),
        # One row is both the idempotency record and the outbox entry, committed before the
        # 202: "received" and "recorded" are that one durable moment.
        "received_at": row["created_at"].isoformat(),
        "recorded_at": row["created_at"].isoformat(),
        "published_at": row["published_at"].isoformat() if row["published_at"] else None,
        "publish_attempts": row["publish_attempts"],
        "last_publish_error": row["last_publish_error"],
        "traceparent": traceparent, "trace_id": trace_id,
    }


@router.get("/lineage/{event_id}", responses=PROBLEMS,
            summary="The API's half of a payment's lineage (received, recorded, published)")
async def payment_lineage(event_id: UUID, ctx: Context, engine: Engine,
                          caller: CallerDep) -> dict[str, Any]:
    row = await _one(engine, "event_id = :id", {"id": event_id})
    return _half(row, caller, ctx.api_keys.enabled)


@router.get("/lineage", responses=PROBLEMS,
            summary="Find a payment's lineage by the Idempotency-Key its key sent")
async def lineage_by_key(
    ctx: Context, engine: Engine, caller: CallerDep,
    idempotency_key: Annotated[str, Query(max_length=255, pattern=IDEMPOTENCY_KEY.pattern)],
) -> dict[str, Any]:
    row = await _one(engine, "scope = :scope AND idempotency_key = :key",
                     {"scope": caller.scope, "key": idempotency_key})
    return _half(row, caller, ctx.api_keys.enabled)
