"""Publishes each recorded payment right after its answer, from one task.

The request path only queues the event (its row, committed, is the outbox); one task hands the
queue to the producer in arrival order, so one produce request carries every payment queued
while the previous one was in flight, and a payer's events keep their order. Nothing here is
awaited by a request: an event this process cannot publish (Kafka failing, a crash, a full
queue) is still unpublished in PostgreSQL, and the relay publishes it after its grace.
"""

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import deque
from collections.abc import Callable
from contextvars import Context
from functools import partial
from uuid import UUID

from aiokafka.structs import RecordMetadata

from payment_events.codec import KafkaRecord
from service_kit.telemetry import recording
from transaction_api import metrics
from transaction_api.outbox.publisher import Publisher

log = logging.getLogger(__name__)
Mark = Callable[[UUID, int | None, int | None], None]


class Dispatcher:
    """EventDispatcher (ports.py) on the Kafka producer; `mark` records each acknowledgement
    (PublishedMarker.mark: batched, best effort)."""

    def __init__(self, publisher: Publisher, mark: Mark, max_queue: int = 10_000) -> None:
        self._publisher = publisher
        self._mark = mark
        self._queue: deque[tuple[UUID, KafkaRecord, float, Context | None]] = deque()
        self._max_queue = max_queue
        self._wake = asyncio.Event()
        # Set when everything submitted has been handed to the producer (not while a record
        # taken from the queue is still being handed over).
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        # With spans recorded, each send runs in its request's context, so the producer's span
        # belongs to the payment's trace; without, no context is copied.
        self._traced = recording()

    def submit(self, event_id: UUID, record: KafkaRecord) -> None:
        if not self._publisher.healthy or len(self._queue) >= self._max_queue:
            metrics.PUBLISH_FAILURES.inc()  # left to the relay
            return
        context = contextvars.copy_context() if self._traced else None
        self._queue.append((event_id, record, time.perf_counter(), context))
        self._drained.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dispatch")

    async def stop(self, timeout_s: float) -> None:
        """Hand what is queued to the producer (bounded); the producer's stop flushes it."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                if self._task is not None and not self._task.done():
                    await self._drained.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                event_id, record, started, context = self._queue.popleft()
                try:
                    if context is None:
                        delivery = await self._publisher.enqueue(record)
                    else:
                        delivery = await asyncio.create_task(self._publisher.enqueue(record),
                                                             context=context)
                except Exception as exc:  # noqa: BLE001 - PublishFailed or a bug: the relay's
                    self._failed(event_id, exc)
                    continue
                delivery.add_done_callback(partial(self._acked, event_id, started))
            self._drained.set()

    def _acked(self, event_id: UUID, started: float,
               delivery: "asyncio.Future[RecordMetadata]") -> None:
        if delivery.cancelled():
            self._failed(event_id, "cancelled")
            return
        exc = delivery.exception()
        if exc is not None:
            self._publisher.trip()
            self._failed(event_id, exc)
            return
        placed = delivery.result()
        metrics.PUBLISH_LATENCY.observe(time.perf_counter() - started)
        self._mark(event_id, placed.partition, placed.offset)

    def _failed(self, event_id: UUID, why: object) -> None:
        metrics.PUBLISH_FAILURES.inc()
        log.warning("publish deferred to relay", extra={"event_id": str(event_id),
                                                        "error": repr(why)})
