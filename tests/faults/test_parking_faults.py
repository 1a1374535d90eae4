"""Issue 22, under faults: a release is exactly once when the consumer is SIGKILLed in the
middle of it; a rebalance keeps a parked key parked at the new owner; /stats shows the
oldest unprocessed record's age and the time to drain moving while a backlog drains."""

import asyncio
import sys
import time
from typing import Any

import httpx
import pytest

from tests.faults.harness import Flow, consumer_service
from tests.faults.parking_support import (
    PARTITION,
    applied_order,
    letter_id,
    parked_scenario,
    released,
    send_payer,
    state,
)
from tests.support import consumer_app, in_process, unique, wait_until

pytestmark = pytest.mark.faults
CRASHING_CONSUMER = [sys.executable, "-m", "tests.crashing_consumer"]
FAST = {"RELEASE_POLL_S": "0.1", "LOG_LEVEL": "INFO"}


async def discard(base_url: str, letter: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        answer = await client.post(f"/dead-letters/{letter}/discard",
                                   json={"reason": "test release"})
    assert answer.status_code == 200, answer.text


async def test_a_release_cut_by_sigkill_applies_each_parked_record_once_in_order(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    async with in_process(consumer_app(database_url, main, dlq, group)):
        scenario = await parked_scenario(database_url, main, group)
    # One parked record per release transaction; the process dies after the second.
    crashing = consumer_service(database_url, main, dlq, group, argv=CRASHING_CONSUMER,
                                FAULT_EXIT_AFTER_DB_COMMITS="2",
                                RELEASE_RECORDS_PER_STEP="1", **FAST).start()
    try:
        await crashing.ready()
        await discard(crashing.url, await letter_id(database_url, main, group))
        assert crashing.proc is not None
        code = await asyncio.to_thread(crashing.proc.wait, 60)
        assert code == 137, crashing.log_tail()
    finally:
        await crashing.crash()
    e1, _, e3, e4, e5 = scenario.ids
    cut = await state(database_url, main, group)
    assert await applied_order(database_url, scenario.ids) == [e1, e3, e4]
    assert len(cut["parked_offsets"]) == 1
    consumer = consumer_service(database_url, main, dlq, group, argv=None, **FAST).start()
    try:
        s = await released(database_url, main, group, 54)
    finally:
        await consumer.crash()
    assert await applied_order(database_url, scenario.ids) == [e1, e3, e4, e5]
    assert s["counters"] == {"processed": 54, "duplicates": 0, "dead_letters": 1}
    assert s["letters"] == 1 and s["stored"] == scenario.sent and s["parked_offsets"] == []


async def test_a_rebalance_keeps_the_key_parked_at_the_new_owner(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    group = unique("group")
    first = consumer_service(database_url, main, dlq, group, argv=None, **FAST).start()
    second = consumer_service(database_url, main, dlq, group, argv=None, **FAST)
    try:
        scenario = await parked_scenario(database_url, main, group)
        second.start()
        await second.ready()
        await first.terminate()  # the second member now owns every partition
        e6 = await send_payer(scenario)

        async def read_e6() -> dict[str, Any] | None:
            s = await state(database_url, main, group)
            return s if s["stored"] == scenario.sent else None
        s = await wait_until(read_e6, 60, what="the new owner reading the 6th payment")
        assert e6 not in await applied_order(database_url, [e6])
        assert len(s["parked_offsets"]) == 4 and s["parks"][0]["records"] == 4
        await discard(second.url, await letter_id(database_url, main, group))
        s = await released(database_url, main, group, 55)
    finally:
        await first.crash()
        await second.crash()
    e1, _, e3, e4, e5, _ = scenario.ids
    assert await applied_order(database_url, scenario.ids) == [e1, e3, e4, e5, e6]
    assert s["counters"] == {"processed": 55, "duplicates": 0, "dead_letters": 1}
    assert s["stored"] == scenario.sent and PARTITION == 1


async def test_stats_show_the_oldest_age_and_the_drain_estimate_while_a_backlog_drains(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    await Flow(main, 6000, rate=100_000).run()
    seen: list[tuple[int, float, float | None]] = []
    app = consumer_app(database_url, main, dlq, unique("group"), batch_max_records=4,
                       lag_sample_interval_s=0.2, lag_window_samples=5)
    async with in_process(app) as client:
        deadline = time.monotonic() + 90
        while True:
            stats = (await client.get("/stats")).json()
            if stats["total_lag"] is not None:
                seen.append((stats["total_lag"], stats["oldest_unprocessed_age_s"],
                             stats["drain_seconds"]))
                if stats["total_lag"] == 0 and len(seen) > 3:
                    break
            assert time.monotonic() < deadline, seen[-5:]
            await asyncio.sleep(0.2)
    draining = [s for s in seen if s[0] > 0]
    estimates = {d for _, _, d in draining if d is not None and d > 0}
    ages = [a for _, a, _ in draining]
    # The estimate is there while the lag shrinks and reaches 0 with it (two or more
    # distinct positive values need the drain to last several samples: not always here).
    assert estimates, draining
    assert max(ages) > 0 and len(set(ages)) >= 2, draining
    assert seen[-1] == (0, 0.0, 0.0)
