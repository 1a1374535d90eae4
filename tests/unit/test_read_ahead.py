"""Reading ahead during a write (ingest/read_ahead.py): records leave the client while a batch
is written, and a held record is only ever one the client would still return: a seek, a pause
and a rebalance change the held records as they change the client's."""

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from notification_consumer.ingest.planning import BatchPlan
from notification_consumer.ingest.ports import Fence
from notification_consumer.ingest.read_ahead import ReadAhead
from tests.unit.consumer_fakes import TOPIC, FakeLink, FakeStore, event_value
from tests.unit.loop_support import TP0, running, until

TP1 = TopicPartition(TOPIC, 1)


async def assigned_link(partitions: int = 1) -> FakeLink:
    link = FakeLink(partitions)
    link.assigned = set(link.log)
    link.positions = dict.fromkeys(link.log, 0)
    return link


def produce(link: FakeLink, n: int, partition: int = 0) -> None:
    for _ in range(n):
        link.produce(event_value()[1], partition)


async def read_during_a_write(ahead: ReadAhead, link: FakeLink, produced: int,
                              partition: int = 0, max_records: int = 100) -> None:
    """A write that lasts while `produced` records arrive, one at a time."""
    async def write() -> None:
        for _ in range(produced):
            produce(link, 1, partition)
            await asyncio.sleep(0.002)
    writing = asyncio.ensure_future(write())
    await ahead.during(writing, max_records)  # back when the write is, or when full
    await writing


async def test_records_arriving_during_a_write_leave_the_client_and_come_first() -> None:
    link, epoch = await assigned_link(), 1
    ahead = ReadAhead(link, lambda: epoch)
    await read_during_a_write(ahead, link, 5)
    assert link.positions[TP0] == 5 and ahead.held == 5  # the client was read as they came
    batch = await ahead.getmany(0, 3)
    assert [r.offset for r in batch[TP0]] == [0, 1, 2]
    assert [r.offset for r in (await ahead.getmany(0, 100))[TP0]] == [3, 4]
    assert await ahead.getmany(0, 100) == {} and ahead.held == 0


async def test_at_most_max_records_are_held() -> None:
    link = await assigned_link()
    ahead = ReadAhead(link, lambda: 1)
    await read_during_a_write(ahead, link, 6, max_records=4)
    assert ahead.held == 4 and link.positions[TP0] == 4  # the rest stays in the client


async def test_a_seek_forgets_that_partitions_held_records_only() -> None:
    link = await assigned_link(2)
    ahead = ReadAhead(link, lambda: 1)
    await read_during_a_write(ahead, link, 3, partition=0)
    await read_during_a_write(ahead, link, 2, partition=1)
    ahead.seek(TP0, 1)
    batch = await ahead.getmany(0, 100)
    assert list(batch) == [TP1] and [r.offset for r in batch[TP1]] == [0, 1]
    assert [r.offset for r in (await ahead.getmany(0, 100))[TP0]] == [1, 2]  # again


async def test_a_pause_puts_the_position_back_on_the_first_held_record() -> None:
    link = await assigned_link()
    ahead = ReadAhead(link, lambda: 1)
    await read_during_a_write(ahead, link, 3)
    ahead.pause({TP0})
    assert ahead.held == 0 and link.positions[TP0] == 0
    assert await ahead.getmany(0, 100) == {}  # paused: nothing, held or not
    ahead.resume({TP0})
    assert [r.offset for r in (await ahead.getmany(0, 100))[TP0]] == [0, 1, 2]


async def test_after_a_rebalance_held_records_are_stale_and_never_returned() -> None:
    link, epoch = await assigned_link(), 1
    ahead = ReadAhead(link, lambda: epoch)
    await read_during_a_write(ahead, link, 3)
    epoch = 2  # the assignment set the position itself (here: stored offset 1)
    link.positions[TP0] = 1
    assert [r.offset for r in (await ahead.getmany(0, 100))[TP0]] == [1, 2]
    ahead.pause({TP0})  # no seek back to a stale record either
    assert link.positions[TP0] == 3


async def test_a_batch_rolled_back_during_read_ahead_loses_and_repeats_nothing() -> None:
    """The write of the first records fails (an outage) while later ones are read ahead; the
    rewind seeks back, what was held past it is forgotten, and every record is stored once,
    in order, with the offset after the last."""
    store, link = FakeStore(), FakeLink()
    write = store.write
    order: list[int] = []
    failures = 1

    async def failing_then_slow_write(plan: BatchPlan, fence: Fence, publish: Any) -> Any:
        for _ in range(3):  # records arrive during every write
            produce(link, 1)
            await asyncio.sleep(0.002)
        if failures:
            raise ConnectionRefusedError(111, "refused")
        order.extend(r.offset for r in plan.events)
        return await write(plan, fence, publish)

    async def healthy() -> bool:  # down when asked first: the batch rolls back, then retries
        nonlocal failures
        if failures:
            failures -= 1
            return False
        return True

    store.write = failing_then_slow_write  # type: ignore[method-assign]
    store.probe = healthy  # type: ignore[method-assign]
    produce(link, 2)
    async with running(store, link):
        await until(lambda: len(link.log[TP0]) >= 20)
        await until(lambda: store.stored() == len(link.log[TP0]) or len(link.log[TP0]) > 60)
    total = store.stored()
    assert total is not None and total >= 20
    assert len(store.events) == total and sorted(order) == order == list(range(total))


async def test_a_fetch_error_during_a_write_reaches_the_loops_next_fetch() -> None:
    """After what was held before it, as the client would have raised it."""
    link = await assigned_link()
    ahead = ReadAhead(link, lambda: 1)
    await read_during_a_write(ahead, link, 2)
    link.fetch_error = KafkaError("broker gone")
    await read_during_a_write(ahead, link, 1)
    assert [r.offset for r in (await ahead.getmany(0, 100))[TP0]] == [0, 1]
    with pytest.raises(KafkaError):
        await ahead.getmany(0, 100)
    link.fetch_error = None
    assert [r.offset for r in (await ahead.getmany(0, 100))[TP0]] == [2]
