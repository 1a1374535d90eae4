"""The loop: fetch a batch -> plan it (pure) -> one DB transaction -> commit offsets to Kafka.

Guarantees kept here (see the product contract):
- effects and the next offsets are stored in one PostgreSQL transaction; Kafka's commit comes
  after it and is only a copy for lag tools, so a crash between the two duplicates nothing;
- on assignment we seek to the stored offsets; on revocation the in-flight batch finishes first;
- a transient failure (database or Kafka down) rewinds the batch and backs off: nothing skipped;
- an unexpected error isolates the failing record, retries it a bounded number of times, then
  dead-letters it so the partition moves on.
"""

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer import metrics, store
from notification_consumer.config import Settings
from notification_consumer.dead_letters import dead_letter_record
from notification_consumer.processing import BatchPlan, DeadLetter, EventRow, conflict, plan_batch
from notification_consumer.spans import batch_span, events_processed
from payment_events.codec import KafkaRecord
from service_kit.db import is_transient
from service_kit.errors import PublishFailed
from service_kit.kafka import client_options, stop_client

log = logging.getLogger(__name__)
Batch = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]


class Backoff:
    """Exponential, capped, jittered."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial, self.cap, self.current = initial, cap, initial

    async def sleep(self) -> None:
        await asyncio.sleep(self.current * random.uniform(0.5, 1.0))
        self.current = min(self.current * 2, self.cap)

    def reset(self) -> None:
        self.current = self.initial


class NotificationConsumer:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.group = settings.kafka_group_id
        self.consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._batch_lock = asyncio.Lock()  # held around a batch's writes, never around getmany
        self._attempts: dict[tuple[str, int, int], int] = {}
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        self._task: asyncio.Task[None] | None = None
        self.degraded: str | None = "starting"
        self.last_commit: dict[int, float] = {}
        self.last_progress = time.monotonic()
        self._db_commits = 0
        self._kafka_pending: dict[TopicPartition, int] = {}
        self._kafka_wanted = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        # Bumped when a rebalance starts or ends: a batch fetched before is not written.
        self._generation = 0
        self._rewound: set[TopicPartition] | None = None  # set by a rollback, read by the loop

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="consumer-loop")

    async def stop(self) -> None:
        """Stop fetching, let the batch in flight finish (or roll it back), leave the group."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.settings.stop_timeout_s)
            except TimeoutError:
                log.warning("batch did not finish in time; abandoning it (it will be redelivered)")
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        if self._committer is not None:
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
            await self._flush_kafka_commits()  # the last copy, before leaving the group
        await self._close_clients()

    async def _close_clients(self) -> None:
        for client in (self.consumer, self._dlq):
            if client is not None:
                await stop_client(client)
        self.consumer = self._dlq = None

    async def _connect(self) -> bool:
        backoff = Backoff(0.2, 5.0)
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                **client_options(self.settings),
                group_id=self.group,
                client_id="notification-consumer",
                enable_auto_commit=False,
                auto_offset_reset="earliest",  # a new group reads the topic from the start
                session_timeout_ms=self.settings.session_timeout_ms,
                heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
            )
            dlq = AIOKafkaProducer(**client_options(self.settings), enable_idempotence=True,
                                   client_id="notification-consumer-dlq")
            consumer.subscribe([self.settings.kafka_topic], listener=_Rebalance(self))
            try:
                await asyncio.wait_for(consumer.start(), 30)
                await asyncio.wait_for(dlq.start(), 30)
            except (KafkaError, OSError, TimeoutError) as exc:
                self.degraded = f"kafka unreachable: {exc!r}"
                log.warning("kafka not reachable; retrying", extra={"error": repr(exc)})
                for client in (consumer, dlq):
                    await stop_client(client, 5)
                await backoff.sleep()
                continue
            self.consumer, self._dlq = consumer, dlq
            self.degraded = None
            log.info("consumer started", extra={"group": self.group,
                                                "topic": self.settings.kafka_topic})
            return True
        return False

    async def _run(self) -> None:
        if not await self._connect():
            return
        assert self.consumer is not None
        self._committer = asyncio.create_task(self._kafka_committer(), name="kafka-committer")
        # Two batches overlap: while one is written (waiting on PostgreSQL), the one fetched
        # just before it is decoded. Writes stay one after the other, in fetch order, and the
        # next batch is always fetched before the write starts, so a rollback during the
        # write can tell exactly which fetched records to seek back to.
        pending: _Fetched | None = None
        while not self._stopping.is_set():
            try:
                batch = await self.consumer.getmany(
                    timeout_ms=0 if pending else self.settings.batch_wait_ms,
                    max_records=self.settings.batch_max_records,
                )
            except KafkaError as exc:
                self.degraded = f"fetch failed: {exc!r}"
                log.warning("fetch failed", extra={"error": repr(exc)})
                await self._backoff.sleep()
                continue
            self.last_progress = time.monotonic()
            if pending is None:
                if batch:
                    pending = _Fetched(batch, self._plan(batch), self._generation)
                continue
            writing = asyncio.create_task(self._handle(pending))
            following = _Fetched(batch, self._plan(batch), self._generation) if batch else None
            await writing
            rewound, self._rewound = self._rewound, None
            if following is not None and (rewound is not None
                                          or following.generation != self._generation):
                self._discard(following.batch, rewound,
                              rebalanced=following.generation != self._generation)
                following = None
            pending = following
        # A batch fetched but not written is abandoned: nothing of it was stored, so its
        # records are fetched again by whoever owns the partition next.

    def _plan(self, batch: Batch) -> BatchPlan | None:
        try:
            return plan_batch([r for recs in batch.values() for r in recs])
        except Exception:  # a bug in planning: _handle isolates the record
            log.exception("planning failed")
            return None

    def _discard(self, batch: Batch, rewound: set[TopicPartition] | None,
                 rebalanced: bool) -> None:
        """Drop a fetched batch the loop must not write, so that its records come again.

        After a rollback, the rolled-back partitions were already sought back; the others
        are sought to this batch's first offsets. After a rebalance, the assignment set every
        position (stored offsets), so nothing is sought here.
        """
        if rebalanced or self.consumer is None:
            return
        assigned = self.consumer.assignment()
        for tp, recs in batch.items():
            if recs and tp not in (rewound or set()) and tp in assigned:
                with contextlib.suppress(IllegalStateError):
                    self.consumer.seek(tp, recs[0].offset)

    # -- one batch ---------------------------------------------------------------------------

    async def _handle(self, fetched: "_Fetched") -> None:
        started, started_ns = time.perf_counter(), time.time_ns()
        batch, plan = fetched.batch, fetched.plan
        records = [r for recs in batch.values() for r in recs]
        try:
            if plan is None:
                raise RuntimeError("batch could not be planned")
            async with self._batch_lock:
                if fetched.generation != self._generation:  # a rebalance began meanwhile
                    return  # the assignment set the positions; the records come again
                with batch_span(plan, self.settings.kafka_topic):
                    inserted = await self._write(plan)
        except Exception as exc:  # noqa: BLE001 - classified right below
            if is_transient(exc) or isinstance(exc, (PublishFailed, KafkaError)):
                await self._retry_later(batch, exc)
                return
            log.warning("batch failed; isolating records", extra={"error": repr(exc)})
            await self._one_by_one(batch)
            return
        self._recovered()
        self._maybe_crash()
        await self._commit_kafka(plan.next_offsets)
        metrics.BATCH_SIZE.observe(len(records))
        metrics.BATCH_LATENCY.observe(time.perf_counter() - started)
        self._observe(inserted)
        events_processed(inserted, self.settings.kafka_topic, self.group, started_ns)

    async def _write(self, plan: BatchPlan) -> list[EventRow]:
        """One transaction: events, notifications, dead letters, offsets, counters."""
        async with self.engine.begin() as conn:
            new_ids = await store.insert_events(conn, plan.events)
            inserted = [r for r in plan.events if r.event.event_id in new_ids]
            seen = [r for r in plan.events if r.event.event_id not in new_ids]
            existing = await store.existing_hashes(conn, [r.event.event_id for r in seen])
            duplicates = plan.in_batch_duplicates
            letters = list(plan.dead_letters)
            for row in seen:
                if existing.get(row.event.event_id) == row.payload_hash:
                    duplicates += 1
                else:
                    letters.append(conflict(row.record, row.event.event_id))
            new_letters = await store.insert_dead_letters(conn, self.group, letters)
            # The DLQ topic hears of a dead letter before the transaction that records it
            # commits: a crash in between can repeat it on the topic, never lose it.
            await self._publish_dead_letters([letters[i] for i, _ in new_letters])
            await store.store_offsets(conn, self.group, plan.next_offsets)
            await store.count(conn, self.group, len(inserted), duplicates, len(new_letters))
        metrics.DUPLICATES.inc(duplicates)
        for i, _ in new_letters:
            metrics.DEAD_LETTERS.labels(letters[i].reason).inc()
        return inserted

    async def _publish_dead_letters(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        if self._dlq is None:
            raise PublishFailed("dead-letter producer not connected")
        futures = [
            await self._dlq.send(self.settings.kafka_dlq_topic, value=rec.value, key=rec.key,
                                 headers=rec.headers)
            for rec in (dead_letter_record(letter, self.group) for letter in letters)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*futures), 15)
        except (KafkaError, TimeoutError) as exc:
            raise PublishFailed(f"dead-letter topic did not acknowledge: {exc!r}") from exc
        for letter in letters:
            r = letter.record
            log.warning("dead-lettered", extra={"partition": r.partition, "offset": r.offset,
                                                "reason": letter.reason,
                                                "error": letter.error_message[:200]})

    async def _one_by_one(self, batch: Batch) -> None:
        """Find the record that fails: retry it (bounded), then dead-letter it."""
        pending = {tp: list(recs) for tp, recs in batch.items()}
        try:
            for tp, recs in pending.items():
                while recs:
                    record = recs[0]
                    key = (tp.topic, tp.partition, record.offset)
                    try:
                        async with self._batch_lock:
                            inserted = await self._write(plan_batch([record]))
                    except Exception as exc:
                        if is_transient(exc) or isinstance(exc, (PublishFailed, KafkaError)):
                            raise
                        attempts = self._attempts[key] = self._attempts.get(key, 0) + 1
                        log.warning("record failed", extra={
                            "partition": tp.partition, "offset": record.offset,
                            "attempts": attempts, "error": repr(exc)})
                        if attempts < self.settings.max_attempts:
                            raise _RetryLater(exc) from exc
                        letter = DeadLetter(record, "processing_failed", type(exc).__name__,
                                            str(exc), attempts)
                        plan = BatchPlan(dead_letters=[letter],
                                         next_offsets={(tp.topic, tp.partition): record.offset + 1})
                        async with self._batch_lock:
                            await self._write(plan)
                        inserted = []
                    self._attempts.pop(key, None)
                    recs.pop(0)
                    await self._commit_kafka({(tp.topic, tp.partition): record.offset + 1})
                    self._observe(inserted)
        except Exception as exc:  # noqa: BLE001 - every failure rewinds what is left
            remaining = {tp: recs for tp, recs in pending.items() if recs}
            await self._retry_later(remaining, exc.__cause__ if isinstance(exc, _RetryLater)
                                    and exc.__cause__ else exc)
            return
        self._recovered()

    async def _retry_later(self, batch: Batch, exc: BaseException) -> None:
        """Roll back to the batch's first offsets and back off; the records come again."""
        metrics.TRANSIENT_FAILURES.inc()
        self.degraded = f"retrying after {type(exc).__name__}: {str(exc)[:200]}"
        log.warning("batch rolled back; will retry", extra={"error": repr(exc)[:500],
                                                           "backoff_s": self._backoff.current})
        assert self.consumer is not None
        self._rewound = (self._rewound or set()) | {tp for tp, recs in batch.items() if recs}
        for tp, recs in batch.items():
            if recs:
                # A partition no longer ours raises: its new owner resumes from the stored offset.
                with contextlib.suppress(IllegalStateError):
                    self.consumer.seek(tp, recs[0].offset)
        await self._backoff.sleep()

    def _maybe_crash(self) -> None:
        """Test-only fault injection point between the database and the Kafka commit."""
        if self.settings.fault_exit_after_db_commits:
            self._db_commits += 1
            if self._db_commits >= self.settings.fault_exit_after_db_commits:
                log.warning("fault injection: exiting between the two commits")
                os._exit(137)

    def _recovered(self) -> None:
        if self.degraded is not None:
            log.info("processing resumed", extra={"was": self.degraded})
        self.degraded = None
        self._backoff.reset()

    async def _commit_kafka(self, offsets: dict[tuple[str, int], int]) -> None:
        """Hand the stored offsets to the committer task, which copies them to Kafka for
        lag tools. The next batch does not wait for it: the database holds the truth."""
        now = time.monotonic()
        for (t, p), offset in offsets.items():
            self.last_commit[p] = now
            tp = TopicPartition(t, p)
            self._kafka_pending[tp] = max(offset, self._kafka_pending.get(tp, 0))
        self._kafka_wanted.set()

    async def _kafka_committer(self) -> None:
        while True:
            await self._kafka_wanted.wait()
            if not await self._flush_kafka_commits():
                # Kept for a later try: the last batch before a quiet spell must reach
                # Kafka's copy too, once the broker or the group is back.
                await asyncio.sleep(1.0)
                self._kafka_wanted.set()

    async def _flush_kafka_commits(self) -> bool:
        """False when a commit failed; its offsets stay pending."""
        self._kafka_wanted.clear()
        if self.consumer is None or not self._kafka_pending:
            return True
        pending, self._kafka_pending = self._kafka_pending, {}
        assigned = self.consumer.assignment()
        commit = {tp: o for tp, o in pending.items() if tp in assigned}
        if not commit:
            return True
        try:
            await asyncio.wait_for(self.consumer.commit(commit), 10)
        except (KafkaError, TimeoutError) as exc:
            for tp, offset in commit.items():
                self._kafka_pending[tp] = max(offset, self._kafka_pending.get(tp, 0))
            log.info("kafka commit failed; will retry (offsets are stored in the database)",
                     extra={"error": repr(exc)})
            return False
        return True

    def _observe(self, inserted: list[EventRow]) -> None:
        now = datetime.now(UTC)
        metrics.EVENTS_PROCESSED.inc(len(inserted))
        per_event_logs = log.isEnabledFor(logging.INFO)
        for row in inserted:
            latency = (now - row.event.occurred_at).total_seconds()
            metrics.END_TO_END.observe(latency)
            if per_event_logs:
                log.info("event processed", extra={
                    "event_id": str(row.event.event_id), "partition": row.partition,
                    "offset": row.offset, "trace_id": row.trace_id,
                    "latency_ms": round(latency * 1000, 2)})

    # -- rebalancing -------------------------------------------------------------------------

    async def resume_from_stored(self, assigned: set[TopicPartition]) -> None:
        metrics.REBALANCES.inc()
        self._generation += 1
        if not assigned or self.consumer is None:
            return
        backoff = Backoff(0.2, 1.0)
        stored: dict[int, int] | None = None
        for _ in range(5):
            try:
                async with self.engine.connect() as conn:
                    stored = await store.stored_offsets(conn, self.group,
                                                        self.settings.kafka_topic)
                break
            except Exception as exc:  # noqa: BLE001 - fall back below, duplicates are absorbed
                log.warning("could not read stored offsets", extra={"error": repr(exc)})
                await backoff.sleep()
        if stored is None:
            log.warning("resuming from Kafka's committed offsets; dedup absorbs any repeat")
            return
        for tp in assigned:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
        log.info("partitions assigned", extra={
            "partitions": sorted(tp.partition for tp in assigned),
            "resume_at": {tp.partition: stored.get(tp.partition) for tp in assigned}})

    async def finish_in_flight(self, revoked: set[TopicPartition]) -> None:
        self._generation += 1  # batches fetched but not yet written are dropped
        async with self._batch_lock:
            pass  # the batch in flight has stored its offsets with its effects
        for tp in revoked:
            self.last_commit.pop(tp.partition, None)
        log.info("partitions revoked", extra={"partitions": sorted(tp.partition for tp in revoked)})

    async def republish(self, record: KafkaRecord) -> None:
        """Send a record to the main topic (dead-letter replay); raises PublishFailed."""
        if self._dlq is None:
            raise PublishFailed("producer not connected")
        try:
            delivery = await self._dlq.send(self.settings.kafka_topic, value=record.value,
                                            key=record.key, headers=record.headers)
            await asyncio.wait_for(delivery, 10)
        except (KafkaError, TimeoutError) as exc:
            raise PublishFailed(repr(exc)) from exc

    def status(self) -> dict[str, Any]:
        assigned = sorted(tp.partition for tp in self.consumer.assignment()) \
            if self.consumer is not None else []
        return {"degraded": self.degraded, "assigned_partitions": assigned,
                "seconds_since_fetch": round(time.monotonic() - self.last_progress, 3)}


@dataclass(frozen=True, slots=True)
class _Fetched:
    batch: Batch
    plan: BatchPlan | None
    generation: int


class _RetryLater(Exception):
    """A record failed and has attempts left: rewind and back off."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: NotificationConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner.finish_in_flight(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner.resume_from_stored(assigned)
