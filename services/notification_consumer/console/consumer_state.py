"""The one adapter between the console and the consumer's internals and metrics.

Everything the console reads from the consumer goes through these functions, so a change
there is a change here only. Metrics are read from prometheus_client's registry, i.e. this
process's view.
"""

from typing import Any

from prometheus_client import REGISTRY

from notification_consumer.loop import NotificationConsumer
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
    state = consumer.health()
    return {"connected": state.connected, "degraded": state.degraded,
            "ready": state.connected and state.degraded is None,
            "assigned_partitions": list(state.assigned),
            "seconds_since_fetch": round(state.seconds_since_fetch, 3)}


def membership(consumer: NotificationConsumer) -> dict[str, Any]:
    """This replica's own view of the group: the member id and generation its partition
    claims carry (DescribeGroups does not report the generation)."""
    fence = consumer.ownership.fence
    return {
        "member_id": fence.member_id or None,
        "generation": fence.generation if fence.generation >= 0 else None,
        "group_instance_id": consumer.settings.kafka_group_instance_id or None,
    }


async def lag_snapshot(monitor: LagMonitor) -> dict[str, Any]:
    """Counters from the database and lag per partition (not recorded into the window)."""
    return await monitor.snapshot()
