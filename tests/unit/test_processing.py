from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import orjson

from notification_consumer.ingest.planning import plan_batch
from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from tests.unit.consumer_fakes import Rec


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


def test_headers_are_read_in_one_pass_first_value_wins() -> None:
    eid = uuid4()
    trace = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    record = encode(PaymentAccepted(
        event_id=eid, payer_id="p1", payee_id="p2", amount=Decimal("1.00"), currency="EUR",
        occurred_at=datetime.now(UTC)), trace, owner_scope="0123456789abcdef")
    later = [("ce_id", b"not-the-id"), ("ce_ownerscope", b"bad"), ("ce_traceparent", b"x")]
    [row] = plan_batch([Rec(record.value, 0, headers=[*record.headers, *later])]).events
    assert row.event.event_id == eid
    assert row.owner_scope == "0123456789abcdef"
    assert row.trace_id == "a" * 32


def test_a_header_decoding_reads_without_a_value_is_poison_alone() -> None:
    plan = plan_batch([Rec(value(), 0, headers=[("ce_id", None)]),  # type: ignore[list-item]
                       Rec(value(), 1, headers=[("other", None)])])  # type: ignore[list-item]
    assert [d.reason for d in plan.dead_letters] == ["invalid_header"]
    assert [r.offset for r in plan.events] == [1]


def test_each_header_check_still_names_its_reason() -> None:
    bad_scope = [("ce_ownerscope", b"not-hex")]
    plan = plan_batch([Rec(value(), 0, headers=[("ce_type", b"io.other")]),
                       Rec(value(), 1, headers=[("ce_schemaversion", b"9")]),
                       Rec(value(), 2, headers=[("ce_id", b"nope")]),
                       Rec(value(), 3, headers=bad_scope),
                       Rec(value(), 4, headers=[("k\udcff", b"v")])])
    assert [d.reason for d in plan.dead_letters] == [
        "unknown_type", "unsupported_version", "invalid_schema", "invalid_schema",
        "invalid_header"]


def test_one_bad_value_in_a_batch_is_dead_lettered_alone_with_its_own_reason() -> None:
    good = [value() for _ in range(4)]
    bad_money = orjson.loads(value())
    bad_money["amount"] = "1.001"
    plan = plan_batch([Rec(good[0], 0), Rec(b"{bad", 1), Rec(good[1], 2),
                       Rec(orjson.dumps(bad_money), 3), Rec(good[2], 4), Rec(None, 5),
                       Rec(good[3], 6)])
    assert [r.offset for r in plan.events] == [0, 2, 4, 6]
    assert [(d.record.offset, d.reason) for d in plan.dead_letters] == [
        (1, "not_json"), (3, "invalid_money"), (5, "empty_value")]
