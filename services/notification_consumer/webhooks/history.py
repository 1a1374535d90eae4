"""How long finished deliveries and their attempt log are kept.

Every attempt is logged, so the log grows with traffic for ever unless something removes it.
A delivery that is finished (delivered, or given up after its retry window) is deleted with its
attempts (they cascade) once it is older than WEBHOOK_HISTORY_RETENTION_H. Pending ones are
never touched, however old: a manual redelivery gives an old row a fresh window.
Deletes go in small batches, each its own short transaction, so no lock is held for long and
the delivery worker's own writes are never queued behind a large delete.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
S = "notification_consumer"
PRUNED = Counter("webhook_history_pruned_total",
                 "Finished deliveries (with their attempt log) deleted after retention")
BATCH = 1000
MAX_BATCHES_PER_RUN = 100  # a backlog is worked off over several runs, not in one long burst

_PRUNE = text(f"""
    DELETE FROM {S}.webhook_deliveries WHERE id IN (
        SELECT id FROM {S}.webhook_deliveries
        WHERE state <> 'pending' AND created_at < :cutoff
        ORDER BY created_at LIMIT :limit
        FOR UPDATE SKIP LOCKED)
""")

# Deliveries a batch queued for a subscription deleted at the same moment (no foreign key
# ties them, so that the consumer's insert can never fail on a concurrent delete).
_ORPHANS = text(f"""
    DELETE FROM {S}.webhook_deliveries WHERE id IN (
        SELECT d.id FROM {S}.webhook_deliveries d
        WHERE NOT EXISTS (SELECT 1 FROM {S}.webhook_subscriptions s
                          WHERE s.id = d.subscription_id)
        LIMIT :limit FOR UPDATE SKIP LOCKED)
""")


async def prune_orphans(engine: AsyncEngine, limit: int = BATCH) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(_ORPHANS, {"limit": limit})
    return int(result.rowcount or 0)


async def prune_batch(engine: AsyncEngine, cutoff: datetime, limit: int = BATCH) -> int:
    """Delete at most `limit` finished deliveries created before `cutoff`; how many went."""
    async with engine.begin() as conn:
        result = await conn.execute(_PRUNE, {"cutoff": cutoff, "limit": limit})
    return int(result.rowcount or 0)


async def prune(engine: AsyncEngine, retention: timedelta, *, batch: int = BATCH,
                max_batches: int = MAX_BATCHES_PER_RUN) -> int:
    """One run: batches until one comes back short (or the run's bound); the total deleted."""
    cutoff = datetime.now(UTC) - retention
    orphans = await prune_orphans(engine, batch)
    if orphans:
        log.info("deliveries of deleted subscriptions removed", extra={"deliveries": orphans})
    total = 0
    for _ in range(max_batches):
        deleted = await prune_batch(engine, cutoff, batch)
        total += deleted
        if deleted < batch:
            break
        await asyncio.sleep(0)  # let the worker's own statements in between
    if total:
        PRUNED.inc(total)
        log.info("webhook history pruned", extra={"deliveries": total,
                                                  "older_than": cutoff.isoformat()})
    return total
