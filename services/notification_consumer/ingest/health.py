"""What the consumer says about itself: `health()` for readiness, /stats and the monitor."""

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Health:
    connected: bool
    degraded: str | None
    assigned: tuple[int, ...]
    seconds_since_fetch: float
    # partition -> seconds since this process last stored its offsets (owned partitions only)
    since_commit: dict[int, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"degraded": self.degraded, "assigned_partitions": list(self.assigned),
                "seconds_since_fetch": round(self.seconds_since_fetch, 3)}


class HealthState:
    """Mutable state behind Health. Problems are kept per source ("kafka", "store", ...) so
    a successful fetch clears a fetch problem without hiding a database outage."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {"kafka": "starting"}
        self.last_fetch = time.monotonic()
        self.last_commit: dict[int, float] = {}

    def problem(self, source: str, detail: str) -> None:
        self.problems[source] = detail[:300]

    def clear(self, source: str) -> None:
        self.problems.pop(source, None)

    def fetched(self) -> None:
        self.last_fetch = time.monotonic()
        self.clear("kafka")

    def committed(self, partitions: set[int]) -> None:
        now = time.monotonic()
        for p in partitions:
            self.last_commit[p] = now

    def forget(self, partitions: set[int]) -> None:
        for p in partitions:
            self.last_commit.pop(p, None)

    def snapshot(self, connected: bool, assigned: set[int]) -> Health:
        now = time.monotonic()
        degraded = "; ".join(f"{k}: {v}" for k, v in sorted(self.problems.items())) or None
        return Health(connected, degraded, tuple(sorted(assigned)), now - self.last_fetch,
                      {p: now - t for p, t in self.last_commit.items() if p in assigned})
