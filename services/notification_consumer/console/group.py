"""The consumer group as Kafka sees it (DescribeGroups through aiokafka's admin client) next to
the offsets stored with the effects and Kafka's committed copy, per partition.

aiokafka speaks DescribeGroups up to v3, which carries neither the generation nor static
instance ids; those come from this replica's own coordinator (consumer_state.membership).
"""

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.structs import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.ingest.settings import GroupSettings
from notification_consumer.store.batch_sql import S
from service_kit.kafka import client_options

TIMEOUT_S = 5.0


def _assignment(raw: bytes) -> dict[str, list[int]]:
    if not raw:
        return {}
    try:
        decoded = ConsumerProtocolMemberAssignment.decode(raw)
    except Exception:  # noqa: BLE001 - a foreign protocol's bytes: show nothing
        return {}
    return {topic: sorted(parts) for topic, parts in decoded.assignment}


class GroupView:
    def __init__(self, settings: GroupSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> AIOKafkaAdminClient:
        async with self._lock:
            if self._admin is None:
                admin = AIOKafkaAdminClient(**client_options(self.settings),
                                            request_timeout_ms=int(TIMEOUT_S * 1000))
                await asyncio.wait_for(admin.start(), TIMEOUT_S)
                self._admin = admin
            return self._admin

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def describe(self) -> dict[str, Any]:
        group, topic = self.settings.kafka_group_id, self.settings.kafka_topic
        result: dict[str, Any] = {"group": group, "topic": topic, "state": None,
                                  "protocol": None, "members": [], "error": None}
        committed: dict[int, int] = {}
        try:
            admin = await self._client()
            responses = await asyncio.wait_for(admin.describe_consumer_groups([group]),
                                               TIMEOUT_S)
            for response in responses:
                for g in response.groups:
                    error_code, _, state, _, protocol, members = g[:6]
                    if error_code:
                        result["error"] = f"DescribeGroups error code {error_code}"
                    result["state"], result["protocol"] = state, protocol
                    for m in members:
                        member_id, client_id, host, _, assignment = m[:5]
                        result["members"].append({
                            "member_id": member_id, "client_id": client_id,
                            "client_host": host,
                            "partitions": _assignment(assignment).get(topic, [])})
            offsets = await asyncio.wait_for(admin.list_consumer_group_offsets(group),
                                             TIMEOUT_S)
            committed = {tp.partition: meta.offset for tp, meta in offsets.items()
                         if isinstance(tp, TopicPartition) and tp.topic == topic}
        except Exception as exc:  # noqa: BLE001 - shown on the page; the stored side stays
            result["error"] = f"{type(exc).__name__}: {exc}"[:300]
            await self.close()
        async with self.engine.connect() as conn:
            stored = await conn.execute(text(f"""
                SELECT partition, next_offset, updated_at FROM {S}.consumer_offsets
                WHERE group_id = :g AND topic = :t ORDER BY partition"""),
                {"g": group, "t": topic})
            rows = {r.partition: dict(r._mapping) for r in stored}
        result["partitions"] = [
            {"partition": p, "stored_offset": rows.get(p, {}).get("next_offset"),
             "stored_at": rows.get(p, {}).get("updated_at"), "kafka_offset": committed.get(p)}
            for p in sorted(set(rows) | set(committed))]
        return result
