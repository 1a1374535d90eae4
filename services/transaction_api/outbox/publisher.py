"""The aiokafka producer adapter: Kafka errors become PublishFailed here and nowhere else."""

import asyncio
import logging
import random

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from payment_events.codec import KafkaRecord
from service_kit.errors import PublishFailed
from service_kit.kafka import client_options, stop_client
from transaction_api.config import Settings

log = logging.getLogger(__name__)
BREAK_S = 5.0


class Publisher:
    """An idempotent producer (acks=all) that (re)connects in the background.

    The API must answer 202 while Kafka is down, so start-up never waits for the broker.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # After a failed publish the request path stops trying for a moment (the relay keeps
        # trying): with Kafka down, requests get their 202 at once instead of after a timeout.
        self._skip_until = 0.0

    @property
    def ready(self) -> bool:
        return self._connected.is_set()

    @property
    def healthy(self) -> bool:
        return self.ready and asyncio.get_running_loop().time() >= self._skip_until

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name="producer-connect")

    async def wait_ready(self, timeout_s: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _connect_forever(self) -> None:
        delay = 0.2
        while True:
            producer = AIOKafkaProducer(
                **client_options(self._settings),
                enable_idempotence=True,  # implies acks="all"
                linger_ms=self._settings.producer_linger_ms,
                request_timeout_ms=int(max(self._settings.publish_timeout_s, 5) * 1000),
                client_id="transaction-api",
            )
            try:
                await asyncio.wait_for(producer.start(), 15)
            except (KafkaError, OSError, TimeoutError) as exc:
                await _close_quietly(producer)
                log.warning("kafka not reachable; retrying", extra={"error": repr(exc),
                                                                    "retry_in_s": delay})
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 10.0)
                continue
            self._producer = producer
            self._connected.set()
            log.info("producer connected")
            return

    async def publish(self, record: KafkaRecord, timeout_s: float) -> None:
        """Send one record and wait for its ack: fails fast while Kafka is known to be failing."""
        try:
            async with asyncio.timeout(timeout_s):
                await (await self.enqueue(record))
        except (KafkaError, TimeoutError) as exc:
            self.trip()
            raise PublishFailed(repr(exc)) from exc

    async def enqueue(self, record: KafkaRecord) -> "asyncio.Future[RecordMetadata]":
        """Queue one record in the producer's batches; the future resolves on Kafka's ack.
        Raises PublishFailed at once while Kafka is known to be failing."""
        producer = self._producer
        if producer is None or not self.healthy:
            raise PublishFailed("kafka unavailable; left to the relay")
        try:
            delivery: asyncio.Future[RecordMetadata] = await producer.send(
                self._settings.kafka_topic, value=record.value, key=record.key,
                headers=record.headers)
        except KafkaError as exc:
            self.trip()
            raise PublishFailed(repr(exc)) from exc
        return delivery

    def trip(self) -> None:
        """A publish failed: the request path stops trying for a moment (the relay does not)."""
        self._skip_until = asyncio.get_running_loop().time() + BREAK_S

    async def publish_many(self, records: list[KafkaRecord],
                           timeout_s: float) -> list[RecordMetadata | str]:
        """Send all records, wait for their acks: per record where Kafka put it when
        acknowledged in time, else why not (the real reason: the Kafka error, or the timeout)."""
        producer = self._producer
        if producer is None:
            raise PublishFailed("producer not connected")

        async def one(record: KafkaRecord) -> RecordMetadata:
            delivery = await producer.send(
                self._settings.kafka_topic, value=record.value, key=record.key,
                headers=record.headers,
            )
            return await delivery

        results = await asyncio.gather(
            *(asyncio.wait_for(one(r), timeout_s) for r in records), return_exceptions=True
        )
        outcomes = [_outcome(r, timeout_s) for r in results]
        if any(not isinstance(o, str) for o in outcomes):
            self._skip_until = 0.0  # Kafka answers again: the request path may publish
        return outcomes

    async def restart(self) -> None:
        """Replace the producer: an idempotent producer can wedge after a broker outage."""
        async with self._lock:
            old, self._producer = self._producer, None
            self._connected.clear()
            if old is not None:
                await _close_quietly(old)
            self.start()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._producer is not None:
            await _close_quietly(self._producer)  # flushes what is queued, bounded below
            self._producer = None


def _outcome(result: RecordMetadata | BaseException, timeout_s: float) -> RecordMetadata | str:
    if not isinstance(result, BaseException):
        return result
    if isinstance(result, TimeoutError):
        return f"TimeoutError: not acknowledged within {timeout_s}s"
    return f"{type(result).__name__}: {result}"


async def _close_quietly(producer: AIOKafkaProducer) -> None:
    await stop_client(producer)  # flushes what is queued, bounded
