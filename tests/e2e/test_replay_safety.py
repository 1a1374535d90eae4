"""`notification-consumer reset-offsets` never skips. A time after the stored position
leaves it where it is (unless --forward), a future time is refused, and a failure between
the Kafka step and the PostgreSQL step leaves a state the consumer resumes from safely."""

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from notification_consumer.config import Settings
from notification_consumer.ingest.reset_offsets import reset_offsets
from tests.faults.harness import Flow, assert_exactly_once, consumer_running, stored_offsets
from tests.support import BOOTSTRAP

BIN = Path(sys.executable).parent


def replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "notification-consumer"), "replay", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@dataclass
class Stopped:
    """A consumer that processed `flow` and stopped gracefully."""

    flow: Flow
    env: dict[str, str]  # its environment, for `notification-consumer replay`
    offsets: dict[int, int]  # the offsets it stored with its last batch


async def processed_then_stopped(database_url: str, topics: tuple[str, str], group: str,
                                 events: int) -> Stopped:
    flow = Flow(topics[0], events, rate=5000)
    await flow.run()
    async with consumer_running(database_url, topics, group) as consumer:
        try:
            await assert_exactly_once(database_url, topics[0], group, flow.event_ids, 0)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nthe consumer's log:\n{consumer.log_tail()}") from exc
        assert await consumer.terminate() in (0, -15), consumer.log_tail()
    return Stopped(flow, dict(consumer.env), await stored_offsets(database_url, topics[0], group))


async def test_a_time_after_the_stored_position_never_skips_unprocessed_records(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main = topics[0]
    stopped = await processed_then_stopped(database_url, topics, group, 90)
    waiting = Flow(main, 60, rate=5000)  # lag outstanding: produced, never processed
    await waiting.run()
    await asyncio.sleep(1.5)
    middle = datetime.now(UTC)
    await asyncio.sleep(1.5)
    later = Flow(main, 60, rate=5000)
    await later.run()
    done = await asyncio.to_thread(replay, stopped.env, "--to-time", middle.isoformat())
    assert done.returncode == 0, done.stderr[-2000:]
    assert await stored_offsets(database_url, main, group) == stopped.offsets  # not moved forward
    async with consumer_running(database_url, topics, group):
        counts = await assert_exactly_once(
            database_url, main, group,
            stopped.flow.event_ids | waiting.event_ids | later.event_ids, 0)
    assert counts["events"] == 210 and counts["duplicates"] == 0


async def test_forward_moves_past_the_stored_position_only_when_asked(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main = topics[0]
    stopped = await processed_then_stopped(database_url, topics, group, 30)
    skipped = Flow(main, 30, rate=5000)
    await skipped.run()
    await asyncio.sleep(1.5)
    done = await asyncio.to_thread(replay, stopped.env, "--to-time",
                                   datetime.now(UTC).isoformat(), "--forward")
    assert done.returncode == 0, done.stderr[-2000:]
    stored = await stored_offsets(database_url, main, group)
    assert sum(stored.values()) == 60  # at the log end: the operator asked to skip


async def test_a_future_time_is_refused_and_changes_nothing(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    stopped = await processed_then_stopped(database_url, topics, group, 30)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    refused = await asyncio.to_thread(replay, stopped.env, "--to-time", future)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "future" in refused.stderr + refused.stdout
    assert await stored_offsets(database_url, topics[0], group) == stopped.offsets


async def test_a_kafka_step_failure_leaves_the_consumers_position_and_a_rerun_completes(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main, dlq = topics
    stopped = await processed_then_stopped(database_url, topics, group, 60)
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=BOOTSTRAP,
                        kafka_topic=main, kafka_dlq_topic=dlq, kafka_group_id=group)

    async def broken_commit(consumer: AIOKafkaConsumer,
                            targets: dict[TopicPartition, int]) -> None:
        raise ConnectionError("the broker went away between the two steps")

    with pytest.raises(ConnectionError):
        await reset_offsets(settings, settings, None, kafka_step=broken_commit)
    assert await stored_offsets(database_url, main, group) == stopped.offsets  # untouched
    done = await asyncio.to_thread(replay, stopped.env)  # the operator runs it again
    assert done.returncode == 0, done.stderr[-2000:]
    assert sum((await stored_offsets(database_url, main, group)).values()) == 0
    async with consumer_running(database_url, topics, group):
        counts = await assert_exactly_once(database_url, main, group, stopped.flow.event_ids, 0)
    assert counts["events"] == 60 and counts["duplicates"] == 60  # all replayed, none twice
