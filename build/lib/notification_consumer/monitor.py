"""Samples log-end and stored offsets for every partition: feeds /stats and lag metrics."""

import asyncio
import logging
import time
from typing import Any

from aiokafka.structs import TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer import metrics, store
from notification_consumer.config import Settings
from notification_consumer.consumer import NotificationConsumer
from notification_consumer.lag import LagWindow, group_status

log = logging.getLogger(__name__)


class LagMonitor:
    def __init__(self, settings: Settings, engine: AsyncEngine, consumer: NotificationConsumer):
        self.settings = settings
        self.engine = engine
        self.consumer = consumer
        self.window = LagWindow(settings.lag_window_samples)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lag_sample_interval_s)
            self.record_readiness()
            try:
                await self.snapshot(record=True)
            except Exception as exc:  # noqa: BLE001 - a missed sample is only a gap
                log.debug("lag sample failed", extra={"error": repr(exc)})
            self.record_readiness()

    def record_readiness(self) -> None:
        """consumer_ready: 1 while connected to Kafka and not degraded (feeds ConsumerNotReady)."""
        ready = self.consumer.consumer is not None and self.consumer.degraded is None
        metrics.READY.set(1 if ready else 0)

    async def end_offsets(self) -> dict[int, int]:
        kafka = self.consumer.consumer
        if kafka is None:
            raise RuntimeError("consumer not connected to Kafka")
        topic = self.settings.kafka_topic
        partitions = kafka.partitions_for_topic(topic)
        if not partitions:
            await asyncio.wait_for(kafka._client.force_metadata_update(), 5)
            partitions = kafka.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await asyncio.wait_for(kafka.end_offsets(tps), 5)
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    async def snapshot(self, record: bool = False) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            stored = await store.stored_offsets(conn, self.settings.kafka_group_id,
                                                self.settings.kafka_topic)
            counts = await store.counters(conn, self.settings.kafka_group_id)
        result: dict[str, Any] = {
            "group_id": self.settings.kafka_group_id,
            "topic": self.settings.kafka_topic,
            **counts,
        }
        try:
            ends = await self.end_offsets()
        except Exception as exc:  # noqa: BLE001 - report what we know
            result.update(lag=None, total_lag=None, partitions=[], status="UNKNOWN",
                          kafka_error=f"{type(exc).__name__}: {exc}"[:200])
            return result
        now = time.time()
        partitions: list[dict[str, Any]] = []
        for partition, end in sorted(ends.items()):
            committed = stored.get(partition)
            lag = max(0, end - (committed or 0))
            if record:
                self.window.add(partition, committed, end, now)
            status = self.window.status(partition) if record or partition in self.window.samples \
                else "OK"
            lag_s = self.window.lag_seconds(partition, now)
            partitions.append({"partition": partition, "committed_offset": committed,
                               "log_end_offset": end, "lag": lag,
                               "lag_seconds": round(lag_s, 3), "status": status})
            label = str(partition)
            metrics.LAG.labels(label).set(lag)
            metrics.LAG_SECONDS.labels(label).set(lag_s)
            since = self.consumer.last_commit.get(partition)
            if since is not None:
                metrics.SINCE_COMMIT.labels(label).set(time.monotonic() - since)
        result.update(
            lag={str(p["partition"]): p["lag"] for p in partitions},
            total_lag=sum(p["lag"] for p in partitions),
            partitions=partitions,
            status=group_status([p["status"] for p in partitions]),
        )
        return result
