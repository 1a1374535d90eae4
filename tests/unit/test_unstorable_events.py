"""Valid events PostgreSQL could never store are poison at planning time, not a late failure."""

from datetime import datetime, timedelta, timezone

import pytest

from notification_consumer.ingest.planning import plan_batch
from tests.unit.consumer_fakes import Rec, event_value


def plan_of(value: bytes, headers: list[tuple[str, bytes]] | None = None) -> tuple[str, str]:
    plan = plan_batch([Rec(value, 0, headers=headers or [])])
    if plan.events:
        return "event", ""
    [letter] = plan.dead_letters
    return letter.reason, letter.error_message


@pytest.mark.parametrize("when", [
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00-23:59",
    "0001-01-01T00:30:00+00:31",
])
def test_times_that_overflow_once_in_utc_are_poison(when: str) -> None:
    _, value, _ = event_value()
    import json

    body = json.loads(value)
    body["occurred_at"] = when
    assert plan_of(json.dumps(body).encode())[0] == "unrepresentable"


def test_the_edges_that_do_fit_are_events() -> None:
    earliest = datetime(1, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))  # 0001-01-01 UTC
    _, value, headers = event_value(occurred_at=earliest)
    assert plan_of(value, headers)[0] == "event"


@pytest.mark.parametrize("field", ["description"])
def test_a_nul_character_in_text_is_poison(field: str) -> None:
    _, value, headers = event_value(**{field: "a\x00b"})
    assert plan_of(value, headers)[0] == "unrepresentable"


def test_an_unpaired_surrogate_is_poison() -> None:
    _, value, _ = event_value()
    value = value.replace(b'"schema_version"', b'"description":"\\ud800","schema_version"')
    assert plan_of(value)[0] in {"unrepresentable", "invalid_schema", "not_json"}


def test_a_forty_digit_amount_is_poison() -> None:
    _, value, _ = event_value()
    value = value.replace(b'"1.00"', b'"' + b"9" * 40 + b'"')
    assert plan_of(value)[0] in {"invalid_money", "invalid_schema"}


def test_a_malformed_owner_scope_is_poison_and_a_valid_one_is_kept() -> None:
    _, value, headers = event_value()
    assert plan_of(value, [*headers, ("ce_ownerscope", b"XYZ\x00")])[0] == "invalid_schema"
    plan = plan_batch([Rec(value, 0, headers=[*headers, ("ce_ownerscope", b"0123456789abcdef")])])
    assert plan.events[0].owner_scope == "0123456789abcdef"
