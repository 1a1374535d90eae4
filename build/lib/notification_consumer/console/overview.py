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
        "group_status": last.group_status,
        "partitions": last.partitions,
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


def _ms(seconds: float | None) -> float | None:
    return round(seconds * 1000, 1) if seconds is not None else None


def _per_min(per_s: float | None) -> float | None:
    return round(per_s * 60, 2) if per_s is not None else None
