"""The one adapter between the console and the consumer's internals and metrics.

The consumer is being reshaped by others (a `health()` value is coming); everything the
console reads from it goes through these functions, so a change there is a change here only.
Metrics are read from prometheus_client's registry, i.e. this process's view.
"""

from typing import Any

from prometheus_client import REGISTRY

from notification_consumer.consumer import NotificationConsumer
from notification_consumer.monitor import LagMonitor

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


def health(consumer: NotificationConsumer) -> dict[str, Any]:
    connected = consumer.consumer is not None
    degraded = consumer.degraded
    status = consumer.status()
    return {"connected": connected, "degraded": degraded,
            "ready": connected and degraded is None,
            "assigned_partitions": status.get("assigned_partitions", []),
            "seconds_since_fetch": status.get("seconds_since_fetch")}


def membership(consumer: NotificationConsumer) -> dict[str, Any]:
    """This replica's own view of the group: member id and generation (aiokafka keeps them
    on its coordinator; DescribeGroups does not report the generation)."""
    kafka = consumer.consumer
    coordinator = getattr(kafka, "_coordinator", None)
    return {
        "member_id": getattr(coordinator, "member_id", None),
        "generation": getattr(coordinator, "generation", None),
        "group_instance_id": getattr(coordinator, "_group_instance_id", None),
    }


async def lag_snapshot(monitor: LagMonitor) -> dict[str, Any]:
    """Counters from the database and lag per partition (not recorded into the window)."""
    return await monitor.snapshot()
