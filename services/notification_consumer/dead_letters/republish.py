"""Kafka side of a dead-letter replay: publish one record tagged with its replay id, and
find out afterwards whether a record with that id reached the topic.

Why a publish attempt has a hard end: an idempotent aiokafka producer retries a batch forever
while it lives. So an attempt waits at most PUBLISH_WINDOW_S for the acknowledgement; if it
has none by then, the producer is closed (its connections dropped) and replaced. After
ATTEMPT_BOUND_S nothing of that attempt can still be on its way, which is what lets a later
scan of the topic prove that a record was *not* published.
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from notification_consumer.ingest.settings import GroupSettings
from payment_events.codec import KafkaRecord
from service_kit.errors import OutcomePending, PublishFailed
from service_kit.kafka import client_options, stop_client

log = logging.getLogger(__name__)
REPLAY_ID_HEADER = "paystream_replay_id"
PUBLISH_WINDOW_S = 15.0
CLOSE_TIMEOUT_S = 10.0
ATTEMPT_BOUND_S = PUBLISH_WINDOW_S + CLOSE_TIMEOUT_S + 5.0  # + the broker's own handling
SCAN_MAX_RECORDS = 2_000_000
SCAN_TIMEOUT_S = 30.0
CLOCK_MARGIN_S = 120.0  # producer clocks (record timestamps) vs the database clock


@dataclass(frozen=True, slots=True)
class Placement:
    partition: int
    offset: int


class ScanInconclusive(OutcomePending):
    """The topic could not be read far enough to say whether the replay was published."""


class ReplayPublisher:
    def __init__(self, settings: GroupSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**client_options(self.settings), enable_idempotence=True,
                                        request_timeout_ms=5000, client_id="dead-letter-replay")
            try:
                await asyncio.wait_for(producer.start(), 10)
            except (KafkaError, OSError, TimeoutError) as exc:
                await stop_client(producer, 5)
                raise PublishFailed(f"replay producer could not connect: {exc!r}") from exc
            self._producer = producer
        return self._producer

    async def publish(self, record: KafkaRecord, replay_id: UUID) -> Placement:
        """Publish once; raises PublishFailed when the outcome is not known to be success."""
        headers = [(k, v) for k, v in record.headers if k != REPLAY_ID_HEADER]
        headers.append((REPLAY_ID_HEADER, str(replay_id).encode()))
        async with self._lock:  # one attempt at a time keeps "close on doubt" simple
            producer = await self._ready_producer()
            try:
                delivery = await asyncio.wait_for(producer.send(
                    self.settings.kafka_topic, value=record.value, key=record.key,
                    headers=headers), PUBLISH_WINDOW_S)
                meta = await asyncio.wait_for(delivery, PUBLISH_WINDOW_S)
            except (KafkaError, TimeoutError, OSError) as exc:
                await self._discard(producer)
                raise PublishFailed(f"replay not acknowledged: {exc!r}") from exc
        return Placement(int(meta.partition), int(meta.offset))

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        """Close a producer whose attempt is in doubt, so that it cannot deliver later."""
        self._producer = None
        try:
            await asyncio.wait_for(producer.stop(), CLOSE_TIMEOUT_S)
        except BaseException as exc:
            log.warning("replay producer did not stop cleanly", extra={"error": repr(exc)})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.client.close(), 5)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def close(self) -> None:
        if self._producer is not None:
            await stop_client(self._producer)
            self._producer = None

    async def find(self, replay_id: UUID, since: datetime) -> Placement | None:
        """The record carrying `replay_id` on the main topic, or None when none was written
        since `since` (minus a clock margin). Raises ScanInconclusive when it cannot tell."""
        wanted = str(replay_id).encode()
        scanner = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False,
                                   client_id="dead-letter-replay-scan")
        try:
            await asyncio.wait_for(scanner.start(), 10)
            return await asyncio.wait_for(self._scan(scanner, wanted, since), SCAN_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise ScanInconclusive(repr(exc)) from exc
        finally:
            await stop_client(scanner, 5)

    async def _scan(self, scanner: AIOKafkaConsumer, wanted: bytes,
                    since: datetime) -> Placement | None:
        topic = self.settings.kafka_topic
        partitions = await scanner._client._wait_on_metadata(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        ends = await scanner.end_offsets(tps)
        start_ms = int((since.timestamp() - CLOCK_MARGIN_S) * 1000)
        starts = await scanner.offsets_for_times({tp: start_ms for tp in tps})
        todo = {tp: ends[tp] for tp in tps
                if starts.get(tp) is not None and starts[tp].offset < ends[tp]}
        if not todo:
            return None
        scanner.assign(list(todo))
        for tp in todo:
            scanner.seek(tp, starts[tp].offset)
        scanned, started = 0, time.monotonic()
        while todo:
            batch = await scanner.getmany(*todo, timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= todo.get(tp, -1):
                        continue
                    if any(k == REPLAY_ID_HEADER and v == wanted for k, v in rec.headers):
                        return Placement(tp.partition, rec.offset)
                scanned += len(records)
            for tp in list(todo):
                if await scanner.position(tp) >= todo[tp]:
                    del todo[tp]
            if scanned > SCAN_MAX_RECORDS:
                raise ScanInconclusive(f"more than {SCAN_MAX_RECORDS} records to scan")
            if time.monotonic() - started > SCAN_TIMEOUT_S:
                raise ScanInconclusive("scan took too long")
        return None
