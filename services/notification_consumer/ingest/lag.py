"""Consumer lag per partition, judged over a sliding window the way Burrow does.

lag = log end offset - committed (stored) offset. Status per partition:
  OK     any observation in the window had zero lag (Burrow's rule: a consumer that caught
         up at least once in the window is keeping up), or lag is not growing and the
         committed offset moves;
  WARN   lag grew over the whole window while commits still move;
  STALL  the committed offset did not move over the window while lag > 0;
  STOP   nothing was ever committed for the partition while it has messages.
Lag in seconds is estimated from the window's log-end samples: how long ago the log end was
where the committed offset is now (kafka-lag-exporter's idea, at our sampling resolution):
the age of the oldest unprocessed record. Time to drain is the lag over the window's rate.
"""

import itertools
import time
from collections import deque
from dataclasses import dataclass

STATUS_ORDER = {"OK": 0, "WARN": 1, "STALL": 2, "STOP": 3}


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # wall clock seconds
    committed: int | None
    end: int


class LagWindow:
    def __init__(self, size: int) -> None:
        self.size = size
        self.samples: dict[int, deque[Sample]] = {}

    def add(self, partition: int, committed: int | None, end: int, at: float | None = None) -> None:
        window = self.samples.setdefault(partition, deque(maxlen=self.size))
        window.append(Sample(time.time() if at is None else at, committed, end))

    def status(self, partition: int) -> str:
        window = self.samples.get(partition)
        if not window:
            return "OK"
        last = window[-1]
        lag = last.end - (last.committed or 0)
        if lag <= 0 or any(s.end - (s.committed or 0) <= 0 for s in window):
            return "OK"
        if last.committed is None:
            return "STOP"
        if len(window) < 2:
            return "OK"
        first = window[0]
        if first.committed == last.committed:
            return "STALL"
        lags = [s.end - (s.committed or 0) for s in window]
        if all(b >= a for a, b in itertools.pairwise(lags)) and lags[-1] > lags[0]:
            return "WARN"
        return "OK"

    def lag_seconds(self, partition: int, now: float | None = None) -> float:
        window = self.samples.get(partition)
        if not window:
            return 0.0
        now = time.time() if now is None else now
        committed = window[-1].committed or 0
        if committed >= window[-1].end:
            return 0.0
        # The newest sample whose log end had not yet passed the committed offset.
        for sample in reversed(window):
            if sample.end <= committed:
                return max(0.0, now - sample.at)
        return max(0.0, now - window[0].at)  # older than the window: a lower bound

    def drain_seconds(self, partition: int) -> float | None:
        """The lag divided by the rate at which the stored offset moved over the window:
        0 when there is no lag, None while it has not moved (no rate to go by)."""
        window = self.samples.get(partition)
        if not window:
            return None  # not sampled yet: no rate, and the lag is not known here either
        last = window[-1]
        lag = last.end - (last.committed or 0)
        if lag <= 0:
            return 0.0
        rate = self.rate(partition)
        return lag / rate if rate else None

    def rate(self, partition: int) -> float | None:
        """Records per second by which the stored offset moved over the window (None before
        it has a stored offset at both ends of the window)."""
        window = self.samples.get(partition)
        if not window:
            return None
        first, last = window[0], window[-1]
        if first.committed is None or last.committed is None or last.at <= first.at:
            return None
        return max(0.0, (last.committed - first.committed) / (last.at - first.at))


def group_status(statuses: list[str]) -> str:
    return max(statuses, key=STATUS_ORDER.__getitem__, default="OK")
