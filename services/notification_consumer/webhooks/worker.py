"""The delivery worker: claims due deliveries, sends them with bounded concurrency (overall
and per subscription), records each attempt, and schedules retries with backoff and jitter.

At least once: a delivery is marked delivered only after a 2xx; a crash in between means it is
sent again when its lease ends, with the same webhook-id, so receivers can drop the repeat.
"""

import asyncio
import contextlib
import logging
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.webhooks import attempts, metrics, observe, outbox, sender
from notification_consumer.webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)
DB_CONCURRENCY = 4
STOP_GRACE_S = 5.0
RECORD_BATCH = 500
# After a wake-up, wait this long for more slots to free up, so one claim serves several.
COALESCE_S = 0.005


def retry_delay(settings: WebhookSettings, attempt: int) -> float:
    """Exponential in the attempt number, capped, with jitter in [half, full] so a crowd of
    failures spreads out instead of retrying in step."""
    base = min(settings.webhook_backoff_max_s,
               settings.webhook_backoff_initial_s * 2 ** min(attempt - 1, 60))
    return random.uniform(base / 2, base)


class DeliveryWorker:
    def __init__(self, settings: WebhookSettings, engine: AsyncEngine, database_url: str) -> None:
        self.settings = settings
        self.engine = engine
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._wake = asyncio.Event()
        self._db = asyncio.Semaphore(DB_CONCURRENCY)
        self._inflight: Counter[UUID] = Counter()
        self._owners: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._results: asyncio.Queue[attempts.Result] = asyncio.Queue(
            maxsize=settings.webhook_max_concurrency * 4)
        self._stopping = False
        self._client = sender.Clients(settings.webhook_max_concurrency)

    def start(self) -> None:
        self._loops = [asyncio.create_task(self._dispatch(), name="webhook-dispatch"),
                       asyncio.create_task(self._listen(), name="webhook-listen"),
                       asyncio.create_task(self._sample(), name="webhook-metrics"),
                       asyncio.create_task(self._record(), name="webhook-record")]

    async def stop(self) -> None:
        """Stop claiming; let in-flight sends finish (bounded); the rest keep their lease."""
        self._stopping = True
        self._wake.set()
        # One bound for both steps: the consumer's own stop follows and SIGTERM must finish.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_GRACE_S):
                if self._tasks:
                    await asyncio.wait(self._tasks)
                await self._results.join()
        for task in [*self._tasks, *self._loops]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._loops, return_exceptions=True)
        await self._client.aclose()

    async def _dispatch(self) -> None:
        s = self.settings
        failures = 0
        while not self._stopping:
            self._wake.clear()
            free = s.webhook_max_concurrency - len(self._tasks)
            claimed: list[outbox.Claimed] = []
            if free > 0:
                per_sub = s.webhook_per_subscription_concurrency
                per_owner = s.webhook_max_in_flight_per_key
                capacity = outbox.Capacity(
                    per_sub, per_owner, {k: per_sub - n for k, n in self._inflight.items()},
                    {k: per_owner - n for k, n in self._owners.items()})
                try:
                    async with self._db:
                        claimed = await outbox.claim(self.engine, capacity, free,
                                                     s.webhook_lease_s)
                    failures = 0
                except Exception as exc:  # noqa: BLE001 - the database may be down: retry
                    failures += 1
                    log.warning("webhook claim failed", extra={"error": repr(exc)})
                    await self._pause(min(30.0, 0.5 * 2 ** min(failures, 6)))
                    continue
            for job in claimed:
                self._spawn(job)
            if not claimed:
                await self._pause(s.webhook_poll_interval_s)
                await asyncio.sleep(COALESCE_S)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _spawn(self, job: outbox.Claimed) -> None:
        self._inflight[job.subscription_id] += 1
        self._owners[job.owner] += 1
        task = asyncio.create_task(self._deliver(job))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._inflight[job.subscription_id] -= 1
            if self._inflight[job.subscription_id] <= 0:
                del self._inflight[job.subscription_id]
            self._owners[job.owner] -= 1
            if self._owners[job.owner] <= 0:
                del self._owners[job.owner]
            self._wake.set()

        task.add_done_callback(done)

    async def _deliver(self, job: outbox.Claimed) -> None:
        s = self.settings
        try:
            outcome = await sender.attempt(
                self._client, job, allow_private=s.webhook_allow_private_networks,
                timeout_s=s.webhook_timeout_s, excerpt_bytes=s.webhook_response_excerpt_bytes)
        except Exception as exc:  # noqa: BLE001 - any failure is an attempt, retried later
            outcome = attempts.Outcome(None, 0.0, None, None,
                                     f"could not send: {type(exc).__name__}: {exc}"[:500])
        # Bounded: when the database falls behind, senders wait here (and stop claiming).
        await self._results.put(attempts.Result(job, outcome,
                                              None if outcome.ok else self._retry_in(job)))

    async def _record(self) -> None:
        """Writes finished attempts in batches: one transaction for all that are ready."""
        while True:
            batch = [await self._results.get()]
            while not self._results.empty() and len(batch) < RECORD_BATCH:
                batch.append(self._results.get_nowait())
            try:
                states = await self._record_batch(batch)
            except Exception as exc:  # noqa: BLE001 - the lease brings the deliveries back
                log.warning("webhook attempts not recorded; they are retried after the lease",
                            extra={"deliveries": len(batch), "error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            finally:
                for _ in batch:
                    self._results.task_done()
            # A recorded result may have freed an ordered account's next delivery: claim now.
            self._wake.set()
            for result in batch:
                observe.attempt(result, states.get(result.job.delivery_id))
            observe.batch(batch, states)

    async def _record_batch(self, batch: list[attempts.Result]) -> dict[int, dict[str, Any]]:
        """One transaction for the batch; if it fails, each result alone, so one result that
        cannot be written never drops the others'."""
        limit = self.settings.webhook_disable_after_failures
        try:
            async with self._db:
                return await attempts.record(self.engine, batch, limit)
        except Exception:
            if len(batch) == 1:
                raise
        states: dict[int, dict[str, Any]] = {}
        for result in batch:
            try:
                async with self._db:
                    states.update(await attempts.record(self.engine, [result], limit))
            except Exception as exc:  # noqa: BLE001 - this one's lease brings it back
                log.warning("webhook attempt not recorded", extra={
                    "delivery_id": result.job.delivery_id, "error": repr(exc)})
        return states

    def _retry_in(self, job: outbox.Claimed) -> float | None:
        """The next attempt's delay, or None when it would fall outside the retry window."""
        deadline = job.expires_at or job.created_at + timedelta(
            seconds=self.settings.webhook_retry_window_s)
        delay = retry_delay(self.settings, job.attempt)
        return delay if datetime.now(UTC) + timedelta(seconds=delay) <= deadline else None

    async def _listen(self) -> None:
        """Wake the dispatcher as soon as a batch queues deliveries (NOTIFY from the trigger);
        polling covers the time this connection is down."""
        while not self._stopping:
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
                await conn.add_listener("webhook_deliveries", lambda *_: self._wake.set())
                lost = asyncio.Event()
                conn.add_termination_listener(lambda *_, lost=lost: lost.set())
                await lost.wait()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.debug("webhook listener reconnecting", extra={"error": repr(exc)})
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
            await asyncio.sleep(2.0)

    async def _sample(self) -> None:
        seen: set[str] = set()
        while not self._stopping:
            try:
                async with self._db:
                    subs = await outbox.backlog(self.engine)
                for sub_id, (_, age) in subs.items():
                    metrics.OLDEST_UNDELIVERED.labels(sub_id).set(age)
                for gone in seen - set(subs):
                    metrics.OLDEST_UNDELIVERED.remove(gone)
                seen = set(subs)
                metrics.DISABLED.set(sum(1 for st, _ in subs.values() if st == "disabled"))
            except Exception as exc:  # noqa: BLE001 - metrics must not stop the worker
                log.debug("webhook metrics sample failed", extra={"error": repr(exc)})
            await asyncio.sleep(self.settings.webhook_metrics_interval_s)

