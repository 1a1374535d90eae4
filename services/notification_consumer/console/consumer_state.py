"""The one adapter between the console and the consumer's internals and metrics.

Everything the console reads from the consumer goes through these functions, so a change
there is a change here only. Metrics are read from prometheus_client's registry, i.e. this
process's view.
"""

import time
from typing import Any

from prometheus_client import REGISTRY

from notification_consumer.ingest.lag import group_status
from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.log_ends import LogEnds
from notification_consumer.ingest.view import IngestView
from notification_consumer.store import batch_sql

E2E_HISTOGRAM = "consumer_end_to_end_latency_seconds"


def metric_total(name: str) -> float:
    """Sum of a counter's samples over all labels (0 when the metric is unknown)."""
    total = 0.0
    for family in REGISTRY.collect():
        if family.name == name.removesuffix("_total"):
            total += sum(s.value for s in family.samples if s.name == name)
    return total


def histogram_buckets(name: str = E2E_HISTOGRAM) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) pairs of a histogram, summed over labels."""
    buckets: dict[float, float] = {}
    for family in REGISTRY.collect():
        if family.name != name:
            continue
        for s in family.samples:
            if s.name == f"{name}_bucket":
                bound = float(s.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + s.value
    return sorted(buckets.items())


def health(ingest: IngestView) -> dict[str, Any]:
    state = ingest.health()
    return {"connected": state.connected, "degraded": state.degraded,
            "ready": state.connected and state.degraded is None,
            "assigned_partitions": list(state.assigned),
            "seconds_since_fetch": round(state.seconds_since_fetch, 3)}


async def lag_snapshot(monitor: LagMonitor, ends: LogEnds,
                       kafka_ok: bool = True) -> dict[str, Any]:
    """Counters, stored offsets and lag per partition; the Burrow status and lag seconds come
    from the monitor's own window (read, never written: /stats keeps its meaning)."""
    settings = monitor.settings
    async with monitor.engine.connect() as conn:
        stored = await batch_sql.stored_offsets(conn, settings.kafka_group_id, settings.kafka_topic)
        counts = await batch_sql.counters(conn, settings.kafka_group_id)
    result: dict[str, Any] = {**counts, "partitions": [], "total_lag": None,
                              "status": "UNKNOWN"}
    if not kafka_ok:  # the consumer is reconnecting: leave the broker alone meanwhile
        result["kafka_error"] = "consumer not connected to Kafka; lag not sampled"
        return result
    try:
        log_ends = await ends.read()
    except Exception as exc:  # noqa: BLE001 - shown on the page
        result["kafka_error"] = f"{type(exc).__name__}: {exc}"[:200]
        return result
    now, window = time.time(), monitor.window
    for partition, end in sorted(log_ends.items()):
        committed = stored.get(partition)
        result["partitions"].append({
            "partition": partition, "committed_offset": committed, "log_end_offset": end,
            "lag": max(0, end - (committed or 0)),
            "lag_seconds": round(window.lag_seconds(partition, now), 3),
            "status": window.status(partition) if end - (committed or 0) > 0 else "OK"})
    result["total_lag"] = sum(p["lag"] for p in result["partitions"])
    result["status"] = group_status([p["status"] for p in result["partitions"]])
    return result
