"""The overview's numbers, from the sampler's ring: what the page and its live stream show."""

from typing import Any

from notification_consumer.console import trend
from notification_consumer.console.sampler import Sample

TREND_S = 15 * 60.0


def _lag(prev: Sample, cur: Sample) -> float | None:
    return float(cur.total_lag) if cur.total_lag is not None else None


def _events_per_s(prev: Sample, cur: Sample) -> float | None:
    if prev.processed is None or cur.processed is None or cur.at <= prev.at:
        return None
    return max(0.0, (cur.processed - prev.processed) / (cur.at - prev.at))


def view(samples: list[Sample]) -> dict[str, Any]:
    if not samples:
        return {"ready": False}
    last = samples[-1]
    start = trend.back(samples, TREND_S)
    dead_recent = (last.dead_letters - start.dead_letters
                   if start is not None and last.dead_letters is not None
                   and start.dead_letters is not None else None)
    rebalances_recent = last.rebalances - start.rebalances if start is not None else None
    lat = trend.latency(samples)
    return {
        "ready": True,
        "at": last.at,
        "events_per_s": trend.rate(samples, "processed"),
        "dead_letters_per_min": _per_min(trend.rate(samples, "dead_letters", 60.0)),
        "dead_letters_total": last.dead_letters,
        "dead_letters_15m": dead_recent,
        "processed_total": last.processed,
        "p50_ms": _ms(lat["p50"]), "p99_ms": _ms(lat["p99"]),
        "total_lag": last.total_lag,
        "oldest_unprocessed": duration(last.oldest_unprocessed_s),
        "drain": duration(last.drain_s),
        "oldest_unprocessed_s": last.oldest_unprocessed_s, "drain_s": last.drain_s,
        "parked": last.parked,
        "parked_oldest": duration(last.parked.get("oldest_park_s")) if last.parked else None,
        "group_status": last.group_status,
        "partitions": [{**p, "oldest_unprocessed": duration(p.get("lag_seconds")),
                        "drain": duration(p.get("drain_seconds"))} for p in last.partitions],
        "rebalances": int(last.rebalances),
        "rebalances_15m": int(rebalances_recent) if rebalances_recent is not None else None,
        "consumer": last.consumer,
        "api": last.api,
        "error": last.error,
        "lag_chart": trend.svg_chart(trend.series(samples, _lag, TREND_S), last.at, TREND_S,
                                     "total lag (messages), last 15 min"),
        "rate_chart": trend.svg_chart(trend.series(samples, _events_per_s, TREND_S), last.at,
                                      TREND_S, "events per second, last 15 min", "/s"),
        "samples": len(samples),
    }


def duration(seconds: float | None) -> str:
    """A time for people: "unknown" (no rate yet), "0 s", "42.5 s", "3 min 04 s", "2 h 05 min"."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None else None


def _per_min(per_s: float | None) -> float | None:
    return round(per_s * 60, 2) if per_s is not None else None
