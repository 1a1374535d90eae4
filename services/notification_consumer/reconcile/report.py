"""Reconciliation: is every payment the API accepted processed here exactly once?

Compare per-minute buckets (count + id digest + payload digest) with the API's; only a
bucket that differs is compared id by id. An accepted payment not processed here is
dead-lettered (its id is in our dead letters), parked (stored behind a parked key until a
release), in flight (not yet published, or published
recently enough that the current lag or the grace period explains it) or else missing.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.reconcile.sources import (
    Accepted,
    ApiBuckets,
    Bucket,
    dead_lettered,
    duplicate_effects,
    our_bucket,
    our_buckets,
    parked,
)

MAX_IDS = 100
MINUTE = timedelta(minutes=1)


@dataclass
class Report:
    since: datetime
    until: datetime
    accepted: int = 0
    processed: int = 0
    dead_lettered: int = 0
    in_flight: int = 0
    parked: int = 0  # stored behind a parked key until an operator releases it
    missing: int = 0
    duplicates: int = 0
    mismatched: int = 0
    # Processed here, never accepted by the API in this window (e.g. produced to the topic
    # by something else): reported, not a failure of the pipeline's promise.
    unaccepted: int = 0
    buckets: int = 0
    buckets_compared_by_id: int = 0
    missing_ids: list[str] = field(default_factory=list)
    mismatched_ids: list[str] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.missing == 0 and self.duplicates == 0 and self.mismatched == 0

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "balanced": self.balanced, "accepted": self.accepted,
                "processed": self.processed, "dead_lettered": self.dead_lettered,
                "in_flight": self.in_flight, "parked": self.parked,
                "missing": self.missing,
                "duplicates": self.duplicates, "mismatched": self.mismatched,
                "unaccepted": self.unaccepted, "buckets": self.buckets,
                "buckets_compared_by_id": self.buckets_compared_by_id,
                "missing_ids": self.missing_ids, "mismatched_ids": self.mismatched_ids,
                "duplicate_ids": self.duplicate_ids}


async def reconcile(engine: AsyncEngine, api: ApiBuckets, since: datetime, until: datetime,
                    *, now: datetime, settle: timedelta) -> Report:
    """`settle`: how long after publication an unprocessed event still counts as in flight
    (the grace period plus the consumer's current lag in seconds)."""
    report = Report(since, until)

    async def ours_() -> dict[datetime, Bucket]:
        async with engine.connect() as conn:
            return await our_buckets(conn, since, until)

    async def duplicates_() -> tuple[int, list[UUID]]:
        async with engine.connect() as conn:
            return await duplicate_effects(conn, since, until)

    # The three reads are independent: each side computes its buckets at the same time.
    theirs, ours, (report.duplicates, dup_ids) = await asyncio.gather(
        api.buckets(since, until), ours_(), duplicates_())
    async with engine.connect() as conn:
        report.duplicate_ids = [str(i) for i in dup_ids[:MAX_IDS]]
        report.buckets = len(theirs.keys() | ours.keys())
        unprocessed: dict[UUID, Accepted] = {}
        for minute in sorted(theirs.keys() | ours.keys()):
            a, b = theirs.get(minute), ours.get(minute)
            if a is not None and a == b:
                report.accepted += a.count
                report.processed += a.count
                continue
            report.buckets_compared_by_id += 1
            start, end = max(minute, since), min(minute + MINUTE, until)
            accepted = {i: r for i, r in (await api.bucket(minute)).items()
                        if start <= r.accepted_at < end} if a is not None else {}
            processed = await our_bucket(conn, start, end)
            report.accepted += len(accepted)
            report.processed += len(processed.keys() & accepted.keys())
            report.unaccepted += len(processed.keys() - accepted.keys())
            for event_id, row in accepted.items():
                if event_id not in processed:
                    unprocessed[event_id] = row
                elif processed[event_id] != row.payload_hash:
                    report.mismatched += 1
                    if len(report.mismatched_ids) < MAX_IDS:
                        report.mismatched_ids.append(str(event_id))
        letters = await dead_lettered(conn, list(unprocessed))
        waiting = await parked(conn, list(unprocessed))
    for event_id, row in sorted(unprocessed.items(), key=lambda kv: kv[1].accepted_at):
        if event_id in letters:
            report.dead_lettered += 1
        elif event_id in waiting:
            report.parked += 1
        elif row.published_at is None or row.published_at > now - settle:
            report.in_flight += 1
        else:
            report.missing += 1
            if len(report.missing_ids) < MAX_IDS:
                report.missing_ids.append(str(event_id))
    return report
