"""Reconciliation, the API's side: per-minute counts and digests of the payments accepted,
and a bucket's event ids with their payload hashes (what the consumer compares against).

Reads only; the consumer calls these, never the other way round. With API_KEYS set, any
valid key may read them (the answer holds ids and hashes, no amounts or parties).
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from payment_events.digest import ID_HASH_COLUMN, PAYLOAD_HASH_COLUMN, fold
from service_kit.errors import TransientStoreError
from service_kit.failures import is_transient
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA, Problem
from service_kit.windows import Instant, parse_instant, parse_window
from transaction_api.context import Engine, get_caller
from transaction_api.outbox.requests import T

router = APIRouter(tags=["reconciliation"], dependencies=[Depends(get_caller)])
LONGEST = timedelta(days=7)
MAX_BUCKET_ROWS = 200_000
MAX_MINUTES = 1_000

_BUCKETS = text(f"""
    SELECT date_trunc('minute', created_at) AS minute, count(*) AS n,
           sum({ID_HASH_COLUMN}) AS ids,
           sum({PAYLOAD_HASH_COLUMN}) AS payloads
    FROM {T} WHERE created_at >= :since AND created_at < :until
    GROUP BY 1 ORDER BY 1
""")
_BUCKET = text(f"""
    SELECT event_id, {PAYLOAD_HASH_COLUMN} AS payload_hash, created_at, published_at
    FROM {T} WHERE created_at >= :since AND created_at < :until
    ORDER BY created_at LIMIT {MAX_BUCKET_ROWS}
""")


# Index-only over payment_requests_published (published_at, carrying created_at): the rows
# published in the window, never the table; keyset-paginated on the accepted minute.
_PUBLISHED_MINUTES = text(f"""
    SELECT DISTINCT date_trunc('minute', created_at) AS minute FROM {T}
    WHERE published_at >= :since AND published_at < :until
      AND created_at < :accepted_before AND date_trunc('minute', created_at) > :after
    ORDER BY 1 LIMIT :limit
""")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: PROBLEM_RESPONSE_SCHEMA for code in codes}


async def _read(engine: AsyncEngine, query: Any, params: dict[str, Any]) -> list[Any]:
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(query, params)).all())
    except Exception as exc:
        if is_transient(exc):
            raise TransientStoreError("payment store unavailable") from exc
        raise


@router.get("/outbox/buckets", responses=_problems(400, 401, 503),
            summary="Per-minute counts and order-independent digests of accepted payments")
async def buckets(engine: Engine, since: Instant = None, until: Instant = None) -> dict[str, Any]:
    start, end = parse_window(since, until, default=timedelta(hours=1), longest=LONGEST)
    rows = await _read(engine, _BUCKETS, {"since": start, "until": end})
    return {"since": start.isoformat(), "until": end.isoformat(), "buckets": [
        {"minute": r.minute.isoformat(), "count": r.n, "digest": fold(r.ids),
         "payload_digest": fold(r.payloads)} for r in rows]}


@router.get("/outbox/buckets/{minute}", responses=_problems(400, 401, 503),
            summary="One minute's accepted payments: event id, payload hash, published or not")
async def bucket(engine: Engine,
                 minute: Annotated[str, Path(max_length=40)]) -> dict[str, Any]:
    start = parse_instant(minute, "minute")
    if start.second or start.microsecond:
        raise Problem(400, "minute must be the start of a minute, e.g. 2026-11-26T12:34:00Z",
                      field="minute")
    rows = await _read(engine, _BUCKET, {"since": start, "until": start + timedelta(minutes=1)})
    return {"minute": start.isoformat(), "truncated": len(rows) == MAX_BUCKET_ROWS, "events": [
        {"event_id": str(r.event_id), "payload_hash": fold(r.payload_hash),
         "accepted_at": _iso(r.created_at), "published_at": _iso(r.published_at)}
        for r in rows]}


@router.get("/outbox/published-minutes", responses=_problems(400, 401, 503),
            summary="Minutes of accepted time that hold a payment published in a window")
async def published_minutes(
        engine: Engine, since: Instant = None, until: Instant = None,
        accepted_before: Annotated[str | None, Query(max_length=40)] = None,
        after: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_MINUTES)] = MAX_MINUTES) -> dict[str, Any]:
    """Where a payment published late landed: the minutes (of its accepted time, as the
    buckets count it) of payments Kafka acknowledged in [since, until), accepted before
    `accepted_before`, after the minute `after` (the previous page's `next`)."""
    start, end = parse_window(since, until, default=timedelta(minutes=15), longest=LONGEST)
    before = parse_instant(accepted_before, "accepted_before") if accepted_before else end
    cursor = parse_instant(after, "after") if after else EPOCH
    rows = await _read(engine, _PUBLISHED_MINUTES, {
        "since": start, "until": end, "accepted_before": before, "after": cursor,
        "limit": limit})
    minutes = [r.minute.isoformat() for r in rows]
    return {"since": start.isoformat(), "until": end.isoformat(), "minutes": minutes,
            "next": minutes[-1] if len(minutes) == limit else None}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
