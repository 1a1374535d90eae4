"""The overview's lag in time, without I/O: a sample carrying a LagMonitor snapshot becomes
the oldest unprocessed age and the time to drain, per partition and in total, for people."""

import pytest

from notification_consumer.console.overview import duration, view
from notification_consumer.console.runtime import TEMPLATES
from notification_consumer.console.sampler import Sample


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "unknown"), (0.0, "0 s"), (0.04, "0 s"), (42.46, "42.5 s"), (59.0, "59 s"),
    (184.4, "3 min 04 s"), (3599.6, "1 h 00 min"), (7530.0, "2 h 05 min"),
])
def test_durations_read_as_people_say_them(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def _sample(**snapshot: object) -> Sample:
    return Sample(at=1000.0, processed=10, dead_letters=0, total_lag=12,
                  partitions=[{"partition": 0, "committed_offset": 5, "log_end_offset": 5,
                               "lag": 0, "lag_seconds": 0.0, "drain_seconds": 0.0,
                               "status": "OK"},
                              {"partition": 1, "committed_offset": 3, "log_end_offset": 15,
                               "lag": 12, "lag_seconds": 95.5, "drain_seconds": None,
                               "status": "STALL"}],
                  group_status="STALL", rebalances=0.0, latency_buckets=[], consumer={},
                  api={"ready": None, "outbox_backlog": None, "outbox_oldest_s": None},
                  **snapshot)  # type: ignore[arg-type]


def test_oldest_age_and_drain_per_partition_and_in_total() -> None:
    o = view([_sample(oldest_unprocessed_s=95.5, drain_s=None,
                      parked={"keys": 1, "records": 3, "oldest_park_s": 4000.0})])
    assert (o["oldest_unprocessed"], o["drain"]) == ("1 min 36 s", "unknown")
    assert [(p["oldest_unprocessed"], p["drain"]) for p in o["partitions"]] == \
        [("0 s", "0 s"), ("1 min 36 s", "unknown")]
    assert o["parked_oldest"] == "1 h 06 min"
    html = TEMPLATES.get_template("_overview_live.html").render(o=o)
    assert 'id="oldest-unprocessed" data-seconds="95.5">1 min 36 s<' in html
    assert 'id="drain" data-seconds="">unknown<' in html
    assert 'id="parked">1 / 3<' in html and 'href="/console/parked"' in html
    assert 'class="drain" data-seconds="">unknown<' in html


def test_a_draining_backlog_and_no_snapshot_yet() -> None:
    o = view([_sample(oldest_unprocessed_s=3.0, drain_s=7.25, parked={"keys": 0,
                                                                      "records": 0})])
    html = TEMPLATES.get_template("_overview_live.html").render(o=o)
    assert 'data-seconds="7.25">7.2 s<' in html and "oldest parked" not in html
    empty = view([_sample(error="Kafka down")])  # the snapshot failed: nothing is known
    assert (empty["oldest_unprocessed"], empty["drain"], empty["parked"]) == \
        ("unknown", "unknown", {})
    assert 'id="parked">? / ?<' in TEMPLATES.get_template("_overview_live.html").render(o=empty)
