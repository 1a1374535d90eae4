"""Reset the group to the beginning of the topic (or to a time) so it reprocesses.

Safety rules:
- never forward: with `--to-time`, a partition whose stored position is before the time's
  offset stays where it is (unprocessed records are never skipped) unless `forward=True`;
- never into the future: a time after now is refused;
- only with no live member, and only on a successful DescribeGroups answer (an error code,
  a coordinator that is moving, is a refusal, not "no members");
- Kafka's copy first, PostgreSQL (the position the consumer resumes from) last: a failure
  between the two leaves the consumer's position untouched, and running the command again
  completes the reset.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from sqlalchemy import text

from notification_consumer.ingest.settings import GroupSettings
from notification_consumer.store.batch_sql import S, stored_offsets
from service_kit.db import make_engine
from service_kit.kafka import client_options, stop_client
from service_kit.settings import DatabaseSettings

KafkaStep = Callable[[AIOKafkaConsumer, dict[TopicPartition, int]], Awaitable[None]]


class ReplayRefused(RuntimeError):
    """The reset was not done; nothing was changed."""


class GroupActive(ReplayRefused):
    pass


async def commit_to_kafka(consumer: AIOKafkaConsumer, targets: dict[TopicPartition, int]) -> None:
    await asyncio.wait_for(consumer.commit(dict(targets)), 30)


async def reset_offsets(settings: GroupSettings, database: DatabaseSettings, to: datetime | None,
                        forward: bool = False, *,
                        kafka_step: KafkaStep = commit_to_kafka) -> dict[int, int]:
    if to is not None and to > datetime.now(UTC):
        raise ReplayRefused(f"{to.isoformat()} is in the future: there is nothing to replay")
    partitions = await _check_group_and_partitions(settings)
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=settings.kafka_group_id,
                                enable_auto_commit=False)
    await asyncio.wait_for(consumer.start(), 30)
    engine = make_engine(database, pool_size=1)
    try:
        tps = [TopicPartition(settings.kafka_topic, p) for p in partitions]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps)
        if to is None:
            targets = dict(starts)
        else:
            ends = await consumer.end_offsets(tps)
            when = int(to.timestamp() * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(tps, when))
            targets = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}
        if not forward:
            async with engine.connect() as conn:
                stored = await stored_offsets(conn, settings.kafka_group_id, settings.kafka_topic)
            # Where the consumer would resume today: stored, or the beginning if never stored.
            targets = {tp: min(offset, stored.get(tp.partition, starts[tp]))
                       for tp, offset in targets.items()}
        await kafka_step(consumer, targets)
        async with engine.begin() as conn:
            for tp, offset in targets.items():
                await conn.execute(text(f"""
                    INSERT INTO {S}.consumer_offsets (group_id, topic, partition, next_offset)
                    VALUES (:g, :t, :p, :o)
                    ON CONFLICT (group_id, topic, partition) DO UPDATE
                    SET next_offset = EXCLUDED.next_offset, updated_at = now()
                """), {"g": settings.kafka_group_id, "t": tp.topic, "p": tp.partition,
                       "o": offset})
        return {tp.partition: offset for tp, offset in targets.items()}
    finally:
        await engine.dispose()
        await stop_client(consumer)


async def _check_group_and_partitions(settings: GroupSettings) -> list[int]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await asyncio.wait_for(admin.start(), 30)
    try:
        described = await asyncio.wait_for(
            admin.describe_consumer_groups([settings.kafka_group_id]), 30)
        [topic] = await asyncio.wait_for(admin.describe_topics([settings.kafka_topic]), 30)
    finally:
        await admin.close()
    groups = [group for response in described for group in response.groups]
    if not groups:
        raise ReplayRefused("DescribeGroups returned no answer for the group")
    for group in groups:
        # (error_code, group_id, state, protocol_type, protocol, members, ...)
        error_code, state, members = group[0], group[2], group[5]
        if error_code != 0:
            raise ReplayRefused(f"DescribeGroups failed (error code {error_code}); "
                                "cannot tell whether consumers are running")
        if members:
            raise GroupActive(f"group {settings.kafka_group_id} has {len(members)} live "
                              f"member(s) (state {state}); stop the consumers first")
    partitions = sorted(p["partition"] for p in topic.get("partitions", []))
    if topic.get("error_code", 0) != 0 or not partitions:
        raise ReplayRefused(f"topic {settings.kafka_topic} has no partitions (does it exist?)")
    return partitions
