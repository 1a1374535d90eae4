from notification_consumer.ingest.lag import LagWindow, group_status


def window(*samples: tuple[int | None, int]) -> LagWindow:
    w = LagWindow(10)
    for i, (committed, end) in enumerate(samples):
        w.add(0, committed, end, at=float(i))
    return w


def test_no_lag_is_ok() -> None:
    assert window((10, 10), (20, 20)).status(0) == "OK"


def test_growing_lag_with_moving_commits_warns() -> None:
    assert window((10, 20), (12, 30), (14, 40)).status(0) == "WARN"


def test_commits_stuck_with_lag_stall() -> None:
    assert window((10, 20), (10, 25), (10, 25)).status(0) == "STALL"


def test_never_committed_with_messages_is_stop() -> None:
    assert window((None, 5), (None, 9)).status(0) == "STOP"


def test_shrinking_lag_is_ok() -> None:
    assert window((10, 40), (20, 40), (30, 40)).status(0) == "OK"


def test_lag_seconds_is_how_long_ago_the_log_end_was_at_the_commit() -> None:
    w = window((0, 10), (5, 20), (10, 30))  # at t=0 the end was 10 = today's committed
    assert w.lag_seconds(0, now=2.0) == 2.0
    assert window((30, 30)).lag_seconds(0, now=5.0) == 0.0


def test_group_status_is_the_worst() -> None:
    assert group_status(["OK", "WARN", "STALL"]) == "STALL"
    assert group_status([]) == "OK"


def test_rate_is_the_stored_offsets_movement_over_the_window() -> None:
    w = window((0, 100), (20, 100), (40, 100))  # one sample a second
    assert w.rate(0) == 20.0
    assert w.drain_seconds(0) == 3.0  # 60 left at 20 a second


def test_no_rate_before_a_stored_offset_at_both_ends() -> None:
    w = LagWindow(5)
    w.add(0, None, 100, at=0.0)
    w.add(0, 10, 100, at=1.0)
    assert w.rate(0) is None and w.drain_seconds(0) is None
