"""The batch loop: fetch a batch -> plan it (pure) -> one DB transaction -> copy offsets.

Guarantees kept here (see the product contract):
- effects and the next offsets are stored in one PostgreSQL transaction, only while this
  member's claim on the partitions is current (fencing); Kafka's commit comes after it and
  is only a copy for lag tools, so a crash between the two duplicates nothing;
- on assignment the partitions are claimed and read from the stored offsets; on revocation
  the in-flight batch finishes first and Kafka's copy is flushed;
- an outage (a dependency down) rewinds the batch and backs off: nothing is skipped;
- anything else isolates the failing record (isolation.py) so the partition moves on;
- a record dead-lettered for its content parks its key (parking.py, in the same
  transaction); released keys are applied between batches (release_step.py).
"""

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from notification_consumer import metrics
from notification_consumer.dead_letters.republisher import Republisher
from notification_consumer.dead_letters.writer import DeadLetterWriter
from notification_consumer.ingest.backoff import Backoff
from notification_consumer.ingest.failures import Fenced, is_transient
from notification_consumer.ingest.health import Health, HealthState
from notification_consumer.ingest.isolation import Isolation
from notification_consumer.ingest.offset_copy import OffsetCopy
from notification_consumer.ingest.overlap import Fetched, plan_beside_write, top_up
from notification_consumer.ingest.ownership import Ownership
from notification_consumer.ingest.planning import BatchPlan
from notification_consumer.ingest.ports import Batch, EffectStore, KafkaLink, WriteOutcome
from notification_consumer.ingest.read_ahead import ReadAhead
from notification_consumer.ingest.release_step import ReleaseStep
from notification_consumer.ingest.settings import IngestSettings
from notification_consumer.ingest.spans import batch_span, events_processed
from notification_consumer.ingest.supervisor import supervise

log = logging.getLogger(__name__)


