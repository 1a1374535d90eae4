"""With KAFKA_GROUP_INSTANCE_ID, a replica restarted within the session timeout gets
its partitions back without a rebalance: same generation, a new member id, exact counts."""

import pytest

from tests.faults.harness import Flow, assert_exactly_once, flowing, wait_processed
from tests.support import db_rows, wait_until

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
    main = topics6[0]
    async with flowing(database_url, topics6, Flow(main, 3000, rate=300),
                       KAFKA_GROUP_INSTANCE_ID="replica-0", SESSION_TIMEOUT_MS="30000") as run:
        await wait_processed(database_url, main, 300, timeout=90)
        [(generation, first_member)] = await claims(database_url, run.group)
        await run.consumer.terminate()  # SIGTERM: a static member does not leave the group
        run.consumer.start()

        async def rejoined() -> bool:
            now = await claims(database_url, run.group)
            return len(now) == 1 and next(iter(now))[1] != first_member

        await wait_until(rejoined, 60, interval=0.2, what="the restarted member's claim")
        await run.producing
        await assert_exactly_once(database_url, main, run.group, run.flow.event_ids, 0)
    [(after, member)] = await claims(database_url, run.group)
    assert after == generation and member != first_member  # no rebalance, a new member id
