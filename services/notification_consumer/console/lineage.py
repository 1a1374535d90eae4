"""A payment's chain from HTTP request to rows: the API's half (through API_URL) composed with
the consumer's half (processed row, its batch, notifications, dead letters, replays)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.console.api_client import ApiClient, ApiUnavailable
from notification_consumer.store.batch_sql import S
from service_kit.auth import Caller

BATCH_SEQ_SPAN = 10_000  # a batch's rows have nearby seq values; bounds the batch lookup


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def consumer_half(engine: AsyncEngine, event_id: UUID) -> dict[str, Any]:
    """Every lookup by an index: the event's key, its batch's seq range, the notifications'
    and the dead letters' event id."""
    async with engine.connect() as conn:
        event = (await conn.execute(text(f"""
            SELECT event_id, payer_id, payee_id, amount, currency, topic, partition, "offset",
                   trace_id, processed_at, seq FROM {S}.processed_events WHERE event_id = :id
        """), {"id": event_id})).first()
        batch = None
        if event is not None:
            # Rows written by one transaction share processed_at (now() is per transaction).
            batch = (await conn.execute(text(f"""
                SELECT count(*) FROM {S}.processed_events
                WHERE seq BETWEEN :lo AND :hi AND processed_at = :at
            """), {"lo": event.seq - BATCH_SEQ_SPAN, "hi": event.seq + BATCH_SEQ_SPAN,
                   "at": event.processed_at})).scalar_one()
        notes = (await conn.execute(text(f"""
            SELECT id, account_id, kind, created_at FROM {S}.notifications
            WHERE event_id = :id ORDER BY id"""), {"id": event_id})).all()
        letters = (await conn.execute(text(f"""
            SELECT d.id, d.reason, d.error_class, d.error_message, d.created_at, d.partition,
                   d."offset", r.state AS replay_state, r.published_at AS replayed_at
            FROM {S}.dead_letters d LEFT JOIN {S}.dead_letter_replays r ON r.letter_id = d.id
            WHERE d.event_id = :id ORDER BY d.id LIMIT 20
        """), {"id": event_id})).all()
    return {"event": dict(event._mapping) if event is not None else None, "batch_size": batch,
            "notifications": [dict(n._mapping) for n in notes],
            "dead_letters": [dict(d._mapping) for d in letters]}


async def compose(engine: AsyncEngine, api: ApiClient, event_id: UUID,
                  key: str | None, keys_enabled: bool,
                  caller: Caller) -> dict[str, Any] | None:
    """The whole chain, or None when the API does not know the event (for this key).

    With keys configured, only the API can say whose payment it is: if it cannot be asked,
    ApiUnavailable propagates and nothing is shown."""
    api_error = None
    try:
        api_half = await api.lineage(f"/lineage/{event_id}", key)
    except ApiUnavailable as exc:
        if keys_enabled:
            raise
        api_half, api_error = None, str(exc)
    if api_half is None and api_error is None:
        return None  # unknown to the API, or another key's payment: show nothing of it
    ours = await consumer_half(engine, event_id)
    if api_half is None and ours["event"] is None and not ours["dead_letters"]:
        raise ApiUnavailable(api_error or "no answer")  # nobody can say whether it exists
    ev = ours["event"]
    trace = (api_half or {}).get("trace_id") or (ev["trace_id"] if ev else None)
    steps: list[dict[str, Any]] = []

    def step(name: str, at: str | None, detail: str, done: bool = True) -> None:
        steps.append({"step": name, "at": at, "detail": detail, "done": done and at is not None,
                      "trace_id": trace})

    if api_half is not None:
        step("received", api_half["received_at"], "POST /payments accepted by the API")
        step("recorded", api_half["recorded_at"],
             "idempotency record + outbox row committed (before the 202)")
        where = (f"partition {ev['partition']}, offset {ev['offset']}" if ev
                 else "placement known once consumed")
        # published_at is when the API recorded Kafka's ack, in batches off the request
        # path: it can trail the consume by a few milliseconds.
        step("published", api_half["published_at"],
             f"acknowledged by Kafka, {where} (time: when the API recorded the ack); "
             f"relay attempts {api_half['publish_attempts']}")
    if ev is not None:
        step("consumed", _iso(ev["processed_at"]),
             f"{ev['topic']} partition {ev['partition']} offset {ev['offset']}, in a batch of "
             f"{ours['batch_size']} event(s) committed in one transaction")
    else:
        step("consumed", None, "not processed (yet)", done=False)
    for n in ours["notifications"]:
        step("notification", _iso(n["created_at"]), f"{n['kind']} notice for {n['account_id']}")
    for d in ours["dead_letters"]:
        if not caller.sees_dead_letters:  # a letter's text may quote anyone's bytes
            step("dead-lettered", _iso(d["created_at"]),
                 f"letter {d['id']} (its details need an admin key)")
            continue
        replay = f"; replayed {_iso(d['replayed_at'])}" if d["replayed_at"] else ""
        step("dead-lettered", _iso(d["created_at"]),
             f"letter {d['id']}: {d['reason']} ({d['error_class']}: "
             f"{d['error_message'][:200]}){replay}")
    return {"event_id": str(event_id), "trace_id": trace, "api": api_half,
            "api_error": api_error,
            "kafka": {"topic": ev["topic"], "partition": ev["partition"],
                      "offset": ev["offset"]} if ev else None,
            "steps": steps}
