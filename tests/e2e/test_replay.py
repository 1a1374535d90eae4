"""`notification-consumer replay`: reprocess the topic from the beginning with zero new rows."""

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.faults.harness import Flow, assert_exactly_once, consumer_service
from tests.support import db_value, unique

BIN = Path(sys.executable).parent


def replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([str(BIN / "notification-consumer"), "replay", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


async def test_replay_from_the_beginning_reprocesses_with_zero_new_rows(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    flow = Flow(main, 300, rate=5000, poison_every=100)
    await flow.run()
    consumer = consumer_service(database_url, main, dlq, group).start()
    try:
        first = await assert_exactly_once(database_url, main, group, flow.event_ids, 3)
        env = {**consumer.env}
        refused = await asyncio.to_thread(replay, env)  # the group still has a live member
        assert refused.returncode == 2, refused.stderr[-2000:]
        assert await consumer.terminate() in (0, -15)
        done = await asyncio.to_thread(replay, env)
        assert done.returncode == 0, done.stderr[-2000:]
        stored = await db_value(
            database_url, "SELECT sum(next_offset) FROM notification_consumer.consumer_offsets "
            "WHERE group_id = $1 AND topic = $2", group, main)
        assert stored == 0  # back at the beginning
        consumer.start()
        again = await assert_exactly_once(database_url, main, group, flow.event_ids, 3)
    finally:
        await consumer.crash()
    assert again["events"] == first["events"] == 300
    assert again["dead_letters"] == 3  # the same records, dead-lettered once
    assert again["duplicates"] == first["duplicates"] + 300  # every event came again
