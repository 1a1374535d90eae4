"""The two small protocols the batch loop depends on, so its logic runs against real adapters
in production and in-memory fakes in unit tests.

    EffectStore  PostgreSQL: one transaction per plan (effects + fenced offsets), partition
                 claims on assignment, a health probe
    KafkaLink    the group member (fetch, seek, pause, commit, fence) and the producer that
                 sends dead letters and replays
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from aiokafka.structs import TopicPartition

from notification_consumer.ingest.planning import BatchPlan, DeadLetter, EventRow, RecordLike
from payment_events.codec import KafkaRecord

Batch = Mapping[TopicPartition, Sequence[RecordLike]]


class Fence(NamedTuple):
    """Who owns a partition: the group generation and member id of the assignment."""

    generation: int
    member_id: str


@dataclass
class WriteOutcome:
    inserted: list[EventRow] = field(default_factory=list)
    duplicates: int = 0
    dead_lettered: list[DeadLetter] = field(default_factory=list)
    parked: int = 0  # records stored behind a parked key
    released: int = 0  # parked records a release applied (or dead-lettered)
    # (row id, letter) of the letters recorded for the first time, for the DLQ topic
    letter_ids: list[tuple[int, DeadLetter]] = field(default_factory=list)


# Called inside the write transaction, after the fence check, with (row id, letter) pairs.
PublishLetters = Callable[[list[tuple[int, DeadLetter]]], Awaitable[None]]


class EffectStore(Protocol):
    async def write(self, plan: BatchPlan, fence: Fence, publish: PublishLetters) -> WriteOutcome:
        """Effects, dead letters and offsets in one transaction; raises Fenced (rolled back)
        unless every partition of the plan is still claimed by `fence`."""
        ...

    async def release(self, topic: str, partitions: Sequence[int], fence: Fence,
                      publish: PublishLetters, keys: int, records: int) -> WriteOutcome | None:
        """Apply released parked records in offset order, fenced; None when there are none."""
        ...

    async def claim(
        self, partitions: Sequence[TopicPartition], fence: Fence
    ) -> dict[int, int | None]:
        """Record `fence` as the owner; returns {partition: stored next offset} for the
        partitions claimed (None: nothing stored yet). A partition missing from the answer
        has a newer owner."""
        ...

    async def probe(self) -> bool:
        """True when the database answers a trivial query now."""
        ...


class RebalanceCallbacks(Protocol):
    async def on_revoked(self, revoked: set[TopicPartition]) -> None: ...
    async def on_assigned(self, assigned: set[TopicPartition]) -> None: ...


class KafkaLink(Protocol):
    async def start(self, callbacks: RebalanceCallbacks) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(self, timeout_ms: int, max_records: int) -> Batch: ...
    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Move the fetch position; a partition no longer assigned is ignored."""
        ...
    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]: ...
    def pause(self, tps: set[TopicPartition]) -> None: ...
    def resume(self, tps: set[TopicPartition]) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def fence(self) -> Fence: ...
    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...
    async def send(self, topic: str, record: KafkaRecord) -> None:
        """Publish and wait for the acknowledgement: raises PublishFailed (transient) or
        RecordRejected (the broker will never take this record)."""
        ...
    async def probe(self) -> bool: ...
    async def end_offsets(self, topic: str) -> dict[int, int]: ...
