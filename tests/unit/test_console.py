"""The console's own logic without I/O: quantiles and rates, charts, key rules, sessions,
reading stored dead-letter headers back."""

from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from notification_consumer.console import sessions as sessions_module
from notification_consumer.console.access import ConsoleKeys
from notification_consumer.console.sessions import Sessions, csrf_ok
from notification_consumer.console.trend import latency, quantile, rate, svg_chart
from notification_consumer.dead_letters.stored import display, letter_record, stored_headers

INF = float("inf")


@dataclass
class Point:
    at: float
    processed: int | None = None
    latency_buckets: list[tuple[float, float]] = field(default_factory=list)


def test_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.01, 50.0), (0.1, 90.0), (1.0, 100.0), (INF, 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.7, buckets) == pytest.approx(0.01 + 0.09 * 0.5)
    assert quantile(0.99, buckets) == pytest.approx(0.1 + 0.9 * 0.9)
    assert quantile(0.5, [(0.1, 0.0), (INF, 0.0)]) is None
    assert quantile(0.99, [(0.1, 1.0), (INF, 100.0)]) == 0.1  # only +Inf above: lower bound


def test_rate_and_latency_use_the_window_not_the_totals() -> None:
    samples = [Point(0, 100, [(0.1, 10.0), (INF, 10.0)]),
               Point(10, 150, [(0.1, 10.0), (1.0, 20.0), (INF, 20.0)]),
               Point(20, 250, [(0.1, 10.0), (1.0, 30.0), (INF, 30.0)])]
    assert rate(samples, "processed", 10) == pytest.approx(10.0)
    assert rate(samples[:1], "processed") is None
    assert rate([Point(0, None), Point(10, 5)], "processed") is None
    lat = latency(samples, 60)  # the last 20 observations all fell in (0.1, 1]
    assert lat["p50"] is not None and 0.1 < lat["p50"] <= 1.0


def test_chart_is_inline_svg_of_numbers_and_handles_no_points() -> None:
    svg = svg_chart([(90.0, 5.0), (100.0, 10.0)], now=100.0, window_s=900, title="lag")
    assert svg.startswith("<svg") and "<polyline" in svg and "script" not in svg
    assert "<polyline points=\"\"" in svg_chart([], 100.0, 900, "empty")


def test_key_rules_open_reader_admin() -> None:
    open_mode = ConsoleKeys(SecretStr(""), SecretStr(""))
    assert open_mode.for_header(None) is not None and open_mode.for_header(None).admin  # type: ignore[union-attr]
    keys = ConsoleKeys(SecretStr("reader"), SecretStr("boss"))
    assert keys.for_header(None) is None and keys.for_key("nope") is None
    reader, boss = keys.for_key("reader"), keys.for_key("boss")
    assert reader is not None and not reader.admin and "reader" not in (reader.key_scope or "")
    assert boss is not None and boss.admin
    # API_KEYS without ADMIN_API_KEYS: nobody may replay (the same rule as the REST API).
    only_readers = ConsoleKeys(SecretStr("reader"), SecretStr(""))
    assert not only_readers.for_key("reader").admin  # type: ignore[union-attr]


def test_sessions_are_opaque_bounded_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = ConsoleKeys(SecretStr("k"), SecretStr(""))
    access = keys.for_key("k")
    assert access is not None
    store = Sessions()
    sid, session = store.create(access, "k")
    assert sid != "k" and store.get(sid) is session and store.get("x" * 200) is None
    assert csrf_ok(session, session.csrf) and not csrf_ok(session, "forged")
    assert not csrf_ok(session, None)
    monkeypatch.setattr(sessions_module, "MAX_SESSIONS", 3)
    ids = [store.create(access, None)[0] for _ in range(3)]
    assert store.get(sid) is None and all(store.get(i) for i in ids)  # the oldest went
    store.end(ids[0])
    assert store.get(ids[0]) is None
    alive = store.get(ids[1])
    assert alive is not None
    alive.expires = 0
    assert store.get(ids[1]) is None


def test_stored_headers_survive_any_bytes_and_drop_dlq_headers() -> None:
    keys, values = [b"ce_id", b"dlq_reason", b"x-\x00\xff"], [b"\x00\xff", b"x", b""]
    assert stored_headers(keys, values) == [("ce_id", b"\x00\xff"), ("dlq_reason", b"x"),
                                            ("x-\\0\ufffd", b"")]
    record = letter_record(b"k", None, keys[:2], values[:2])
    assert record.value == b"" and record.headers == [("ce_id", b"\x00\xff")]
    assert display(b"\xff\x00") == "ff 00" and display("é".encode()) == "é"
    assert display(b"a" * 10, limit=3) == "aaa …"
