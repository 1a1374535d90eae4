"""With KAFKA_GROUP_INSTANCE_ID, a replica restarted within the session timeout gets
its partitions back without a rebalance: same generation, a new member id, exact counts."""

import asyncio
import time

import pytest

from tests.faults.harness import Flow, assert_exactly_once, consumer_service, wait_processed
from tests.support import db_rows, unique

pytestmark = pytest.mark.faults


async def claims(database_url: str, group: str) -> set[tuple[int, str]]:
    rows = await db_rows(
        database_url,
        "SELECT generation, member_id FROM notification_consumer.consumer_offsets "
        "WHERE group_id = $1", group)
    return {(r["generation"], r["member_id"]) for r in rows}


async def test_a_static_member_restarted_within_the_session_timeout_causes_no_rebalance(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    group = unique("group")
    flow = Flow(main, 3000, rate=300)
    producing = asyncio.create_task(flow.run())
    consumer = consumer_service(database_url, main, dlq, group, KAFKA_GROUP_INSTANCE_ID="replica-0",
                                SESSION_TIMEOUT_MS="30000")
    consumer.start()
    try:
        await wait_processed(database_url, main, 300, timeout=90)
        [(generation, first_member)] = await claims(database_url, group)
        await consumer.terminate()  # SIGTERM: a static member does not leave the group
        consumer.start()
        deadline = time.monotonic() + 60
        while True:
            now = await claims(database_url, group)
            if len(now) == 1 and next(iter(now))[1] != first_member:
                break
            assert time.monotonic() < deadline, now
            await asyncio.sleep(0.2)
        await producing
        await assert_exactly_once(database_url, main, group, flow.event_ids, 0)
    finally:
        producing.cancel()
        await consumer.crash()
    [(after, member)] = await claims(database_url, group)
    assert after == generation and member != first_member  # no rebalance, a new member id
