from decimal import Decimal

import pytest

from payment_events.money import InvalidMoney, canonical_amount, parse_amount


@pytest.mark.parametrize(("raw", "currency", "expected"), [
    ("12.50", "EUR", Decimal("12.50")),
    ("12.5", "USD", Decimal("12.5")),
    ("100", "JPY", Decimal("100")),
    ("1.234", "KWD", Decimal("1.234")),
    ("0.01", "EUR", Decimal("0.01")),
])
def test_valid_amounts(raw: str, currency: str, expected: Decimal) -> None:
    assert parse_amount(raw, currency) == expected


@pytest.mark.parametrize(("raw", "currency", "why"), [
    ("1.5", "JPY", "decimal places"),
    ("1.2345", "KWD", "decimal places"),
    ("1.001", "EUR", "decimal places"),
    ("0", "EUR", "greater than 0"),
    ("0.00", "EUR", "greater than 0"),
    ("-1", "EUR", "plain positive"),
    ("1e3", "EUR", "plain positive"),
    ("NaN", "EUR", "plain positive"),
    ("", "EUR", "plain positive"),
    ("1000000000.01", "EUR", "exceed"),
    ("1.00", "XYZ", "ISO 4217"),
    (12.5, "EUR", "decimal string"),
])
def test_invalid_amounts_say_why(raw: object, currency: str, why: str) -> None:
    with pytest.raises(InvalidMoney, match=why):
        parse_amount(raw, currency)


def test_canonical_amount_uses_minor_units() -> None:
    assert canonical_amount(Decimal("12.5"), "EUR") == "12.50"
    assert canonical_amount(Decimal("7"), "KWD") == "7.000"
    assert canonical_amount(Decimal("7"), "JPY") == "7"
