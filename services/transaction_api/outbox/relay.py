"""Publishes what the request path could not (Kafka down, process died).

Several API replicas can run it: due rows are claimed with FOR UPDATE SKIP LOCKED, so each
unpublished row is handled by one relay at a time. A row is only marked published after
Kafka acknowledged it; a crash in between publishes it again, and the consumer's dedup by
event id absorbs the copy. A row that fails waits its own backoff (`next_attempt_at`), so
rows Kafka refuses (a partition without a leader, a record too large) never hold up the rest.
"""

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from payment_events.codec import KafkaRecord
from service_kit.errors import PublishFailed
from service_kit.failures import is_transient
from transaction_api import metrics
from transaction_api.config import Settings
from transaction_api.outbox.publisher import Publisher
from transaction_api.outbox.requests import T, mark_published
from transaction_api.outbox.retention import expire_idempotency_keys
from transaction_api.ports import Published

log = logging.getLogger(__name__)
EXPIRY_INTERVAL_S = 10.0

_CLAIM = text(f"""
    SELECT event_id, event_key, event_value, event_headers FROM {T}
    WHERE published_at IS NULL AND next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED
""")
# Exponential per-row backoff from the row's own attempt count, capped and jittered.
_FAILED = text(f"""
    UPDATE {T} SET publish_attempts = publish_attempts + 1, last_publish_error = f.error,
        next_attempt_at = now() + make_interval(secs => least(
            :cap, :base * power(2, least(publish_attempts, 30))) * (0.5 + random() / 2))
    FROM unnest(CAST(:ids AS uuid[]), CAST(:errors AS text[])) AS f(id, error)
    WHERE event_id = f.id
""")


@dataclass(frozen=True, slots=True)
class Pass:
    claimed: int
    published: int
    failed: int
    timed_out: int  # failures that look like "Kafka unreachable", not "this record refused"
    wedged: int = 0  # the idempotent producer's own state is broken (aiokafka #1017)


# Errors about the producer's sequence state, not the record: after a broker restart an
# idempotent aiokafka producer can keep failing every send with these until it is replaced.
WEDGED = ("OutOfOrderSequenceNumber", "UnknownProducerId", "InvalidProducerEpoch",
          "DuplicateSequenceNumber")


async def relay_once(engine: AsyncEngine, publisher: Publisher, settings: Settings) -> Pass:
    """Publish one batch of due unpublished rows; record each failure with its own reason."""
    async with engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"limit": settings.relay_batch_size})).all()
        if not rows:
            return Pass(0, 0, 0, 0)
        readable, failed = [], []
        for r in rows:
            try:
                readable.append((r, _record(r)))
            except (TypeError, ValueError, AttributeError) as exc:
                # Only the API writes these rows; one written by anything else must fail
                # alone (its own backoff), never stop the relay's batch.
                failed.append((r.event_id, f"unreadable outbox row: {exc!r}"[:500]))
        try:
            outcomes = await publisher.publish_many([record for _, record in readable],
                                                    settings.publish_timeout_s * 2)
        except PublishFailed as exc:
            outcomes = [repr(exc)] * len(readable)
        done = [Published(r.event_id, o.partition, o.offset)
                for (r, _), o in zip(readable, outcomes, strict=True) if not isinstance(o, str)]
        failed += [(r.event_id, o[:500]) for (r, _), o in zip(readable, outcomes, strict=True)
                   if isinstance(o, str)]
        if done:
            await mark_published(conn, done)
        if failed:
            await conn.execute(_FAILED, {
                "ids": [i for i, _ in failed], "errors": [e for _, e in failed],
                "base": settings.relay_interval_s, "cap": settings.relay_backoff_max_s})
    metrics.RELAY_PUBLISHED.inc(len(done))
    metrics.RELAY_FAILURES.inc(len(failed))
    timed_out = sum(1 for _, e in failed if e.startswith(("TimeoutError", "PublishFailed")))
    wedged = sum(1 for _, e in failed if e.startswith(WEDGED))
    if failed:
        log.warning("relay: records not acknowledged", extra={
            "failed": len(failed), "published": len(done), "first_error": failed[0][1]})
    return Pass(len(rows), len(done), len(failed), timed_out, wedged)


def _record(row: Any) -> KafkaRecord:
    """The row's record as the API stored it: headers a JSON list of [name, text] pairs."""
    if not isinstance(row.event_headers, list):
        raise TypeError(f"event_headers is a {type(row.event_headers).__name__}, not a list")
    return KafkaRecord(row.event_key, row.event_value,
                       [(k, v.encode()) for k, v in row.event_headers])


async def run_relay(engine: AsyncEngine, publisher: Publisher, settings: Settings) -> None:
    """Forever: relay due rows, refresh the outbox gauges every pass (failed ones too), expire
    old idempotency keys; back off (capped, jittered) only while the database fails."""
    delay = settings.relay_interval_s
    stalled = 0
    last_expiry = 0.0
    loop = asyncio.get_running_loop()
    while True:
        more = False
        try:
            if publisher.ready:
                done = await relay_once(engine, publisher, settings)
                more = done.claimed == settings.relay_batch_size
                # Nothing acknowledged and timeouts: the producer may be wedged (aiokafka #1017);
                # sequence-state errors say so outright, so it is replaced at once.
                stalled = stalled + 1 if done.timed_out and not done.published else 0
                if (done.wedged and not done.published) or (stalled and stalled % 5 == 0):
                    log.warning("relay: replacing the Kafka producer", extra={
                        "wedged": done.wedged, "timed_out_passes": stalled})
                    await publisher.restart()
            if loop.time() - last_expiry > EXPIRY_INTERVAL_S:
                last_expiry = loop.time()
                expired = await expire_idempotency_keys(
                    engine, timedelta(hours=settings.idempotency_retention_h))
                if expired:
                    log.info("idempotency keys expired", extra={"count": expired})
            delay = settings.relay_interval_s
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_transient(exc):
                log.warning("relay: database unavailable", extra={"error": repr(exc)})
            else:
                log.exception("relay error")
            delay = min(delay * 2, settings.relay_backoff_max_s)
        await _observe_outbox(engine)
        if not more:
            await asyncio.sleep(delay * random.uniform(0.8, 1.0))


async def _observe_outbox(engine: AsyncEngine) -> None:
    try:
        await asyncio.wait_for(metrics.observe_outbox(engine), 5)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the gauges keep their last value; next pass
        log.warning("relay: outbox gauges not refreshed", extra={"error": repr(exc)})
