"""The batch loop overlaps: batch N is written while batch N+1 is planned."""

from typing import Any

import pytest

from notification_consumer.ingest import loop, overlap
from notification_consumer.ingest.overlap import PLAN_CHUNK, top_up
from notification_consumer.ingest.planning import BatchPlan, plan_into
from notification_consumer.ingest.ports import Fence
from tests.unit.consumer_fakes import FakeLink, FakeStore, event_value
from tests.unit.loop_support import TP0, running, until


async def test_the_write_of_a_batch_starts_before_the_next_is_planned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store, link, steps = FakeStore(), FakeLink(), list[str]()
    write = store.write

    async def recording_write(plan: BatchPlan, fence: Fence, publish: Any) -> Any:
        steps.append("write")
        return await write(plan, fence, publish)

    def recording_plan_into(*args: Any) -> None:
        steps.append("plan chunk")
        plan_into(*args)

    store.write = recording_write  # type: ignore[method-assign]
    monkeypatch.setattr(overlap, "plan_into", recording_plan_into)
    per_batch = 4 * PLAN_CHUNK
    for _ in range(2 * per_batch):
        _, value, headers = event_value()
        link.produce(value, headers=headers)
    async with running(store, link, batch_max_records=per_batch):
        await until(lambda: len(store.events) == 2 * per_batch)
    # Batch 1 in four chunks; its write starts after the first chunk of batch 2, not after
    # all four (as it did when the next batch was planned in one go).
    assert steps[:6] == ["plan chunk"] * 5 + ["write"]
    assert steps.count("plan chunk") == 8 and steps.count("write") == 2


@pytest.mark.parametrize(("batch_max_records", "expected"), [
    (100, [[0], [1, 2, 3]]),  # what arrived during the first write joins the second
    (2, [[0], [1, 2], [3]]),  # up to the batch size; the rest waits for the next
])
async def test_records_that_arrive_during_a_write_join_the_next_batch(
        batch_max_records: int, expected: list[list[int]]) -> None:
    """Record 1 is fetched (and planned) while record 0 is written; records 2 and 3 arrive
    during that write. They are written with record 1, not one write later."""
    store, link = FakeStore(), FakeLink()
    written: list[list[int]] = []
    write, getmany = store.write, link.getmany
    fetched_first = False

    async def producing_getmany(timeout_ms: int, max_records: int) -> Any:
        nonlocal fetched_first
        if fetched_first and len(link.log[TP0]) == 1:
            link.produce(event_value()[1])  # record 1: there when the first write starts
        batch = await getmany(timeout_ms, max_records)
        fetched_first = fetched_first or bool(batch)
        return batch

    async def recording_write(plan: BatchPlan, fence: Fence, publish: Any) -> Any:
        written.append(sorted(r.offset for r in plan.events))
        if len(written) == 1:
            for _ in range(2):  # records 2 and 3, during the first write
                link.produce(event_value()[1])
        return await write(plan, fence, publish)

    store.write = recording_write  # type: ignore[method-assign]
    link.getmany = producing_getmany  # type: ignore[method-assign]
    link.produce(event_value()[1])  # record 0
    async with running(store, link, batch_max_records=batch_max_records):
        await until(lambda: store.stored() == 4)
    assert written == expected


async def test_a_rebalance_during_the_top_up_fetch_loses_and_repeats_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The top-up fetch is where a rebalance can land: the batch planned before it is then
    not written (its epoch is over), and what the fetch returns comes from the positions the
    new assignment set. Every record ends up stored once, and the offset after the last."""
    store, link = FakeStore(), FakeLink()
    getmany = link.getmany
    fetched_first = topping_up = rebalanced = False

    async def spying_top_up(*args: Any) -> Any:
        nonlocal topping_up
        topping_up = True
        try:
            return await top_up(*args)
        finally:
            topping_up = False

    async def rebalancing_getmany(timeout_ms: int, max_records: int) -> Any:
        nonlocal fetched_first, rebalanced
        if fetched_first and len(link.log[TP0]) == 1:
            link.produce(event_value()[1])  # record 1: there when the first write starts
        if topping_up and not rebalanced:
            rebalanced = True
            await link.rebalance({TP0}, Fence(2, "member-1"))
            link.produce(event_value()[1])
        batch = await getmany(timeout_ms, max_records)
        fetched_first = fetched_first or bool(batch)
        return batch

    monkeypatch.setattr(loop, "top_up", spying_top_up)
    link.getmany = rebalancing_getmany  # type: ignore[method-assign]
    link.produce(event_value()[1])  # record 0
    async with running(store, link):
        await until(lambda: store.stored() == 3)
    assert rebalanced
    assert len(store.events) == 3 and store.stored() == 3 and store.writes == 2
