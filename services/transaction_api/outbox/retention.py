"""Idempotency-key expiry: keys older than the retention are forgotten; payments stay.

Sized for a sustained 3,000 payments/s and more (figures in BENCHMARKS.md): a partial index
on the rows that still hold a key (`payment_requests_key_expiry`), oldest first, cleared in
short batches so no transaction holds many row locks or a long snapshot.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from transaction_api.outbox.requests import T

# SKIP LOCKED: several replicas may run this at once without waiting on each other.
_EXPIRE = text(f"""
    UPDATE {T} SET idempotency_key = NULL
    WHERE event_id IN (SELECT event_id FROM {T}
                       WHERE idempotency_key IS NOT NULL AND created_at < :cutoff
                       ORDER BY created_at LIMIT :batch FOR UPDATE SKIP LOCKED)
""")


async def expire_idempotency_keys(engine: AsyncEngine, retention: timedelta, *,
                                  batch_size: int = 1_000, max_batches: int = 1_000) -> int:
    """Forget keys older than `retention`, one short transaction per batch; returns how many.
    Bounded per call (`max_batches`); whatever is left waits for the next call."""
    cutoff = datetime.now(UTC) - retention
    total = 0
    for _ in range(max_batches):
        async with engine.begin() as conn:
            result = await conn.execute(_EXPIRE, {"cutoff": cutoff, "batch": batch_size})
        done = int(getattr(result, "rowcount", 0) or 0)
        total += done
        if done < batch_size:
            break
    return total
