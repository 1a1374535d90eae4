"""Reading ahead while a batch is written: the Kafka client keeps fetching.

aiokafka sends a broker its next fetch only once every record it fetched from that broker has
been taken. The batch loop takes records between writes, so without this a record that
reached the broker during a write waited for that write to end, then for one more fetch,
then in the client's buffer for the next write to end: most of a record's time from the
broker to its commit at low rates (BENCHMARKS.md). `ReadAhead.during(write)` takes records
as they arrive while the write runs and holds them; the next batch starts with them.

A held record is only ever a record the client would still have in its buffer, so every
operation that would change what the client returns changes the held records the same way:
- `seek(tp)` forgets tp's held records (the position moves; they come again if wanted);
- `pause(tps)` puts the position back on the first held record of each, then forgets them
  (a paused partition returns nothing; on resume, reading starts at that record again);
- a rebalance (the loop's epoch moves) makes every held record stale: they are forgotten
  without a seek, since the new assignment sets every position itself.
A fetch error during the write is raised by the loop's next fetch, after the records held
before it, as the client would have. Everything else is the wrapped link's.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka.structs import TopicPartition

from notification_consumer.ingest.planning import RecordLike
from notification_consumer.ingest.ports import Batch, Fence, KafkaLink, RebalanceCallbacks
from payment_events.codec import KafkaRecord

# A fetch during a write waits at most this long before it looks again whether the write
# is done (the write's end cancels it at once anyway).
WAIT_MS = 100


class ReadAhead:
    def __init__(self, link: KafkaLink, epoch: Callable[[], int]) -> None:
        self.link = link
        self._epoch = epoch
        self._held: dict[TopicPartition, list[RecordLike]] = {}
        self._held_epoch = -1
        self._error: BaseException | None = None

    @property
    def held(self) -> int:
        return sum(len(records) for records in self._held.values())

    async def during(self, writing: "asyncio.Future[None]", max_records: int) -> None:
        """Hold what arrives until `writing` is done, at most `max_records` in all."""
        while not writing.done() and (room := max_records - self.held) > 0:
            fetch = asyncio.ensure_future(self._fetch(room))
            either: set[asyncio.Future[Any]] = {writing, fetch}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()  # a waiting fetch took nothing: the client keeps its records
            await asyncio.wait({fetch})
            if fetch.cancelled():
                return
            if (error := fetch.exception()) is not None:
                self._error = error  # the loop's next fetch raises it, after what is held
                return
            self._hold(*fetch.result())

    async def _fetch(self, max_records: int) -> tuple[Batch, int]:
        batch = await self.link.getmany(timeout_ms=WAIT_MS, max_records=max_records)
        return batch, self._epoch()  # the fetch's epoch, read before anything else runs

    def _hold(self, batch: Batch, epoch: int) -> None:
        if epoch != self._held_epoch:
            self._held.clear()
            self._held_epoch = epoch
        for tp, records in batch.items():
            if records:
                self._held.setdefault(tp, []).extend(records)

    def _take(self, max_records: int) -> dict[TopicPartition, list[RecordLike]]:
        if self._held_epoch != self._epoch():
            self._held.clear()
            return {}
        taken: dict[TopicPartition, list[RecordLike]] = {}
        for tp in list(self._held):
            if max_records <= 0:
                break
            records = self._held.pop(tp)
            taken[tp], rest = records[:max_records], records[max_records:]
            max_records -= len(taken[tp])
            if rest:
                self._held[tp] = rest
        return taken

    # KafkaLink: held records first; seek and pause keep the held records true.

    async def getmany(self, timeout_ms: int, max_records: int) -> Batch:
        if taken := self._take(max_records):
            return taken
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return await self.link.getmany(timeout_ms, max_records)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._held.pop(tp, None)
        self.link.seek(tp, offset)

    def pause(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            records = self._held.pop(tp, None)
            if records and self._held_epoch == self._epoch():
                self.link.seek(tp, records[0].offset)
        self.link.pause(tps)

    async def start(self, callbacks: RebalanceCallbacks) -> None:
        await self.link.start(callbacks)

    async def stop(self) -> None:
        self._held.clear()
        await self.link.stop()

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return await self.link.beginning_offsets(tps)

    def resume(self, tps: set[TopicPartition]) -> None:
        self.link.resume(tps)

    def assignment(self) -> set[TopicPartition]:
        return self.link.assignment()

    def fence(self) -> Fence:
        return self.link.fence()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self.link.commit(offsets)

    async def send(self, topic: str, record: KafkaRecord) -> None:
        await self.link.send(topic, record)

    async def probe(self) -> bool:
        return await self.link.probe()

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return await self.link.end_offsets(topic)

