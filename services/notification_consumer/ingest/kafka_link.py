"""aiokafka behind the KafkaLink protocol: one group member and one idempotent producer."""

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError, MessageSizeTooLargeError
from aiokafka.structs import TopicPartition

from notification_consumer.ingest import lenient_records
from notification_consumer.ingest.failures import RecordRejected
from notification_consumer.ingest.ports import Batch, Fence, RebalanceCallbacks
from notification_consumer.ingest.settings import IngestSettings
from payment_events.codec import KafkaRecord
from service_kit.errors import PublishFailed
from service_kit.kafka import client_options, stop_client

SEND_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 5.0


class AioKafkaLink:
    def __init__(self, settings: IngestSettings) -> None:
        # A header key that is not UTF-8 must not stop a partition, nor a compressed batch
        # that expands past the limit take the process's memory.
        lenient_records.install(settings.consumer_max_decompressed_batch_bytes)
        self.settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    @property
    def connected(self) -> bool:
        return self._consumer is not None

    async def start(self, callbacks: RebalanceCallbacks) -> None:
        s = self.settings
        consumer = AIOKafkaConsumer(
            **client_options(s), group_id=s.kafka_group_id, client_id="notification-consumer",
            group_instance_id=s.kafka_group_instance_id or None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new group reads the topic from the start
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
        )
        producer = AIOKafkaProducer(**client_options(s), enable_idempotence=True,
                                    client_id="notification-consumer-dlq",
                                    max_request_size=s.dlq_max_record_bytes + 64 * 1024)
        consumer.subscribe([s.kafka_topic], listener=_Listener(callbacks))
        # Set before starting: the first assignment's callbacks may run inside start().
        self._consumer, self._producer = consumer, producer
        try:
            await asyncio.wait_for(producer.start(), 30)
            await asyncio.wait_for(consumer.start(), 30)
        except BaseException:
            self._consumer = self._producer = None
            for client in (consumer, producer):
                await stop_client(client, 5)
            raise

    async def stop(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                await stop_client(client)
        self._consumer = self._producer = None

    def _c(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise KafkaError("consumer not connected")
        return self._consumer

    async def getmany(self, timeout_ms: int, max_records: int) -> Batch:
        batch: Batch = await self._c().getmany(timeout_ms=timeout_ms, max_records=max_records)
        return batch

    def seek(self, tp: TopicPartition, offset: int) -> None:
        # A partition no longer ours raises: its new owner resumes from the stored offset.
        with contextlib.suppress(IllegalStateError):
            self._c().seek(tp, offset)

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        starts = await asyncio.wait_for(self._c().beginning_offsets(tps), 30)
        return {tp: int(offset) for tp, offset in starts.items()}

    def pause(self, tps: set[TopicPartition]) -> None:
        assigned = self.assignment()
        self._c().pause(*(tp for tp in tps if tp in assigned))

    def resume(self, tps: set[TopicPartition]) -> None:
        assigned = self.assignment()
        self._c().resume(*(tp for tp in tps if tp in assigned))

    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def fence(self) -> Fence:
        # aiokafka keeps the generation and member id of the last join on its coordinator
        # (no public accessor); both are set before on_partitions_assigned runs.
        coordinator: Any = getattr(self._c(), "_coordinator", None)
        if coordinator is None:
            return Fence(-1, "")
        return Fence(int(coordinator.generation), str(coordinator.member_id))

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await asyncio.wait_for(self._c().commit(offsets), 10)

    async def send(self, topic: str, record: KafkaRecord) -> None:
        if self._producer is None:
            raise PublishFailed("producer not connected")
        try:
            delivery = await self._producer.send(topic, value=record.value, key=record.key,
                                                 headers=record.headers)
            await asyncio.wait_for(delivery, SEND_TIMEOUT_S)
        except MessageSizeTooLargeError as exc:
            raise RecordRejected(f"the broker refused the record: {exc!r}") from exc
        except (KafkaError, TimeoutError) as exc:
            if isinstance(exc, KafkaError) and not exc.retriable:
                raise RecordRejected(f"the broker refused the record: {exc!r}") from exc
            raise PublishFailed(f"no acknowledgement: {exc!r}") from exc

    async def probe(self) -> bool:
        if self._producer is None:
            return False
        try:
            # A metadata round trip: the broker answers, or it is not healthy now.
            client: Any = getattr(self._producer, "client", None)
            await asyncio.wait_for(client.fetch_all_metadata(), PROBE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - any failure means "not healthy now"
            return False
        return True

    async def end_offsets(self, topic: str) -> dict[int, int]:
        kafka = self._c()
        partitions = kafka.partitions_for_topic(topic)
        if not partitions:
            client: Any = getattr(kafka, "_client", None)
            await asyncio.wait_for(client.force_metadata_update(), 5)
            partitions = kafka.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await asyncio.wait_for(kafka.end_offsets(tps), 5)
        return {tp.partition: int(offset) for tp, offset in ends.items()}


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, callbacks: RebalanceCallbacks) -> None:
        self.callbacks = callbacks

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.callbacks.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.callbacks.on_assigned(assigned)
