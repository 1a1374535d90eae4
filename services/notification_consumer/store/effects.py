"""PostgreSQL behind the EffectStore protocol: a plan becomes one transaction, parking
included (ingest/parking.py decides, with the parked keys read in that transaction); a
release of parked records is one more transaction of the same shape."""

import asyncio
from collections.abc import Sequence

from aiokafka.structs import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_consumer.ingest.failures import Fenced
from notification_consumer.ingest.parking import ParkedKey, plan_release, split_parked
from notification_consumer.ingest.planning import BatchPlan, conflict
from notification_consumer.ingest.ports import Fence, PublishLetters, WriteOutcome
from notification_consumer.store import batch_sql, parking_sql, write_path

PROBE_TIMEOUT_S = 3.0


class PostgresEffects:
    def __init__(self, engine: AsyncEngine, group_id: str, claim_stale_s: float,
                 park_keys: bool = True) -> None:
        self.engine = engine
        self.park_keys = park_keys
        self.group = group_id
        self.claim_stale_s = claim_stale_s

    async def write(self, plan: BatchPlan, fence: Fence, publish: PublishLetters) -> WriteOutcome:
        async with self.engine.begin() as conn:
            await write_path.ensure_stage(conn)  # before the transaction's first statement
            parking = split_parked(plan, await self._parked(conn, plan), self.park_keys)
            outcome = await self._apply(conn, parking.apply)
            await parking_sql.open_parks(conn, self.group, parking.parks)
            outcome.parked = await parking_sql.store_parked(conn, self.group, parking.parked)
            # Last, with the counters: the partitions' offset rows stay locked only briefly,
            # so a new owner's claim does not wait for a slow (or frozen) member's batch.
            moved = await batch_sql.store_offsets(
                conn, self.group, plan.next_offsets, fence.generation, fence.member_id,
                (len(outcome.inserted), outcome.duplicates, len(outcome.dead_lettered)))
            if moved != {p for _, p in plan.next_offsets}:
                # Raising inside begin() rolls everything above back: a zombie writes nothing.
                raise Fenced(f"partitions {sorted({p for _, p in plan.next_offsets} - moved)} "
                             f"are no longer claimed by generation {fence.generation}")
            await publish(outcome.letter_ids)  # before the commit, as in _finish
        return outcome

    async def release(self, topic: str, partitions: Sequence[int], fence: Fence,
                      publish: PublishLetters, keys: int, records: int) -> WriteOutcome | None:
        """Apply the oldest parked records of up to `keys` released keys (at most `records`
        each), in offset order, in one transaction fenced like a batch. None: nothing to
        release. The records behind a parked record that is poison again stay parked."""
        async with self.engine.begin() as conn:
            await write_path.ensure_stage(conn)
            released = await parking_sql.released_keys(conn, self.group, topic, partitions,
                                                       keys)
            if not released:
                return None
            owned = await parking_sql.fence(conn, self.group, topic,
                                            sorted({k.partition for k in released}),
                                            fence.generation, fence.member_id)
            if owned != {k.partition for k in released}:
                raise Fenced(f"partitions {sorted({k.partition for k in released} - owned)} "
                             f"are no longer claimed by generation {fence.generation}")
            plan, steps = BatchPlan(), []
            for key in released:
                step = plan_release(list(await parking_sql.parked_chunk(
                    conn, self.group, topic, key, records)))
                plan.events += step.apply.events
                plan.dead_letters += step.apply.dead_letters
                plan.in_batch_duplicates += step.apply.in_batch_duplicates
                steps.append((key, step))
            outcome = await self._apply(conn, plan)
            for key, step in steps:
                await parking_sql.consume(conn, self.group, topic, key, step.consumed)
                if step.parked_again is not None:
                    await parking_sql.open_parks(conn, self.group, [step.parked_again])
            outcome.released = sum(len(step.consumed) for _, step in steps)
            await self._finish(conn, outcome, publish)
        return outcome

    async def _parked(self, conn: AsyncConnection, plan: BatchPlan) -> set[ParkedKey]:
        topics = {t for t, _ in plan.next_offsets}
        found: set[ParkedKey] = set()
        for topic in topics:
            found |= await parking_sql.parked_keys(
                conn, self.group, topic, [p for t, p in plan.next_offsets if t == topic])
        return found

    async def _apply(self, conn: AsyncConnection, plan: BatchPlan) -> WriteOutcome:
        """Events (with their notifications) and dead letters; what was new, and conflicts."""
        new_ids = await write_path.insert_events(conn, plan.events)
        inserted = [r for r in plan.events if r.event.event_id in new_ids]
        seen = [r for r in plan.events if r.event.event_id not in new_ids]
        existing = await batch_sql.existing_hashes(conn, [r.event.event_id for r in seen])
        duplicates = plan.in_batch_duplicates
        letters = list(plan.dead_letters)
        for row in seen:
            if existing.get(row.event.event_id) == row.payload_hash:
                duplicates += 1
            else:
                letters.append(conflict(row.record, row.event.event_id))
        new_letters = await batch_sql.insert_dead_letters(conn, self.group, letters)
        return WriteOutcome(inserted, duplicates, [letters[i] for i, _ in new_letters],
                            letter_ids=[(row_id, letters[i]) for i, row_id in new_letters])

    async def _finish(self, conn: AsyncConnection, outcome: WriteOutcome,
                      publish: PublishLetters) -> None:
        await batch_sql.count(conn, self.group, len(outcome.inserted), outcome.duplicates,
                              len(outcome.dead_lettered))
        # The DLQ topic hears of a dead letter before the transaction that records it
        # commits: a crash in between can repeat it on the topic, never lose it.
        await publish(outcome.letter_ids)

    async def claim(self, partitions: Sequence[TopicPartition],
                    fence: Fence) -> dict[int, int | None]:
        if not partitions:
            return {}
        async with self.engine.begin() as conn:
            return await batch_sql.claim(conn, self.group, partitions, fence.generation,
                                     fence.member_id, self.claim_stale_s)

    async def stored_offsets(self, topic: str) -> dict[int, int]:
        async with self.engine.connect() as conn:
            return await batch_sql.stored_offsets(conn, self.group, topic)

    async def probe(self) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not healthy now"
            return False
        return True
