"""Reset the group to the beginning of the topic (or to a time) so it reprocesses everything.

Both copies of the position move: the offsets stored with the effects (which the consumer
resumes from) and the group's Kafka offsets (which lag tools read). Like Kafka's own
reset tool, it refuses while the group has live members. Reprocessing writes zero new rows:
every event is already there, so each counts as a duplicate.
"""

import asyncio
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from sqlalchemy import text

from notification_consumer.config import Settings
from notification_consumer.store import S
from service_kit.db import make_engine
from service_kit.kafka import client_options, stop_client


class GroupActive(RuntimeError):
    pass


async def reset_offsets(settings: Settings, to: datetime | None) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await asyncio.wait_for(admin.start(), 30)
    try:
        described = await asyncio.wait_for(
            admin.describe_consumer_groups([settings.kafka_group_id]), 30)
        [topic] = await asyncio.wait_for(admin.describe_topics([settings.kafka_topic]), 30)
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in topic["partitions"])
    if not partitions:
        raise RuntimeError(f"topic {settings.kafka_topic} has no partitions (does it exist?)")
    for response in described:
        for group in response.groups:
            # (error_code, group_id, state, protocol_type, protocol, members, ...)
            state, members = group[2], group[5]
            if members:
                raise GroupActive(f"group {settings.kafka_group_id} has {len(members)} live "
                                  f"member(s) (state {state}); stop the consumers first")
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=settings.kafka_group_id,
                                enable_auto_commit=False)
    await asyncio.wait_for(consumer.start(), 30)
    try:
        tps = [TopicPartition(settings.kafka_topic, p) for p in partitions]
        consumer.assign(tps)
        if to is None:
            targets = await consumer.beginning_offsets(tps)
        else:
            ends = await consumer.end_offsets(tps)
            found = await consumer.offsets_for_times({tp: int(to.timestamp() * 1000) for tp in tps})
            targets = {tp: (found[tp].offset if found.get(tp) else ends[tp]) for tp in tps}
        engine = make_engine(settings, pool_size=1)
        try:
            async with engine.begin() as conn:
                for tp, offset in targets.items():
                    await conn.execute(text(f"""
                        INSERT INTO {S}.consumer_offsets (group_id, topic, partition, next_offset)
                        VALUES (:g, :t, :p, :o)
                        ON CONFLICT (group_id, topic, partition) DO UPDATE
                        SET next_offset = EXCLUDED.next_offset, updated_at = now()
                    """), {"g": settings.kafka_group_id, "t": tp.topic, "p": tp.partition,
                           "o": offset})
        finally:
            await engine.dispose()
        await consumer.commit(dict(targets))
        return {tp.partition: offset for tp, offset in targets.items()}
    finally:
        await stop_client(consumer)
