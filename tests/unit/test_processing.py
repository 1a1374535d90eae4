from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from notification_consumer.processing import plan_batch
from payment_events.codec import encode
from payment_events.events import PaymentAccepted


@dataclass
class Rec:
    value: bytes | None
    offset: int
    partition: int = 0
    topic: str = "t"
    timestamp: int = 0
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def value(event_id: object = None, amount: str = "1.00") -> bytes:
    return encode(PaymentAccepted(
        event_id=event_id or uuid4(), payer_id="p1", payee_id="p2", amount=Decimal(amount),
        currency="EUR", occurred_at=datetime.now(UTC))).value


def test_next_offsets_are_last_plus_one_per_partition() -> None:
    plan = plan_batch([Rec(value(), 5), Rec(value(), 6), Rec(value(), 9, partition=1),
                       Rec(b"junk", 7)])
    assert plan.next_offsets == {("t", 0): 8, ("t", 1): 10}


def test_poison_is_planned_as_dead_letter_and_the_rest_proceeds() -> None:
    plan = plan_batch([Rec(b"junk", 0), Rec(value(), 1), Rec(None, 2)])
    assert len(plan.events) == 1
    assert [d.reason for d in plan.dead_letters] == ["not_json", "empty_value"]


def test_same_bytes_twice_in_a_batch_is_one_event_and_a_duplicate() -> None:
    v = value()
    plan = plan_batch([Rec(v, 0), Rec(v, 1)])
    assert len(plan.events) == 1 and plan.in_batch_duplicates == 1 and not plan.dead_letters


def test_same_id_different_payload_keeps_the_first_and_dead_letters_the_second() -> None:
    eid = uuid4()
    plan = plan_batch([Rec(value(eid, "1.00"), 0), Rec(value(eid, "2.00"), 1)])
    assert plan.events[0].event.amount == Decimal("1.00")
    [letter] = plan.dead_letters
    assert letter.reason == "conflict" and letter.event_id == eid
