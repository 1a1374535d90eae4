"""Samples log-end and stored offsets for every partition: feeds the lag window, the
per-partition gauges (owned partitions only) and /stats. `snapshot()` is a pure read."""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer import metrics
from notification_consumer.ingest.lag import LagWindow, group_status
from notification_consumer.ingest.settings import IngestSettings
from notification_consumer.ingest.view import IngestView
from notification_consumer.store import batch_sql, parked_reads
from service_kit.periodic import Periodic

log = logging.getLogger(__name__)


class LagMonitor:
    def __init__(self, settings: IngestSettings, engine: AsyncEngine, ingest: IngestView,
                 log_ends: Callable[[], Awaitable[dict[int, int]]]) -> None:
        self.settings = settings
        self.engine = engine
        self.ingest = ingest
        self.log_ends = log_ends
        self.window = LagWindow(settings.lag_window_samples)
        self._labelled: set[int] = set()
        self._exporting = False
        self._sampling = Periodic("lag-monitor", settings.lag_sample_interval_s, self.sample,
                                  _sample_failed)

    def start(self) -> None:
        if not self._exporting:
            self._exporting = True
            metrics.export_ready(True)
        self._sampling.start()

    async def stop(self) -> None:
        await self._sampling.stop()
        if self._exporting:
            self._exporting = False
            metrics.export_ready(False)

    async def sample(self) -> None:
        """Record one observation and set the gauges: the only writer of monitoring state."""
        health = self.ingest.health()
        metrics.READY.set(1 if health.connected and health.degraded is None else 0)
        snap = await self.snapshot()
        now = time.time()
        owned = set(health.assigned)
        for p in snap["partitions"]:
            self.window.add(p["partition"], p["committed_offset"], p["log_end_offset"], now)
        metrics.forget_partitions(self._labelled - owned)
        self._labelled = set()
        for p in snap["partitions"]:
            partition = p["partition"]
            if partition not in owned:
                continue
            label = str(partition)
            metrics.LAG.labels(label).set(p["lag"])
            metrics.LAG_SECONDS.labels(label).set(self.window.lag_seconds(partition, now))
            drain = self.window.drain_seconds(partition)
            if drain is None:
                metrics.forget_drain(partition)
            else:
                metrics.DRAIN_SECONDS.labels(label).set(drain)
            since = health.since_commit.get(partition)
            if since is not None:
                metrics.SINCE_COMMIT.labels(label).set(since)
            self._labelled.add(partition)

    async def snapshot(self, log_ends: Callable[[], Awaitable[dict[int, int]]] | None = None
                       ) -> dict[str, Any]:
        """Counters, stored offsets, log ends and the window's verdicts; changes nothing.
        `log_ends`: another reader of the log ends (the console's own Kafka client), so
        that the console shows the same numbers without borrowing the ingest client."""
        async with self.engine.connect() as conn:
            stored = await batch_sql.stored_offsets(conn, self.settings.kafka_group_id,
                                                self.settings.kafka_topic)
            counts = await batch_sql.counters(conn, self.settings.kafka_group_id)
            parked = await parked_reads.totals(conn, self.settings.kafka_group_id,
                                               self.settings.kafka_topic)
        metrics.observe_parked(parked)
        result: dict[str, Any] = {
            "group_id": self.settings.kafka_group_id,
            "topic": self.settings.kafka_topic,
            **counts,
            "parked": parked,
        }
        try:
            ends = await (log_ends or self.log_ends)()
        except Exception as exc:  # noqa: BLE001 - report what we know
            result.update(lag=None, total_lag=None, partitions=[], status="UNKNOWN",
                          oldest_unprocessed_age_s=None, drain_seconds=None,
                          kafka_error=f"{type(exc).__name__}: {exc}"[:200])
            return result
        now = time.time()
        partitions: list[dict[str, Any]] = []
        for partition, end in sorted(ends.items()):
            committed = stored.get(partition)
            lag = max(0, end - (committed or 0))
            status = self.window.status(partition) if lag else "OK"
            drain = self.window.drain_seconds(partition) if lag else 0.0
            partitions.append({"partition": partition, "committed_offset": committed,
                               "log_end_offset": end, "lag": lag,
                               "lag_seconds": round(self.window.lag_seconds(partition, now), 3)
                               if lag else 0.0,
                               "drain_seconds": None if drain is None else round(drain, 3),
                               "status": status})
        total_lag = sum(p["lag"] for p in partitions)
        result.update(
            lag={str(p["partition"]): p["lag"] for p in partitions},
            total_lag=total_lag,
            partitions=partitions,
            status=group_status([p["status"] for p in partitions]),
            oldest_unprocessed_age_s=max((p["lag_seconds"] for p in partitions), default=0.0),
            drain_seconds=self._total_drain(partitions, total_lag),
        )
        return result


    def _total_drain(self, partitions: list[dict[str, Any]], total_lag: int) -> float | None:
        """Partitions drain side by side (the slowest one bounds the total), and a member
        that works through them one after another drains all of them at its total rate: the
        larger of the two. None while nothing has moved."""
        if total_lag == 0:
            return 0.0
        rates = [r for p in partitions if (r := self.window.rate(p["partition"])) is not None]
        overall = total_lag / sum(rates) if sum(rates) > 0 else None
        known: list[float] = [d for p in partitions if (d := p["drain_seconds"]) is not None]
        if overall is None:
            return None if len(known) < len(partitions) else max(known, default=0.0)
        return round(max([overall, *known]), 3)

def _sample_failed(exc: Exception) -> None:
    log.debug("lag sample failed", extra={"error": repr(exc)})  # only a gap in the window
