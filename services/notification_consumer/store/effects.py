"""PostgreSQL behind the EffectStore protocol: a plan becomes one transaction."""

import asyncio
from collections.abc import Sequence

from aiokafka.structs import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.ingest.failures import Fenced
from notification_consumer.ingest.planning import BatchPlan, conflict
from notification_consumer.ingest.ports import Fence, PublishLetters, WriteOutcome
from notification_consumer.store import batch_sql, write_path

PROBE_TIMEOUT_S = 3.0


class PostgresEffects:
    def __init__(self, engine: AsyncEngine, group_id: str, claim_stale_s: float) -> None:
        self.engine = engine
        self.group = group_id
        self.claim_stale_s = claim_stale_s

    async def write(self, plan: BatchPlan, fence: Fence, publish: PublishLetters) -> WriteOutcome:
        async with self.engine.begin() as conn:
            await write_path.ensure_stage(conn)  # before the transaction's first statement
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
            # Last before the counters: the partitions' offset rows stay locked only briefly,
            # so a new owner's claim does not wait for a slow (or frozen) member's batch.
            moved = await batch_sql.store_offsets(conn, self.group, plan.next_offsets,
                                              fence.generation, fence.member_id)
            if moved != {p for _, p in plan.next_offsets}:
                # Raising inside begin() rolls everything above back: a zombie writes nothing.
                raise Fenced(f"partitions {sorted({p for _, p in plan.next_offsets} - moved)} "
                             f"are no longer claimed by generation {fence.generation}")
            await batch_sql.count(conn, self.group, len(inserted), duplicates, len(new_letters))
            # The DLQ topic hears of a dead letter before the transaction that records it
            # commits: a crash in between can repeat it on the topic, never lose it.
            await publish([(row_id, letters[i]) for i, row_id in new_letters])
        return WriteOutcome(inserted, duplicates, [letters[i] for i, _ in new_letters])

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
