"""Planning beside the write in flight: the batch loop plans batch N+1 while batch N is
written. Planned in one go, the write task created just before would only start after it (one
event loop); planned in chunks that yield, the write runs its round trips meanwhile."""

import asyncio
import logging
from uuid import UUID

from notification_consumer.ingest.planning import BatchPlan, plan_into
from notification_consumer.ingest.ports import Batch

log = logging.getLogger(__name__)
# Records planned between two yields: about a millisecond of planning.
PLAN_CHUNK = 50


async def plan_beside_write(batch: Batch) -> BatchPlan | None:
    """`plan_batch` over a fetched batch, yielding every PLAN_CHUNK records; None when
    planning itself failed (a bug: the loop then isolates the records one by one)."""
    records = [r for recs in batch.values() for r in recs]
    plan, seen = BatchPlan(), dict[UUID, str]()
    try:
        for start in range(0, len(records), PLAN_CHUNK):
            plan_into(plan, seen, records[start:start + PLAN_CHUNK])
            await asyncio.sleep(0)
    except Exception:
        log.exception("planning failed")
        return None
    return plan
