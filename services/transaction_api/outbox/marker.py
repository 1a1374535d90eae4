"""Marks published rows in batches, off the request path.

Losing a mark (crash, database blip) only means the relay publishes that event again later;
the consumer's dedup by event id absorbs it. So the queue may drop, but never blocks a request.

A batch is one autocommit UPDATE on a plain asyncpg connection of its own (a StatementPool of
one, without the request pool's lock timeout): the same statement as the relay's, without
SQLAlchemy's checkout, BEGIN and COMMIT around it, which were about 4% of the API's CPU
under load.
"""

import asyncio
import contextlib
import logging
from uuid import UUID

from service_kit.db import StatementPool
from transaction_api.outbox.requests import MARK_MANY
from transaction_api.ports import Published

log = logging.getLogger(__name__)


class PublishedMarker:
    def __init__(self, pool: StatementPool, max_batch: int = 1000, max_queue: int = 100_000):
        self._pool = pool
        self._queue: asyncio.Queue[Published] = asyncio.Queue(max_queue)
        self._max_batch = max_batch
        self._task: asyncio.Task[None] | None = None

    def mark(self, event_id: UUID, partition: int | None = None,
             offset: int | None = None) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # the relay publishes it again
            self._queue.put_nowait(Published(event_id, partition, offset))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="published-marker")

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._flush(batch)

    async def _flush(self, batch: list[Published]) -> None:
        try:
            async with asyncio.timeout(10), self._pool.acquire() as conn:
                await conn.execute(MARK_MANY, [m.event_id for m in batch],
                                   [m.partition for m in batch], [m.offset for m in batch])
        except Exception as exc:  # noqa: BLE001 - see module docstring
            log.warning("could not mark events published", extra={"count": len(batch),
                                                                  "error": repr(exc)})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        pending = []
        while not self._queue.empty():
            pending.append(self._queue.get_nowait())
        if pending:
            await self._flush(pending)
