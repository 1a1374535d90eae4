"""The delivery worker's log lines: a failed attempt at INFO, a successful one only at DEBUG,
and one INFO summary per recorded batch."""

import logging
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from notification_consumer.webhooks import observe
from notification_consumer.webhooks.attempts import Outcome, Result
from notification_consumer.webhooks.outbox import Claimed


def result(delivery_id: int, status: int | None, retry_in_s: float | None = None) -> Result:
    job = Claimed(delivery_id, uuid4(), 1, datetime.now(UTC), None, uuid4(),
                  "https://hooks.example/x", ["whsec_x"], {"id": delivery_id})
    return Result(job, Outcome(status, 12.5 * delivery_id, "203.0.113.7", None,
                               None if status else "timed out"), retry_in_s)


def test_successes_are_summed_up_and_failures_named(caplog: pytest.LogCaptureFixture) -> None:
    batch = [result(1, 204), result(2, 204), result(3, None, retry_in_s=5.0)]
    states = {1: {"state": "delivered"}, 2: {"state": "delivered"}, 3: {"state": "pending"}}
    with caplog.at_level(logging.INFO, logger=observe.log.name):
        for r in batch:
            observe.attempt(r, None)
        observe.batch(batch, states)
    lines = [(rec.getMessage(), rec.__dict__) for rec in caplog.records]
    assert [m for m, _ in lines] == ["webhook attempt", "webhook attempts recorded"]
    assert lines[0][1]["delivery_id"] == 3  # only the failed attempt, at INFO
    summary = lines[1][1]
    assert (summary["attempts"], summary["delivered"], summary["retrying"],
            summary["failed"]) == (3, 2, 1, 0)
    assert summary["slowest_ms"] == 37.5


def test_at_debug_every_attempt_has_its_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=observe.log.name):
        observe.attempt(result(1, 204), None)
    assert [r.getMessage() for r in caplog.records] == ["webhook attempt"]
