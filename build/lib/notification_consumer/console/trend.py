"""Pure arithmetic over overview samples (rates, histogram quantiles) and server-side SVG
trend charts, so the page needs no chart library and no JavaScript to show a trend."""

import itertools
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Point(Protocol):
    @property
    def at(self) -> float: ...


def back(samples: Sequence[Any], seconds: float) -> Any | None:
    """The newest sample at least `seconds` older than the last one (else the oldest)."""
    if len(samples) < 2:
        return None
    last = samples[-1]
    for sample in reversed(samples):
        if last.at - sample.at >= seconds:
            return sample
    return samples[0]


def rate(samples: Sequence[Any], attr: str, seconds: float = 10.0) -> float | None:
    before = back(samples, seconds)
    if before is None:
        return None
    last = samples[-1]
    a, b = getattr(before, attr), getattr(last, attr)
    if a is None or b is None or last.at <= before.at:
        return None
    elapsed: float = last.at - before.at
    return max(0.0, float(b - a) / elapsed)


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile on cumulative (le, count) buckets."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def latency(samples: Sequence[Any], seconds: float = 60.0) -> dict[str, float | None]:
    """p50/p99 of POST-to-committed latency over the last `seconds` (bucket deltas)."""
    before = back(samples, seconds)
    if before is None:
        return {"p50": None, "p99": None}
    old = dict(before.latency_buckets)
    delta = [(le, count - old.get(le, 0.0)) for le, count in samples[-1].latency_buckets]
    return {"p50": quantile(0.5, delta), "p99": quantile(0.99, delta)}


def series(samples: Sequence[Any], value: Callable[[Any, Any], float | None],
           window_s: float) -> list[tuple[float, float]]:
    """(time, value) over the last window; `value(previous, current)` may return None."""
    if not samples:
        return []
    start = samples[-1].at - window_s
    points = []
    for prev, cur in itertools.pairwise(samples):
        if cur.at >= start:
            v = value(prev, cur)
            if v is not None:
                points.append((cur.at, v))
    return points


def svg_chart(points: list[tuple[float, float]], now: float, window_s: float, title: str,
              unit: str = "", width: int = 560, height: int = 140) -> str:
    """A line chart as inline SVG; only numbers and the fixed title reach the markup."""
    pad_l, pad_b, pad_t = 48, 18, 16
    top = max((v for _, v in points), default=0.0)
    top = top * 1.1 if top > 0 else 1.0
    inner_w, inner_h = width - pad_l - 8, height - pad_b - pad_t

    def xy(t: float, v: float) -> str:
        x = pad_l + inner_w * (1 - (now - t) / window_s)
        y = pad_t + inner_h * (1 - v / top)
        return f"{max(pad_l, x):.1f},{y:.1f}"

    line = " ".join(xy(t, v) for t, v in points)
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{title}" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="{pad_l}" y="11" class="t">{title}</text>'
        f'<line x1="{pad_l}" y1="{pad_t + inner_h}" x2="{width - 8}" y2="{pad_t + inner_h}" '
        'class="axis"/>'
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + inner_h}" class="axis"/>'
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" class="y">{_short(top)}{unit}</text>'
        f'<text x="{pad_l - 4}" y="{pad_t + inner_h}" class="y">0</text>'
        f'<text x="{pad_l}" y="{height - 4}" class="x">-{int(window_s // 60)} min</text>'
        f'<text x="{width - 8}" y="{height - 4}" class="x end">now</text>'
        f'<polyline points="{line}" class="line"/></svg>'
    )


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:.3g}"
