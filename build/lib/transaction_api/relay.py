"""Publishes what the request path could not (Kafka down, process died), oldest first.

Several API replicas can run it: rows are claimed with FOR UPDATE SKIP LOCKED, so each
unpublished row is handled by one relay at a time. A row is only marked published after
Kafka acknowledged it; a crash in between publishes it again, and the consumer's dedup by
event id absorbs the copy.
"""

import asyncio
import logging
import random
from datetime import timedelta
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from payment_events.codec import KafkaRecord
from service_kit.db import is_transient
from service_kit.errors import PublishFailed
from transaction_api import metrics
from transaction_api.config import Settings
from transaction_api.publisher import Publisher
from transaction_api.requests import T, expire_idempotency_keys, mark_published

log = logging.getLogger(__name__)

_CLAIM = text(f"""
    SELECT event_id, event_key, event_value, event_headers FROM {T}
    WHERE published_at IS NULL AND created_at < now() - make_interval(secs => :grace)
    ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED
""")
_FAILED = text(f"""
    UPDATE {T} SET publish_attempts = publish_attempts + 1, last_publish_error = :error
    WHERE event_id = ANY(:ids)
""")


async def relay_once(engine: AsyncEngine, publisher: Publisher, settings: Settings) -> int:
    """Publish one batch of old unpublished rows; returns how many Kafka acknowledged."""
    # Rows younger than the request path's own publish wait are still being published there.
    grace = settings.publish_timeout_s + 1.0
    async with engine.begin() as conn:
        rows = (await conn.execute(
            _CLAIM, {"grace": grace, "limit": settings.relay_batch_size}
        )).all()
        if not rows:
            return 0
        records = [
            KafkaRecord(r.event_key, r.event_value, [(k, v.encode()) for k, v in r.event_headers])
            for r in rows
        ]
        try:
            acked = await publisher.publish_many(records, settings.publish_timeout_s * 2)
        except PublishFailed as exc:
            acked = [False] * len(rows)
            error = repr(exc)
        else:
            error = "not acknowledged in time"
        done: list[UUID] = [r.event_id for r, ok in zip(rows, acked, strict=True) if ok]
        failed: list[UUID] = [r.event_id for r, ok in zip(rows, acked, strict=True) if not ok]
        if done:
            await mark_published(conn, done)
        if failed:
            await conn.execute(_FAILED, {"ids": failed, "error": error[:500]})
    metrics.RELAY_PUBLISHED.inc(len(done))
    metrics.RELAY_FAILURES.inc(len(failed))
    if failed:
        raise PublishFailed(f"{len(failed)} of {len(rows)} relayed records not acknowledged")
    return len(done)


async def run_relay(engine: AsyncEngine, publisher: Publisher, settings: Settings) -> None:
    """Forever: relay batches, back off (capped, jittered) on failure, expire old keys."""
    delay = settings.relay_interval_s
    failures = 0
    last_cleanup = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if publisher.ready:
                while await relay_once(engine, publisher, settings) == settings.relay_batch_size:
                    pass
            if loop.time() - last_cleanup > 60:
                last_cleanup = loop.time()
                expired = await expire_idempotency_keys(
                    engine, timedelta(hours=settings.idempotency_retention_h)
                )
                if expired:
                    log.info("idempotency keys expired", extra={"count": expired})
            await metrics.observe_outbox(engine)
            failures, delay = 0, settings.relay_interval_s
        except asyncio.CancelledError:
            raise
        except PublishFailed as exc:
            failures += 1
            log.warning("relay publish failed", extra={"error": str(exc), "failures": failures})
            if failures % 5 == 0:
                await publisher.restart()
            delay = min(delay * 2, settings.relay_backoff_max_s)
        except Exception as exc:
            if not is_transient(exc):
                log.exception("relay error")
            else:
                log.warning("relay: database unavailable", extra={"error": repr(exc)})
            delay = min(delay * 2, settings.relay_backoff_max_s)
        await asyncio.sleep(delay * random.uniform(0.5, 1.0) if failures else delay)
