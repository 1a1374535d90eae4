"""Planning beside the write in flight: the batch loop plans batch N+1 while batch N is
written. Planned in one go, the write task created just before would only start after it (one
event loop); planned in chunks that yield, the write runs its round trips meanwhile.

A planned batch can be planned further (`Planned.extend`): what arrived while the write in
flight ran joins the batch about to be written, so at low rates a record waits for the end of
one write, not for a whole write more."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from aiokafka.errors import KafkaError

from notification_consumer.ingest.planning import BatchPlan, RecordLike, TopicPartition, plan_into
from notification_consumer.ingest.ports import Batch, KafkaLink

log = logging.getLogger(__name__)
# Records planned between two yields: about a millisecond of planning.
PLAN_CHUNK = 50


@dataclass(slots=True)
class Planned:
    """A fetched batch and its plan (None when planning itself failed: a bug, and the loop
    then isolates the records one by one). `seen` is what planning more of it needs."""

    batch: dict[TopicPartition, list[RecordLike]]
    plan: BatchPlan | None
    seen: dict[UUID, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(records) for records in self.batch.values())

    async def extend(self, more: Batch) -> None:
        """Plan the records fetched after this batch's as part of it (each partition's
        records follow its earlier ones, as the fetcher returns them)."""
        for tp, records in more.items():
            self.batch.setdefault(tp, []).extend(records)
        if self.plan is not None:
            self.plan = await _plan(self.plan, self.seen, more)


async def plan_beside_write(batch: Batch) -> Planned:
    """`plan_batch` over a fetched batch, yielding every PLAN_CHUNK records."""
    seen = dict[UUID, str]()
    return Planned({tp: list(records) for tp, records in batch.items()},
                   await _plan(BatchPlan(), seen, batch), seen)


async def _plan(plan: BatchPlan, seen: dict[UUID, str], batch: Batch) -> BatchPlan | None:
    records = [r for recs in batch.values() for r in recs]
    try:
        for start in range(0, len(records), PLAN_CHUNK):
            plan_into(plan, seen, records[start:start + PLAN_CHUNK])
            await asyncio.sleep(0)
    except Exception:
        log.exception("planning failed")
        return None
    return plan


@dataclass(frozen=True, slots=True)
class Fetched:
    """A planned batch, the loop's epoch when it was fetched, and the loop's epoch now: a
    rebalance since the fetch makes the batch stale (it is then not written)."""

    planned: Planned
    epoch: int
    current_epoch: Callable[[], int]

    @property
    def batch(self) -> Batch:
        return self.planned.batch

    @property
    def plan(self) -> BatchPlan | None:
        return self.planned.plan


async def top_up(fetched: Fetched, link: KafkaLink, max_records: int,
                 fetched_anew: Callable[[Batch], Awaitable[Fetched]]) -> Fetched:
    """What arrived while the last batch was written joins the next one, up to the batch
    size. That batch was fetched before the last write began: without this, a record
    fetched with it would wait for that whole write and then for its own."""
    room = max_records - fetched.planned.size
    if room <= 0 or fetched.plan is None:
        return fetched
    try:
        more = await link.getmany(timeout_ms=0, max_records=room)
    except KafkaError:
        return fetched  # the next fetch meets it again, and reports it
    if not more:
        return fetched
    if fetched.epoch != fetched.current_epoch():  # a rebalance meanwhile: the older batch is
        return await fetched_anew(more)  # not written; these come from the new positions
    await fetched.planned.extend(more)
    return fetched
