"""`metrics.observe_all` leaves a histogram exactly as one `observe` per value would."""

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram

from notification_consumer.metrics import observe_all

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def samples(histogram: Histogram) -> dict[str, float]:
    return {f"{s.name}{sorted(s.labels.items())}": s.value
            for metric in histogram.collect() for s in metric.samples
            if not s.name.endswith("_created")}


@pytest.mark.parametrize("values", [
    [],
    [0.0, 0.005, 0.0050001, 60, 61, 1e9],  # on a bound, just past it, past the last
    [-1.0, 0.0],  # a clock behind the event's (negative latency) lands in the first bucket
    [random.Random(seed).expovariate(5) for seed in range(500)],
])
def test_the_same_buckets_count_and_sum_as_observing_each(values: list[float]) -> None:
    each = Histogram("each", "h", buckets=BUCKETS, registry=CollectorRegistry())
    batch = Histogram("batch", "h", buckets=BUCKETS, registry=CollectorRegistry())
    for value in values:
        each.observe(value)
    observe_all(batch, values)
    seen = {k.replace("batch", "each", 1): v for k, v in samples(batch).items()}
    expected = samples(each)
    assert seen.keys() == expected.keys()
    for key, value in expected.items():
        assert seen[key] == pytest.approx(value), key
