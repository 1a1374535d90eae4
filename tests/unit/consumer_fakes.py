"""In-memory fakes of the consumer's two ports (EffectStore, KafkaLink), behaving like the
real adapters in what the loop relies on: one atomic write per plan with the fence checked
inside it, claims that never go back a generation, fetch positions, pause, commits."""

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from aiokafka.structs import TopicPartition

from notification_consumer.ingest.failures import Fenced
from notification_consumer.ingest.planning import BatchPlan, DeadLetter, conflict
from notification_consumer.ingest.ports import (
    Batch,
    Fence,
    PublishLetters,
    RebalanceCallbacks,
    WriteOutcome,
)
from payment_events.codec import KafkaRecord, encode
from payment_events.events import PaymentAccepted

TOPIC = "t"


@dataclass
class Rec:
    value: bytes | None
    offset: int
    partition: int = 0
    topic: str = TOPIC
    timestamp: int = 0
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def event_value(**overrides: object) -> tuple[UUID, bytes, list[tuple[str, bytes]]]:
    fields: dict[str, object] = dict(event_id=uuid4(), payer_id="p1", payee_id="p2",
                                     amount=Decimal("1.00"), currency="EUR",
                                     occurred_at=datetime.now(UTC))
    fields.update(overrides)
    record = encode(PaymentAccepted.model_validate(fields))
    return fields["event_id"], record.value, record.headers  # type: ignore[return-value]


class FakeStore:
    def __init__(self) -> None:
        self.events: dict[UUID, str] = {}
        self.dead_letters: dict[tuple[str, int, int], DeadLetter] = {}
        self.offsets: dict[tuple[str, int], tuple[int | None, int, str]] = {}
        self.healthy = True
        self.fail: Callable[[BatchPlan], BaseException | None] = lambda plan: None
        self.claim_error: BaseException | None = None
        self.claim_gate: asyncio.Event | None = None  # when set, claims wait for it
        self.writes = 0

    async def release(self, topic: str, partitions: Sequence[int], fence: Fence,
                      publish: PublishLetters, keys: int, records: int) -> WriteOutcome | None:
        """Parking is the PostgreSQL store's (tests/integration, tests/faults): none here."""
        return None

    async def write(self, plan: BatchPlan, fence: Fence, publish: PublishLetters) -> WriteOutcome:
        await asyncio.sleep(0)
        error = self.fail(plan)
        if error is not None:
            raise error
        inserted, duplicates = [], plan.in_batch_duplicates
        letters = list(plan.dead_letters)
        new_events: dict[UUID, str] = {}
        for row in plan.events:
            known = self.events.get(row.event.event_id)
            if known is None:
                new_events[row.event.event_id] = row.payload_hash
                inserted.append(row)
            elif known == row.payload_hash:
                duplicates += 1
            else:
                letters.append(conflict(row.record, row.event.event_id))
        new_letters = [(i, d) for i, d in enumerate(letters)
                       if (d.record.topic, d.record.partition, d.record.offset)
                       not in self.dead_letters]
        for tp in plan.next_offsets:
            claim = self.offsets.get(tp)
            if claim is None or (claim[1], claim[2]) != (fence.generation, fence.member_id):
                raise Fenced(f"{tp} not claimed by {fence}")
        await publish([(i + 1, letter) for i, letter in new_letters])
        # commit: all or nothing
        self.events.update(new_events)
        for _, letter in new_letters:
            r = letter.record
            self.dead_letters[(r.topic, r.partition, r.offset)] = letter
        for tp, offset in plan.next_offsets.items():
            stored, gen, member = self.offsets[tp]
            self.offsets[tp] = (max(offset, stored or 0), gen, member)
        self.writes += 1
        return WriteOutcome(inserted, duplicates, [letter for _, letter in new_letters])

    async def claim(self, partitions: Sequence[TopicPartition],
                    fence: Fence) -> dict[int, int | None]:
        if self.claim_gate is not None:
            await self.claim_gate.wait()
        if self.claim_error is not None:
            raise self.claim_error
        got: dict[int, int | None] = {}
        for tp in partitions:
            row = self.offsets.get((tp.topic, tp.partition))
            if row is None or row[1] <= fence.generation:
                stored = row[0] if row else None
                self.offsets[(tp.topic, tp.partition)] = (stored, *fence)
                got[tp.partition] = stored
        return got

    async def probe(self) -> bool:
        return self.healthy

    def stored(self, partition: int = 0) -> int | None:
        row = self.offsets.get((TOPIC, partition))
        return row[0] if row else None


class FakeLink:
    def __init__(self, partitions: int = 1) -> None:
        self.log: dict[TopicPartition, list[Rec]] = {
            TopicPartition(TOPIC, p): [] for p in range(partitions)}
        self.positions: dict[TopicPartition, int] = {}
        self.assigned: set[TopicPartition] = set()
        self.paused: set[TopicPartition] = set()
        self.current_fence = Fence(1, "member-1")
        self.committed: dict[TopicPartition, int] = {}
        self.sent: list[tuple[str, KafkaRecord]] = []
        self.commit_error: BaseException | None = None
        self.fetch_error: BaseException | None = None
        self.send_error: Callable[[KafkaRecord], BaseException | None] = lambda r: None
        self.healthy = True
        self.callbacks: RebalanceCallbacks | None = None
        self.starts = 0
        self.arrived = asyncio.Event()

    def produce(self, value: bytes | None, partition: int = 0,
                headers: list[tuple[str, bytes]] | None = None) -> Rec:
        tp = TopicPartition(TOPIC, partition)
        rec = Rec(value, len(self.log[tp]), partition, headers=headers or [])
        self.log[tp].append(rec)
        self.arrived.set()
        return rec

    async def start(self, callbacks: RebalanceCallbacks) -> None:
        self.starts += 1
        self.callbacks = callbacks
        await self.rebalance(set(self.log), self.current_fence)

    async def rebalance(self, assigned: set[TopicPartition], fence: Fence) -> None:
        assert self.callbacks is not None
        if self.assigned:
            await self.callbacks.on_revoked(set(self.assigned))
        self.assigned, self.current_fence, self.paused = set(assigned), fence, set()
        for tp in assigned:
            self.positions[tp] = self.committed.get(tp, 0)
        await self.callbacks.on_assigned(set(assigned))

    async def stop(self) -> None:
        self.assigned = set()

    async def getmany(self, timeout_ms: int, max_records: int) -> Batch:
        if self.fetch_error is not None:
            raise self.fetch_error
        batch: dict[TopicPartition, list[Rec]] = {}
        for tp in sorted(self.assigned - self.paused):
            recs = self.log[tp][self.positions[tp]:self.positions[tp] + max_records]
            if recs:
                batch[tp] = recs
                self.positions[tp] += len(recs)
        if not batch:  # like the client: back when a record arrives, or at the timeout
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), max(timeout_ms, 1) / 1000)
        return batch

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if tp in self.assigned:
            self.positions[tp] = offset

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        await asyncio.sleep(0)  # a round trip: the loop may fetch meanwhile
        return dict.fromkeys(tps, 0)

    def pause(self, tps: set[TopicPartition]) -> None:
        self.paused |= tps & self.assigned

    def resume(self, tps: set[TopicPartition]) -> None:
        self.paused -= tps

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def fence(self) -> Fence:
        return self.current_fence

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.committed.update(offsets)

    async def send(self, topic: str, record: KafkaRecord) -> None:
        error = self.send_error(record)
        if error is not None:
            raise error
        self.sent.append((topic, record))

    async def probe(self) -> bool:
        return self.healthy

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return {tp.partition: len(recs) for tp, recs in self.log.items()}
