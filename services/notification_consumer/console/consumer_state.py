"""The one adapter between the console and the consumer's internals and metrics.

Everything the console reads from the consumer goes through these functions, so a change
there is a change here only. Metrics are read from prometheus_client's registry, i.e. this
process's view.
"""

from typing import Any

from prometheus_client import REGISTRY

from notification_consumer.ingest.view import IngestView

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
