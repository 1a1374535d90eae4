from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import orjson
import pytest

from payment_events.codec import (
    ce_headers,
    decode,
    encode,
    header,
    model_headers,
    owner_scope,
    read_headers,
)
from payment_events.errors import PoisonMessage
from payment_events.events import PaymentAccepted


def event(**overrides: object) -> PaymentAccepted:
    fields: dict[str, object] = {
        "event_id": uuid4(), "payer_id": "acct_a", "payee_id": "acct_b",
        "amount": Decimal("12.50"), "currency": "EUR", "description": "x",
        "occurred_at": datetime.now(UTC), **overrides,
    }
    return PaymentAccepted.model_validate(fields)


def test_round_trip_keeps_money_exact_and_time_aware() -> None:
    original = event(amount=Decimal("0.10"))
    record = encode(original, "00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    decoded = decode(record.value, record.headers)
    assert decoded == original
    assert decoded.amount == Decimal("0.10") and decoded.occurred_at.tzinfo is not None
    assert record.key == b"acct_a"
    assert header(record.headers, "ce_id") == str(original.event_id)
    assert header(record.headers, "ce_traceparent", ).startswith("00-aaaa")  # type: ignore[union-attr]
    assert orjson.loads(record.value)["amount"] == "0.10"


def _value(**changes: object) -> bytes:
    body = orjson.loads(encode(event()).value)
    body.update(changes)
    return orjson.dumps(body)


@pytest.mark.parametrize(("value", "headers", "reason"), [
    (None, [], "empty_value"),
    (b"", [], "empty_value"),
    (b"not json", [], "not_json"),
    (b"\xff\xfe", [], "not_json"),
    (b"[1,2]", [], "invalid_schema"),
    (_value(payer_id=None), [], "invalid_schema"),
    (_value(extra="x"), [], "invalid_schema"),
    (_value(schema_version=2), [], "unsupported_version"),
    (_value(amount="-1"), [], "invalid_money"),
    (_value(amount="1.001"), [], "invalid_money"),
    (_value(amount=12.5), [], "invalid_money"),
    (_value(currency="XYZ"), [], "invalid_money"),
    (_value(), [("ce_type", b"io.other.thing")], "unknown_type"),
    (_value(), [("ce_schemaversion", b"7")], "unsupported_version"),
    (_value(), [("ce_id", b"not-the-id")], "invalid_schema"),
])
def test_poison_is_classified(value: bytes | None, headers: list[tuple[str, bytes]],
                              reason: str) -> None:
    with pytest.raises(PoisonMessage) as caught:
        decode(value, headers)
    assert caught.value.reason == reason


def test_naive_time_is_poison() -> None:
    with pytest.raises(PoisonMessage):
        decode(_value(occurred_at="2026-01-01T00:00:00"))


def test_repeated_client_errors_are_logged_once_per_window() -> None:
    import logging

    from service_kit.logs import RepeatFilter

    gate = RepeatFilter(window_s=30)

    def rec(name: str, msg: str, at: float) -> logging.LogRecord:
        r = logging.LogRecord(name, logging.ERROR, "", 0, msg, (), None)
        r.created = at
        return r

    assert gate.filter(rec("aiokafka", "Unable connect to %s", 0.0))
    assert not gate.filter(rec("aiokafka", "Unable connect to %s", 1.0))
    assert gate.filter(rec("aiokafka", "Unable connect to %s", 31.0))
    ours = [gate.filter(rec("transaction_api", "x", t)) for t in (1.0, 1.1)]
    assert ours == [True, True]


def test_owner_scope_travels_as_a_ce_extension_header() -> None:
    record = encode(event(), owner_scope="0123456789abcdef")
    assert ("ce_ownerscope", b"0123456789abcdef") in record.headers
    assert owner_scope(record.headers) == "0123456789abcdef"
    assert owner_scope(encode(event()).headers) is None


@pytest.mark.parametrize("raw", [b"", b"0123456789ABCDEF", b"0123456789abcde", b"\x00" * 16,
                                 b"0123456789abcdef\n"])
def test_a_malformed_owner_scope_is_poison(raw: bytes) -> None:
    with pytest.raises(PoisonMessage):
        owner_scope([("ce_ownerscope", raw)])



def test_a_read_header_without_a_value_is_poison_an_unread_one_is_not() -> None:
    with pytest.raises(PoisonMessage) as caught:
        read_headers([("ce_type", b"t"), ("ce_id", None)])
    assert caught.value.reason == "invalid_header"
    assert read_headers([("ce_type", b"t"), ("other", None)]) == {"ce_type": b"t"}


@pytest.mark.parametrize("when", [
    datetime(2026, 12, 3, 19, 37, 39, 80677, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 1, 1, 5, 6, 7, 1000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 1, 1, 5, 6, 7, tzinfo=timezone(timedelta(seconds=-3601))),
    datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
])
@pytest.mark.parametrize("traceparent", [None, "00-" + "a" * 32 + "-" + "b" * 16 + "-01"])
@pytest.mark.parametrize("scope", [None, "0123456789abcdef"])
def test_the_direct_headers_are_the_models_bytes(when: datetime, traceparent: str | None,
                                                  scope: str | None) -> None:
    e = PaymentAccepted(event_id=uuid4(), payer_id="acct_a", payee_id="acct_b",
                        amount=Decimal("1.50"), currency="EUR", occurred_at=when)
    assert ce_headers(e, traceparent, scope) == model_headers(e, traceparent, scope)


def test_a_malformed_owner_scope_is_still_refused() -> None:
    with pytest.raises(ValueError, match="ownerscope"):
        encode(event(), owner_scope="not-a-scope")
