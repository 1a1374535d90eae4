"""Late-published payments: the minutes the background window has left behind.

The background check compares a recent window of accepted time. A payment published long
after it was accepted (Kafka was down longer than the window) lands in a minute the window
no longer covers. Each run asks the API which accepted minutes received a publish since the
previous run (an index on the publish time, keyset pages, an overlap for late commits) and
follows each such minute until it holds nothing missing, in flight or altered, however long
that takes: a lost payment stays counted until it is processed or dead-lettered.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notification_consumer.reconcile.report import Report
from notification_consumer.reconcile.sources import ApiBuckets

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
OVERLAP = timedelta(minutes=1)  # a publish stamped before a run may commit after it
PAGES = 10  # of up to 1,000 minutes each, per run
MAX_FOLLOWED = 10_080  # a week of minutes


@dataclass
class Followed:
    checked_at: datetime | None = None
    missing: int = 0
    duplicates: int = 0
    mismatched: int = 0


class LateMinutes:
    def __init__(self, api: Callable[[], ApiBuckets], window: timedelta, per_run: int) -> None:
        self._api = api
        self.window = window
        self.per_run = per_run
        self.followed: dict[datetime, Followed] = {}
        self._published_through: datetime | None = None

    async def find(self, until: datetime) -> None:
        """Follow the minutes of payments published since the last run, accepted more than
        half a window ago: a later one stays in the window long enough to be judged there."""
        since = (self._published_through or until - self.window) - OVERLAP
        minutes = await self._api().published_minutes(since, until, until - self.window / 2,
                                                      pages=PAGES)
        self._published_through = until
        for minute in minutes:
            if minute not in self.followed and len(self.followed) >= MAX_FOLLOWED:
                log.error("too many late-published minutes to follow",
                          extra={"followed": len(self.followed), "minute": minute.isoformat()})
                break
            self.followed.setdefault(minute, Followed())

    async def check(self, window_start: datetime, now: datetime,
                    run: Callable[[datetime, datetime], Awaitable[Report]]) -> list[Report]:
        """Reconcile the followed minutes the window no longer covers, least recently
        checked first, at most `per_run`; forget a minute once nothing in it is unresolved."""
        behind = [m for m in self.followed if m < window_start]
        behind.sort(key=lambda m: (self.followed[m].checked_at is not None,
                                   self.followed[m].checked_at or m))
        reports = []
        for minute in behind[:self.per_run]:
            report = await run(minute, minute + MINUTE)
            reports.append(report)
            if report.balanced and report.in_flight == 0:
                del self.followed[minute]
                continue
            self.followed[minute] = Followed(now, report.missing, report.duplicates,
                                             report.mismatched)
        return reports

    def totals(self) -> tuple[int, int, int]:
        """Missing, duplicated and altered in the followed minutes, as last checked."""
        kept = self.followed.values()
        return (sum(f.missing for f in kept), sum(f.duplicates for f in kept),
                sum(f.mismatched for f in kept))
