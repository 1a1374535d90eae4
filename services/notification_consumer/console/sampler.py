"""A bounded in-memory ring of overview samples, taken every few seconds by one task, and a
way for live pages to wait for the next one. Losing it on restart only empties the trend."""

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from notification_consumer.console import consumer_state
from notification_consumer.console.api_client import ApiClient
from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.log_ends import KafkaResting, LogEnds
from notification_consumer.ingest.view import IngestView
from service_kit.periodic import Periodic

log = logging.getLogger(__name__)
KEEP_S = 20 * 60  # the trend shows 15 minutes; a little more is kept


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # wall clock seconds
    processed: int | None
    dead_letters: int | None
    total_lag: int | None
    partitions: list[dict[str, Any]]
    group_status: str
    rebalances: float
    latency_buckets: list[tuple[float, float]]
    consumer: dict[str, Any]
    api: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    oldest_unprocessed_s: float | None = None  # the age of the oldest unprocessed record
    drain_s: float | None = None  # None: no rate to go by yet
    parked: dict[str, float] = field(default_factory=dict)  # keys, records, oldest_park_s


class Sampler:
    def __init__(self, ingest: IngestView, monitor: LagMonitor, api: ApiClient,
                 interval_s: float) -> None:
        self.ends = LogEnds(monitor.settings)
        self.ingest = ingest
        self.monitor = monitor
        self.api = api
        self.interval_s = interval_s
        self.samples: deque[Sample] = deque(maxlen=max(10, math.ceil(KEEP_S / interval_s)))
        self._fresh = asyncio.Condition()
        self._sampling = Periodic("console-sampler", interval_s, self._keep_one, _sample_failed,
                                  first_at_once=True)

    def start(self) -> None:
        self._sampling.start()

    async def stop(self) -> None:
        await self._sampling.stop()
        await self.ends.close()

    async def _keep_one(self) -> None:
        sample = await asyncio.wait_for(self.take(), max(10.0, self.interval_s * 2))
        self.samples.append(sample)
        async with self._fresh:
            self._fresh.notify_all()

    async def take(self) -> Sample:
        api = asyncio.create_task(self.api.overview())
        error = None
        health = consumer_state.health(self.ingest)
        # The very snapshot /stats answers, its log ends read through the console's own
        # client; while the consumer reconnects, the broker is left alone.
        ends = self.ends.read if health["connected"] else _not_connected
        try:
            snap = await self.monitor.snapshot(ends)
        except Exception as exc:  # noqa: BLE001 - shown on the page
            snap, error = {}, f"{type(exc).__name__}: {exc}"[:200]
        return Sample(
            at=time.time(), processed=snap.get("processed"),
            dead_letters=snap.get("dead_letters"), total_lag=snap.get("total_lag"),
            partitions=snap.get("partitions", []), group_status=snap.get("status", "UNKNOWN"),
            rebalances=consumer_state.metric_total("consumer_rebalances_total"),
            latency_buckets=consumer_state.histogram_buckets(),
            consumer=health, api=await api,
            error=error or snap.get("kafka_error"),
            oldest_unprocessed_s=snap.get("oldest_unprocessed_age_s"),
            drain_s=snap.get("drain_seconds"), parked=snap.get("parked") or {})

    async def next_sample(self, timeout_s: float) -> Sample | None:
        """Wait for the next sample (None on timeout)."""
        async with self._fresh:
            try:
                await asyncio.wait_for(self._fresh.wait(), timeout_s)
            except TimeoutError:
                return None
        return self.samples[-1] if self.samples else None


async def _not_connected() -> dict[int, int]:
    raise KafkaResting("consumer not connected to Kafka; lag not sampled")


def _sample_failed(exc: Exception) -> None:
    log.debug("console sample failed", extra={"error": repr(exc)})  # a gap in the chart
