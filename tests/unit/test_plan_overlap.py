"""The batch loop overlaps: batch N is written while batch N+1 is planned."""

from typing import Any

import pytest

from notification_consumer.ingest import overlap
from notification_consumer.ingest.overlap import PLAN_CHUNK
from notification_consumer.ingest.planning import BatchPlan, plan_into
from notification_consumer.ingest.ports import Fence
from tests.unit.consumer_fakes import FakeLink, FakeStore, event_value
from tests.unit.loop_support import running, until


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
