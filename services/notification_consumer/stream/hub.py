"""The live stream's engine: the committed horizon, the bounded set of clients, and the
response that drops a client who stops reading.

Why a horizon: notification ids are drawn when a batch inserts, but batches (several consumer
replicas) can commit out of id order, so "every id after my cursor" could skip a row that
commits late. Writers hold an advisory lock shared from before their ids are drawn until they
commit (trigger in migration 0003); taking it exclusively for an instant and reading max(id)
gives an id at or below which every notification is committed or never will be.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from notification_consumer.store.batch_sql import S
from notification_consumer.webhooks import metrics
from notification_consumer.webhooks.settings import WebhookSettings
from service_kit.errors import DependencyUnavailable
from service_kit.quotas import KeyQuota

log = logging.getLogger(__name__)
STREAM_FENCE_LOCK = 7_245_015  # the same value as in migration 0003


class TooManyStreams(DependencyUnavailable):
    retry_after_s = 5
    public_detail = "too many open streams, retry later"


class StreamHub:
    """One poller per process, however many clients: it moves the horizon forward while
    anyone is listening and wakes the clients' loops."""

    def __init__(self, settings: WebhookSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.horizon = 0
        self.clients = 0
        self.per_key = KeyQuota(settings.stream_max_per_key, "open notification streams",
                                "STREAM_MAX_PER_KEY")
        self.closed = False
        self._changed = asyncio.Condition()
        self._someone = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="stream-horizon")

    async def stop(self) -> None:
        self.closed = True
        async with self._changed:
            self._changed.notify_all()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def fence(self) -> int:
        """The committed horizon, now."""
        async with self.engine.begin() as conn:
            await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({STREAM_FENCE_LOCK})"))
            horizon = (await conn.execute(text(
                f"SELECT COALESCE(max(id), 0) FROM {S}.notifications"))).scalar_one()
        return int(horizon)

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[None]:
        if self.clients >= self.settings.stream_max_clients:
            raise TooManyStreams
        self.clients += 1
        metrics.STREAM_CLIENTS.set(self.clients)
        self._someone.set()
        try:
            yield
        finally:
            self.clients -= 1
            metrics.STREAM_CLIENTS.set(self.clients)

    async def wait_beyond(self, cursor: int, timeout: float) -> bool:
        """True once the horizon passes `cursor`; False after `timeout` or on close."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: self.horizon > cursor or self.closed)
        return self.horizon > cursor and not self.closed

    async def _poll(self) -> None:
        while True:
            if self.clients == 0:
                self._someone.clear()
                await self._someone.wait()
            try:
                horizon = await self.fence()
            except Exception as exc:  # noqa: BLE001 - clients keep heartbeating meanwhile
                log.warning("stream horizon not refreshed", extra={"error": repr(exc)})
                horizon = self.horizon
            if horizon > self.horizon:
                self.horizon = horizon
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(self.settings.stream_poll_interval_s)


class EventStreamResponse(EventSourceResponse):
    """Server-Sent Events framed by sse-starlette, which also sends a `: heartbeat` comment
    every `heartbeat_s` (so proxies keep an idle stream open) and ends the stream on server
    shutdown. Each write must be taken by the client within `send_timeout_s`: a client that
    stops reading is disconnected, so what waits for it is one event and the socket's
    buffers, never an unbounded queue; it reconnects with Last-Event-ID."""

    def __init__(self, content: AsyncIterator[ServerSentEvent], send_timeout_s: float,
                 heartbeat_s: float, on_close: Callable[[], None] | None = None) -> None:
        super().__init__(content, ping=heartbeat_s, send_timeout=send_timeout_s,
                         ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"))
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            # The response stays unfinished, so the server closes the connection.
            metrics.STREAM_DROPPED.inc()
            log.info("slow stream client dropped")
        finally:
            if self.on_close is not None:  # e.g. the caller's stream quota
                self.on_close()
