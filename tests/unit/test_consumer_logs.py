"""The consumer's log lines per batch: one INFO summary; the line per event only at DEBUG."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from notification_consumer import metrics
from notification_consumer.ingest.planning import EventRow
from notification_consumer.ingest.ports import WriteOutcome
from payment_events.events import PaymentAccepted


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int


def row(partition: int, offset: int, age_s: float = 0.0) -> EventRow:
    event = PaymentAccepted(event_id=uuid4(), payer_id="a", payee_id="b", amount=Decimal("1"),
                            currency="EUR", occurred_at=datetime.now(UTC) - timedelta(
                                seconds=age_s))
    return EventRow(event, Rec("t", partition, offset), "0" * 64, None)  # type: ignore[arg-type]


def test_info_logs_one_summary_per_batch(caplog: pytest.LogCaptureFixture) -> None:
    rows = [row(0, 5), row(0, 6), row(3, 10, age_s=2.0), row(0, 7)]
    with caplog.at_level(logging.INFO, logger=metrics.log.name):
        metrics.observe_outcome(WriteOutcome(rows, duplicates=2))
    [line] = caplog.records
    assert line.getMessage() == "batch processed"
    assert line.__dict__["processed"] == 4 and line.__dict__["duplicates"] == 2
    assert line.__dict__["offsets"] == {"0": [5, 7], "3": [10, 10]}
    assert line.__dict__["max_latency_ms"] >= 2000


def test_debug_adds_a_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    rows = [row(1, 1), row(1, 2)]
    with caplog.at_level(logging.DEBUG, logger=metrics.log.name):
        metrics.observe_outcome(WriteOutcome(rows))
    assert [r.getMessage() for r in caplog.records] == [
        "event processed", "event processed", "batch processed"]
    assert caplog.records[0].__dict__["event_id"] == str(rows[0].event.event_id)


def test_an_empty_outcome_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=metrics.log.name):
        metrics.observe_outcome(WriteOutcome())
    assert caplog.records == []
