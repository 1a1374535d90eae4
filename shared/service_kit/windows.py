"""Time windows in query strings (`since`/`until`, RFC 3339), validated into aware UTC."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query

from service_kit.problems import Problem

# Date, 'T' or space, time with optional fraction, then 'Z' or an offset: RFC 3339 only
# (fromisoformat alone also takes week dates, naive times and other ISO 8601 shapes).
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


Instant = Annotated[str | None, Query(max_length=40,
                                      description="RFC 3339, e.g. 2026-11-26T12:00:00Z")]


def parse_instant(value: str, field: str) -> datetime:
    if len(value) > 40 or not _RFC3339.match(value):
        raise Problem(400, f"{field} must be an RFC 3339 time with an offset, "
                           "e.g. 2026-11-26T12:00:00Z", field=field)
    text = value.upper().replace(" ", "T").replace("Z", "+00:00")
    whole, dot, rest = text.partition(".")
    if dot:  # Python keeps microseconds: cut a longer fraction, keep the offset
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{whole}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end():]}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise Problem(400, f"{field}: {exc}", field=field) from exc


def parse_window(since: str | None, until: str | None, *, default: timedelta,
                 longest: timedelta) -> tuple[datetime, datetime]:
    """[since, until): until defaults to now, since to `default` before until."""
    end = parse_instant(until, "until") if until is not None else datetime.now(UTC)
    try:
        start = parse_instant(since, "since") if since is not None else end - default
    except OverflowError as exc:
        raise Problem(400, "until is too early for the default window", field="until") from exc
    if start >= end:
        raise Problem(400, "since must be before until", field="since")
    if end - start > longest:
        raise Problem(400, f"the window may span at most {longest}", field="since")
    return start, end
