"""Monitoring that tells the truth, and Kafka's copy of the offsets that never goes missing."""

from aiokafka.structs import TopicPartition

from notification_consumer import metrics
from notification_consumer.ingest.lag import LagWindow
from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.offset_copy import OffsetCopy
from tests.unit.consumer_fakes import TOPIC, FakeLink

TP0, TP1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


def test_a_quiet_partition_with_one_record_in_flight_is_ok_not_stall() -> None:
    w = LagWindow(10)
    w.add(0, 10, 10, at=0.0)  # caught up
    w.add(0, 10, 11, at=1.0)  # one record arrived, being processed
    w.add(0, 10, 11, at=2.0)
    assert w.status(0) == "OK"


def test_stuck_commits_with_lag_all_window_long_stall() -> None:
    w = LagWindow(3)
    for i in range(4):
        w.add(0, 10, 11, at=float(i))
    assert w.status(0) == "STALL"


def test_partition_gauges_are_removed_when_the_partition_goes() -> None:
    metrics.LAG.labels("77").set(5)
    metrics.SINCE_COMMIT.labels("77").set(1)
    metrics.forget_partitions({77})
    names = {s.labels.get("partition") for m in metrics.LAG.collect() for s in m.samples}
    assert "77" not in names


async def test_a_failed_commit_is_requeued_and_sent_later() -> None:
    link = FakeLink(partitions=2)
    link.assigned = {TP0, TP1}
    copy = OffsetCopy(link)
    copy.add({(TOPIC, 0): 5})
    link.commit_error = RuntimeError("rebalancing")
    assert not await copy.flush()
    assert copy.pending == {TP0: 5}
    copy.add({(TOPIC, 0): 3})  # an older offset never moves the copy back
    link.commit_error = None
    assert await copy.flush()
    assert link.committed == {TP0: 5} and copy.pending == {}


async def test_flush_on_revoke_sends_only_the_revoked_partitions() -> None:
    link = FakeLink(partitions=2)
    link.assigned = {TP0, TP1}
    copy = OffsetCopy(link)
    copy.add({(TOPIC, 0): 1, (TOPIC, 1): 2})
    await copy.flush({TP1})
    assert link.committed == {TP1: 2} and copy.pending == {TP0: 1}


async def test_offsets_of_partitions_no_longer_ours_are_left_to_the_new_owner() -> None:
    link = FakeLink(partitions=2)
    link.assigned = {TP0}
    copy = OffsetCopy(link)
    copy.add({(TOPIC, 1): 9})
    assert await copy.flush()
    assert link.committed == {} and copy.pending == {}


async def test_stop_sends_the_last_copy() -> None:
    link = FakeLink()
    link.assigned = {TP0}
    copy = OffsetCopy(link)
    copy.start()
    copy.add({(TOPIC, 0): 4})
    await copy.stop()
    assert link.committed == {TP0: 4}


def test_total_drain_counts_a_member_working_through_partitions_in_turn() -> None:
    """One member draining partition 0 while partition 1 waits its turn: partition 1 has no
    rate yet, the total is the whole lag at the member's rate (not unknown)."""
    monitor = LagMonitor.__new__(LagMonitor)
    monitor.window = LagWindow(5)
    for at, committed in ((0.0, 0), (1.0, 50), (2.0, 100)):
        monitor.window.add(0, committed, 200, at=at)
        monitor.window.add(1, None, 300, at=at)
    partitions = [{"partition": 0, "drain_seconds": monitor.window.drain_seconds(0)},
                  {"partition": 1, "drain_seconds": monitor.window.drain_seconds(1)}]
    assert partitions[1]["drain_seconds"] is None
    assert monitor._total_drain(partitions, 400) == 8.0  # 400 left at 50 a second
    assert monitor._total_drain(partitions, 0) == 0.0
