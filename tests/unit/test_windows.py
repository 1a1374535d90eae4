"""`since`/`until` parsing: RFC 3339 with an offset only, bounded windows, 400 otherwise."""

from datetime import UTC, datetime, timedelta

import pytest

from payment_events.digest import MODULUS, fold
from service_kit.problems import Problem
from service_kit.windows import parse_instant, parse_window

DAY = timedelta(days=1)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-26T12:00:00Z", datetime(2026, 11, 26, 12, tzinfo=UTC)),
    ("2026-11-26t12:00:00z", datetime(2026, 11, 26, 12, tzinfo=UTC)),
    ("2026-11-26 13:30:00+01:30", datetime(2026, 11, 26, 12, tzinfo=UTC)),
    ("2026-11-26T12:00:00.5Z", datetime(2026, 11, 26, 12, 0, 0, 500_000, tzinfo=UTC)),
    ("2026-11-26T12:00:00.123456789-00:00",
     datetime(2026, 11, 26, 12, 0, 0, 123_456, tzinfo=UTC)),
])
def test_rfc3339_instants_become_utc(text: str, expected: datetime) -> None:
    assert parse_instant(text, "since") == expected


@pytest.mark.parametrize("text", [
    "2026-11-26T12:00:00", "2026-11-26", "yesterday", "2026-W48-4T12:00:00Z",
    "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-26T25:00:00Z",
    "2026-11-26T12:00:00+24:00", "2026-11-26T12:00:00Z\x00", "9" * 41, "",
])
def test_anything_else_is_a_400_naming_the_field(text: str) -> None:
    with pytest.raises(Problem) as caught:
        parse_instant(text, "until")
    assert caught.value.status == 400 and caught.value.field == "until"


def test_window_defaults_and_bounds() -> None:
    start, end = parse_window(None, None, default=DAY, longest=7 * DAY)
    assert end - start == DAY and end.tzinfo is UTC
    with pytest.raises(Problem, match="before"):
        parse_window("2026-11-26T12:00:00Z", "2026-11-26T12:00:00Z", default=DAY,
                     longest=DAY)
    with pytest.raises(Problem, match="at most"):
        parse_window("2026-11-01T00:00:00Z", "2026-11-26T00:00:00Z", default=DAY,
                     longest=7 * DAY)
    with pytest.raises(Problem) as caught:
        parse_window(None, "0001-01-01T00:00:00Z", default=DAY, longest=7 * DAY)
    assert caught.value.status == 400


def test_digest_folds_signed_sums_into_64_bits() -> None:
    assert fold(None) == "0" * 16
    assert fold(-1) == "f" * 16
    assert fold(MODULUS + 5) == fold(5) == "0000000000000005"
    # Order-independent and additive: a bucket's digest is the sum of its rows' hashes.
    hashes = [-(2**63), 2**63 - 1, 12345, -987654321]
    assert fold(sum(hashes)) == fold(sum(reversed(hashes)))
