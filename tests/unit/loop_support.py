"""The batch loop under test: settings for fast retries, a consumer running on the fakes,
a bounded wait for a condition, one valid event produced."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from aiokafka.structs import TopicPartition

from notification_consumer import metrics
from notification_consumer.config import Settings
from notification_consumer.ingest.loop import NotificationConsumer
from tests.unit.consumer_fakes import TOPIC, FakeLink, FakeStore, event_value

TP0 = TopicPartition(TOPIC, 0)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = dict(kafka_topic=TOPIC, kafka_group_id="g", batch_wait_ms=1,
                                backoff_initial_s=0.001, backoff_max_s=0.005, max_attempts=3,
                                record_hold_max_s=100, stop_timeout_s=2)
    return Settings(**{**base, **overrides})


@asynccontextmanager
async def running(store: FakeStore, link: FakeLink, **overrides: Any
                  ) -> AsyncIterator[NotificationConsumer]:
    exit_codes: list[int] = []
    consumer = NotificationConsumer(settings(**overrides), store, link,
                                    exit_process=exit_codes.append)
    consumer.exit_codes = exit_codes  # type: ignore[attr-defined]
    consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.002)


def produce_event(link: FakeLink, partition: int = 0) -> UUID:
    """One valid event at the end of `partition`; its id."""
    event_id, value, headers = event_value()
    link.produce(value, partition, headers)
    return event_id


def fenced_count() -> float:
    return metrics.FENCED_BATCHES._value.get()  # type: ignore[no-any-return]