class NotificationConsumer:
    def __init__(self, settings: IngestSettings, store: EffectStore, link: KafkaLink, *,
                 after_db_commit: Callable[[], None] | None = None,
                 exit_process: Callable[[int], None] = os._exit) -> None:
        self.settings = settings
        self.store = store
        self.epoch = 0  # bumped when a rebalance starts or ends: older batches are not written
        self.ahead = ReadAhead(link, lambda: self.epoch)
        self.link: KafkaLink = self.ahead  # every seek and pause goes through it
        self.state = HealthState()
        self.letters = DeadLetterWriter(link, settings.kafka_dlq_topic, settings.kafka_group_id,
                                        settings.dlq_max_record_bytes)
        self.republisher = Republisher(link, settings.kafka_topic)
        self.offsets = OffsetCopy(link)
        self.isolation = Isolation(settings.max_attempts, settings.record_hold_max_s,
                                   self.dependencies_healthy)
        self.ownership = Ownership(self)
        self.releases = ReleaseStep(self, settings.kafka_topic, self.letters.publish,
                                    settings.release_poll_s, settings.release_keys_per_step,
                                    settings.release_records_per_step)
        self.after_db_commit = after_db_commit  # tests inject a crash here
        self.exit_process = exit_process
        self.stopping = asyncio.Event()
        self.batch_lock = asyncio.Lock()  # held around a batch's writes, never around getmany
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        self._rewound: set[TopicPartition] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = False


    def start(self) -> None:
        self._task = asyncio.create_task(
            supervise(self, self.settings.max_loop_restarts, self.settings.backoff_initial_s),
            name="consumer-loop")

    async def stop(self) -> None:
        """Stop fetching, let the batch in flight finish (or roll it back), leave the group."""
        self.stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.settings.stop_timeout_s)
            except TimeoutError:
                log.warning("batch did not finish in time; abandoning it (it will be redelivered)")
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await self.drop_clients()

    async def drop_clients(self) -> None:
        """On stop or after a crash: Kafka's last offset copy, then the clients go."""
        self.connected = False
        await self.offsets.stop()
        await self.link.stop()

    def membership(self) -> dict[str, Any]:
        return self.ownership.membership(self.settings.kafka_group_instance_id)

    def health(self) -> Health:
        return self.state.snapshot(self.connected,
                                   {tp.partition for tp in self.link.assignment()})

    async def dependencies_healthy(self) -> bool:
        store_ok, kafka_ok = await asyncio.gather(self.store.probe(), self.link.probe())
        return store_ok and kafka_ok

    async def connect(self) -> bool:
        backoff = Backoff(0.2, 5.0)
        while not self.stopping.is_set():
            try:
                await self.link.start(self.ownership)
            except (KafkaError, OSError, TimeoutError) as exc:
                self.state.problem("kafka", f"kafka unreachable: {exc!r}")
                log.warning("kafka not reachable; retrying", extra={"error": repr(exc)})
                await backoff.sleep()
                continue
            self.state.clear("kafka")
            self.connected = True
            self.offsets.start()
            log.info("consumer started", extra={"group": self.settings.kafka_group_id,
                                                "topic": self.settings.kafka_topic})
            return True
        return False

    async def run(self) -> None:
        """Two batches overlap: while one is written, the next is fetched and planned, and
        what arrives meanwhile is read ahead (read_ahead.py) and tops it up. Writes stay in
        fetch order; the next batch is fetched before the write starts, and a seek forgets
        what was read ahead, so a rollback can tell exactly which records to seek back to."""
        pending: Fetched | None = None
        while not self.stopping.is_set():
            await self.ownership.retry_claims()
            await self.releases.maybe_run()  # older than anything fetched: applied first
            try:
                batch = await self.link.getmany(
                    timeout_ms=0 if pending else self.settings.batch_wait_ms,
                    max_records=self.settings.batch_max_records)
            except KafkaError as exc:
                self.state.problem("kafka", f"fetch failed: {exc!r}")
                log.warning("fetch failed", extra={"error": repr(exc)})
                await self._backoff.sleep()
                continue
            self.state.fetched()
            if pending is None:
                pending = await self._fetched(batch) if batch else None
                continue
            writing = asyncio.create_task(self._handle(pending))
            following = await self._fetched(batch) if batch else None
            await self.ahead.during(writing, self.settings.batch_max_records
                                    - (following.planned.size if following else 0))
            await writing
            rewound, self._rewound = self._rewound, set()
            if following is not None and (rewound or following.epoch != self.epoch):
                if following.epoch == self.epoch:  # after a rebalance, assignment set positions
                    for tp, recs in following.batch.items():
                        if recs and tp not in rewound:
                            self.link.seek(tp, recs[0].offset)
                following = None
            pending = None if following is None else await top_up(
                following, self.link, self.settings.batch_max_records, self._fetched)
        # A batch fetched but not written is abandoned: nothing of it was stored, so its
        # records are fetched again by whoever owns the partition next.

    async def _fetched(self, batch: Batch) -> Fetched:
        epoch = self.epoch  # the fetch's: a rebalance while planning makes the batch stale
        return Fetched(await plan_beside_write(batch), epoch, lambda: self.epoch)

    async def write(self, plan: BatchPlan, epoch: int) -> WriteOutcome | None:
        """One transaction, unless a rebalance began since the batch was fetched (None)."""
        async with self.batch_lock:
            if epoch != self.epoch:
                return None
            with batch_span(plan, self.settings.kafka_topic):
                return await self.store.write(plan, self.ownership.fence, self.letters.publish)

    async def _handle(self, fetched: Fetched) -> None:
        started, started_ns = time.perf_counter(), time.time_ns()
        try:
            if fetched.plan is None:
                raise RuntimeError("batch could not be planned")
            outcome = await self.write(fetched.plan, fetched.epoch)
            if outcome is None:
                return  # the assignment set the positions; the records come again
        except Fenced as exc:
            self._fenced(fetched.batch, exc)
            return
        except Exception as exc:  # noqa: BLE001 - classified right below
            if is_transient(exc) and not await self.dependencies_healthy():
                await self._retry_later(fetched.batch, exc, outage=True)
                return
            log.warning("batch failed; isolating records", extra={"error": repr(exc)[:500]})
            await self._isolate(fetched)
            return
        self.committed(fetched.plan.next_offsets, outcome)
        metrics.BATCH_SIZE.observe(sum(len(r) for r in fetched.batch.values()))
        metrics.BATCH_LATENCY.observe(time.perf_counter() - started)
        events_processed(outcome.inserted, self.settings.kafka_topic,
                         self.settings.kafka_group_id, started_ns)

    async def _isolate(self, fetched: Fetched) -> None:
        async def write(plan: BatchPlan) -> WriteOutcome | None:
            return await self.write(plan, fetched.epoch)

        try:
            rewind = await self.isolation.run(fetched.batch, write, self.committed)
        except Fenced as exc:
            self._fenced(fetched.batch, exc)
            return
        if rewind is not None:
            await self._retry_later(rewind.remaining, rewind.cause, outage=rewind.outage)

    def committed(self, offsets: dict[tuple[str, int], int], outcome: WriteOutcome) -> None:
        """After a database commit: hand the offsets to Kafka's copy, observe, recover."""
        if self.after_db_commit is not None:
            self.after_db_commit()
        self.state.clear("store")
        self._backoff.reset()
        self.offsets.add(offsets)
        self.state.committed({p for _, p in offsets})
        metrics.observe_outcome(outcome)

    def _fenced(self, batch: Batch, exc: Fenced) -> None:
        """A zombie's batch: rolled back and counted. Its partitions are paused until they
        are claimed again (the next assignment, or a retried claim), from stored offsets."""
        metrics.FENCED_BATCHES.inc()
        log.warning("batch fenced: partitions have a newer owner", extra={"error": str(exc)})
        self._rewind(batch)
        self.ownership.lost({tp for tp, recs in batch.items() if recs})

    async def _retry_later(self, batch: Batch, exc: BaseException, outage: bool) -> None:
        """Roll back to the batch's first offsets and back off; the records come again."""
        if outage:
            metrics.TRANSIENT_FAILURES.inc()
            self.state.problem("store", f"retrying after {type(exc).__name__}: {exc}")
        log.warning("batch rolled back; will retry", extra={
            "error": repr(exc)[:500], "outage": outage, "backoff_s": self._backoff.current})
        self._rewind(batch)
        await self._backoff.sleep()

    def _rewind(self, batch: Batch) -> None:
        for tp, recs in batch.items():
            if recs:
                self._rewound.add(tp)
                self.link.seek(tp, recs[0].offset)
