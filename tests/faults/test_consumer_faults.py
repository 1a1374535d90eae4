"""Issue: exactly once in effect under every failure we can cause. Each test ends with exact
counts: rows, notifications, dead letters, stored offsets = log end, Kafka's copy caught up."""

import asyncio
import sys

import pytest

from tests.faults.harness import (
    Flow,
    assert_exactly_once,
    consumer_running,
    flowing,
    infra,
    processed_count,
    wait_processed,
)
from tests.support import wait_until

CRASHING_CONSUMER = [sys.executable, "-m", "tests.crashing_consumer"]
pytestmark = pytest.mark.faults


async def test_sigkill_the_consumer_three_times_while_5000_events_flow(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main = topics6[0]
    async with flowing(database_url, topics6, Flow(main, 5000, rate=600)) as run:
        for threshold in (800, 2000, 3200):
            await wait_processed(database_url, main, threshold, timeout=60)
            await run.consumer.crash()  # SIGKILL: no shutdown code, a batch may be mid-transaction
            run.consumer.start()
        await run.producing
        counts = await assert_exactly_once(database_url, main, run.group, run.flow.event_ids, 0)
    assert counts["events"] == 5000


async def outage(script: str, flow: Flow) -> None:
    if script == "kafka.sh":
        await infra(script, "restart")
        return
    await infra(script, "down")
    # The outage lasts until 300 more events have arrived (the producer runs on this loop
    # meanwhile): the consumer must back off, not skip them.
    during = min(flow.sent + 300, len(flow.events))

    async def arrived() -> bool:
        return flow.sent >= during

    await wait_until(arrived, 60, interval=0.1, what="events produced during the outage")
    await infra(script, "up")


@pytest.mark.parametrize("script", ["postgres.sh", "kafka.sh"], ids=["postgres_stopped",
                                                                    "kafka_restarted"])
async def test_a_server_outage_while_events_flow_is_absorbed_in_process(
    database_url: str, topics6: tuple[str, str], script: str
) -> None:
    main = topics6[0]
    async with flowing(database_url, topics6, Flow(main, 2000, rate=500)) as run:
        await wait_processed(database_url, main, 300, timeout=60)
        await outage(script, run.flow)
        await asyncio.wait_for(run.producing, 180)
        counts = await assert_exactly_once(database_url, main, run.group, run.flow.event_ids, 0,
                                           kafka_commit_wait=60)
        # Processing resumed by itself in the same process.
        consumer = run.consumer
        assert consumer.proc is not None and consumer.proc.poll() is None, consumer.log_tail()
    assert counts["events"] == 2000


async def test_one_percent_poison_is_dead_lettered_once_and_nothing_skipped(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main = topics6[0]
    flow = Flow(main, 3000, rate=1500, poison_every=100)  # 30 poison among 3030 records
    async with flowing(database_url, topics6, flow) as run:
        await run.producing
        counts = await assert_exactly_once(database_url, main, run.group, flow.event_ids,
                                           poison=len(flow.poison_sent))
    assert counts["dead_letters"] == 30


async def test_every_message_delivered_twice(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main = topics6[0]
    async with flowing(database_url, topics6, Flow(main, 2000, rate=2000, twice=True)) as run:
        await run.producing
        counts = await assert_exactly_once(database_url, main, run.group, run.flow.event_ids, 0)
    assert counts["duplicates"] == 2000


async def test_crash_between_database_commit_and_kafka_commit(
    database_url: str, topics6: tuple[str, str], group: str
) -> None:
    main = topics6[0]
    flow = Flow(main, 1500, rate=3000)
    await flow.run()
    async with consumer_running(database_url, topics6, group, argv=CRASHING_CONSUMER,
                                FAULT_EXIT_AFTER_DB_COMMITS="3") as crashing:
        assert crashing.proc is not None
        code = await asyncio.to_thread(crashing.proc.wait, 60)
        assert code == 137, crashing.log_tail()
        done_before = await processed_count(database_url, main)
        assert done_before > 0  # the third batch's effects are in the database...
        async with consumer_running(database_url, topics6, group):
            counts = await assert_exactly_once(database_url, main, group, flow.event_ids, 0)
    # ...its offsets too, so the restarted consumer resumed after it: nothing redone.
    assert counts["duplicates"] == 0 and counts["events"] == 1500


async def test_scale_one_to_three_to_one_while_events_flow(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main = topics6[0]
    async with flowing(database_url, topics6, Flow(main, 4000, rate=500)) as run:
        await wait_processed(database_url, main, 500, timeout=60)
        async with consumer_running(database_url, topics6, run.group) as second, \
                consumer_running(database_url, topics6, run.group) as third:
            await wait_processed(database_url, main, 2000, timeout=90)
            for other in (second, third):
                # Graceful: it leaves the group.
                assert await other.terminate() in (0, -15), other.log_tail()
        await run.producing
        counts = await assert_exactly_once(database_url, main, run.group, run.flow.event_ids, 0)
    assert counts["events"] == 4000
