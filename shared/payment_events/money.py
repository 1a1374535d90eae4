"""Money rules: ISO 4217 codes and their minor units; amounts are Decimal, never float."""

import re
from decimal import Decimal

# Active ISO 4217 codes and their minor units (exponent). Funds and precious-metal codes
# (XAU, XDR, ...) are left out on purpose: they are not payment currencies.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP "
        "BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP "
        "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT "
        "LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO "
        "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE "
        "SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST "
        "XCD XCG YER ZAR ZMW ZWG".split(),
        2,
    ),
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    "CLF": 4,
    "UYW": 4,
}

# An upper bound per payment, in major units: far above real payments, far below overflow.
MAX_AMOUNT = Decimal("1000000000")
MAX_MINOR_UNITS = max(MINOR_UNITS.values())


def amount_pattern(minor_units: int) -> str:
    """The one grammar of an amount for a currency with `minor_units` decimals.

    Plain digits with at most one point: no sign, exponent, spaces, separators or leading
    zeros; greater than 0, at most MAX_AMOUNT, at most `minor_units` decimals. It is a regular
    expression so the JSON Schema can say exactly what the models accept; no look-arounds,
    so every JSON Schema validator (ECMA 262, RE2, Rust regex) reads it the same way.
    """
    whole = "[1-9][0-9]{0,8}"  # 1 .. 999,999,999
    ceiling = "1000000000"
    if minor_units == 0:
        return f"^(?:{whole}|{ceiling})$"
    n = minor_units
    # Below 1: some fraction digit must be non-zero (position k is the first one).
    fractions = "|".join("0" * k + "[1-9]" + (f"[0-9]{{0,{n - 1 - k}}}" if k < n - 1 else "")
                         for k in range(n))
    return (f"^(?:{whole}(?:\\.[0-9]{{1,{n}}})?|{ceiling}(?:\\.0{{1,{n}}})?"
            f"|0\\.(?:{fractions}))$")


AMOUNT_PATTERN = amount_pattern(MAX_MINOR_UNITS)  # any currency's amount matches this one
_GRAMMAR = {units: re.compile(amount_pattern(units)) for units in set(MINOR_UNITS.values())}
_ANY_AMOUNT = re.compile(AMOUNT_PATTERN)
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class InvalidMoney(ValueError):
    """An amount or currency that breaks the rules; the message says which rule."""


def parse_amount(raw: object, currency: str) -> Decimal:
    """Return `raw` as a Decimal valid for `currency`, or raise InvalidMoney saying why."""
    units = MINOR_UNITS.get(currency)
    if units is None:
        raise InvalidMoney(f"unknown ISO 4217 currency code {currency!r}")
    if not isinstance(raw, str):
        raise InvalidMoney("amount must be a decimal string such as \"12.50\"")
    if _GRAMMAR[units].fullmatch(raw) is None:
        raise InvalidMoney(amount_error(raw, currency))
    return Decimal(raw)


def is_amount(raw: str) -> bool:
    """True when `raw` is an amount in some currency (the per-currency check comes later)."""
    return _ANY_AMOUNT.fullmatch(raw) is not None


def check_amount(amount: Decimal, currency: str) -> None:
    """Raise InvalidMoney unless `amount`, written out, follows the grammar for `currency`."""
    parse_amount(str(amount), currency)


def amount_error(raw: str, currency: str | None = None) -> str:
    """Only on the failure path: which rule the amount breaks, in words."""
    if len(raw) > 32 or _PLAIN.fullmatch(raw) is None:
        return ("amount must be a plain positive decimal such as \"12.50\" (digits and one "
                "point; no sign, exponent, spaces or separators)")
    whole = raw.partition(".")[0]
    value = Decimal(raw)
    if value <= 0:
        return "amount must be greater than 0"
    if value > MAX_AMOUNT:
        return f"amount must not exceed {MAX_AMOUNT}"
    if len(whole) > 1 and whole.startswith("0"):
        return "amount must not have leading zeros"
    if currency is None:
        return f"an amount has at most {MAX_MINOR_UNITS} decimal places"
    return f"{currency} allows at most {MINOR_UNITS[currency]} decimal places"


def canonical_amount(amount: Decimal, currency: str) -> str:
    """The amount written with exactly the currency's minor units ("12.5" USD -> "12.50")."""
    return str(amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency])))
