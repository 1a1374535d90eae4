"""One grammar for an amount: the request model, the event model and the committed JSON Schema
accept exactly the same strings (a property test over valid and near-valid amounts)."""

import json
from decimal import Decimal
from typing import Any
from uuid import uuid4

import jsonschema
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from payment_events.events import PaymentAccepted
from payment_events.money import MINOR_UNITS
from payment_events.schema import SCHEMA_FILE
from transaction_api.http.schemas import PaymentRequest

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
CURRENCIES = st.sampled_from(sorted(MINOR_UNITS)) | st.sampled_from(["XYZ", "eur", "EU"])

digits = st.text("0123456789", min_size=1, max_size=12)
# Amounts as people and programs write them, right and almost right.
near_valid = st.one_of(
    st.builds(lambda w, f: f"{w}.{f}", digits, st.text("0123456789", max_size=6)),
    digits,
    st.decimals(min_value=Decimal("-10"), max_value=Decimal("2000000000"), places=None,
                allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["NaN", "Infinity", "-0", "sNaN", "1e-7"]),
    st.decimals(min_value=0, max_value=Decimal("1e9"), places=4).map(lambda d: f"{d:f}"),
    st.builds(lambda pre, core, post: f"{pre}{core}{post}",
              st.sampled_from(["", "+", "-", " ", "0", "00", "\t", "\n"]),
              st.sampled_from(["1", "12.5", "1_000", "1E+3", "1e3", "0.0", ".5", "5.", "1,5",
                               "5.000000", "1000000000", "999999999.9999", "0.0001", "٣"]),
              st.sampled_from(["", " ", "\n", "0", ".0", "x", "\x00"])),
    st.text("0123456789.+-eE_ \n", max_size=14),
)


def accepted_by_request_model(amount: str, currency: str) -> bool:
    try:
        PaymentRequest.model_validate({"payer_id": "acct_a", "payee_id": "acct_b",
                                       "amount": amount, "currency": currency})
    except ValidationError:
        return False
    return True


def event_document(amount: str, currency: str) -> dict[str, Any]:
    return {"schema_version": 1, "event_id": str(uuid4()), "payer_id": "acct_a",
            "payee_id": "acct_b", "amount": amount, "currency": currency,
            "occurred_at": "2026-11-26T12:00:00+00:00"}


def accepted_by_event_model(document: dict[str, Any]) -> bool:
    try:
        PaymentAccepted.model_validate_json(json.dumps(document))
    except ValidationError:
        return False
    return True


@settings(max_examples=600, deadline=None)
@given(amount=near_valid, currency=CURRENCIES)
@example(amount="1E+3", currency="EUR")
@example(amount="+5", currency="EUR")
@example(amount=" 5.00", currency="EUR")
@example(amount="1_000", currency="EUR")
@example(amount="5.000000", currency="EUR")
@example(amount="5.000", currency="EUR")
@example(amount="12.50\n", currency="EUR")
@example(amount="12.50", currency="EUR")
@example(amount="7", currency="JPY")
def test_models_and_schema_accept_the_same_amounts(amount: str, currency: str) -> None:
    document = event_document(amount, currency)
    by_schema = VALIDATOR.is_valid(document)
    by_request = accepted_by_request_model(amount, currency)
    by_event = accepted_by_event_model(document)
    assert by_request == by_schema == by_event, (amount, currency, by_request, by_schema,
                                                 by_event)


@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2))
def test_every_two_decimal_amount_in_range_is_accepted_everywhere(amount: Decimal) -> None:
    text = f"{amount:f}"
    assert accepted_by_request_model(text, "EUR")
    assert VALIDATOR.is_valid(event_document(text, "EUR"))


def test_schema_rejects_what_the_issue_listed() -> None:
    for amount in ("1E+3", "+5", " 5.00", "1_000", "5.000000"):
        assert not VALIDATOR.is_valid(event_document(amount, "EUR"))
        assert not accepted_by_request_model(amount, "EUR")
