"""Record-at-a-time isolation: after a batch fails for a reason that is not an outage, each
record is written alone, so the one that fails is found and the others go through.

A failing record is retried (the batch is rewound and backs off) and dead-lettered when
  - it failed MAX_ATTEMPTS times for a reason that is its own (see failures.py), or
  - it has held its partition for RECORD_HOLD_MAX_S while PostgreSQL and Kafka answered a
    probe, whatever the error (a healthy dependency does not fail one record for ever).
A transient failure while a dependency is down is an outage: nothing is counted, the batch
is retried later, nothing is skipped.
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from notification_consumer.ingest.failures import Fenced, is_transient
from notification_consumer.ingest.planning import BatchPlan, DeadLetter, plan_batch
from notification_consumer.ingest.ports import Batch, WriteOutcome
from notification_consumer.store.text import safe_text

log = logging.getLogger(__name__)
Write = Callable[[BatchPlan], Awaitable[WriteOutcome | None]]  # None: partitions revoked
Done = Callable[[dict[tuple[str, int], int], WriteOutcome], None]
MAX_TRACKED = 10_000


@dataclass(slots=True)
class _Tries:
    count: int
    first_at: float


@dataclass(frozen=True, slots=True)
class Rewind:
    """What is left to retry, why, and whether it is an outage (a dependency is down)."""

    remaining: Batch
    cause: BaseException
    outage: bool


class Isolation:
    def __init__(self, max_attempts: int, hold_max_s: float,
                 healthy: Callable[[], Awaitable[bool]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_attempts = max_attempts
        self.hold_max_s = hold_max_s
        self.healthy = healthy
        self.clock = clock
        self.tries: dict[tuple[str, int, int], _Tries] = {}

    async def run(self, batch: Batch, write: Write, done: Done) -> Rewind | None:
        """Write each record alone. Returns a Rewind when the rest must wait, else None
        (all written, or the partitions were revoked). Fenced propagates."""
        pending = {tp: list(recs) for tp, recs in batch.items()}
        for tp, recs in pending.items():
            while recs:
                record = recs[0]
                key = (tp.topic, tp.partition, record.offset)
                offsets = {(tp.topic, tp.partition): record.offset + 1}
                try:
                    outcome = await write(plan_batch([record]))
                except Fenced:
                    raise
                except Exception as exc:  # noqa: BLE001 - judged right below
                    verdict = await self._judge(key, exc)
                    log.warning("record failed", extra={
                        "partition": tp.partition, "offset": record.offset,
                        "verdict": verdict, "error": repr(exc)[:500]})
                    if verdict != "dead_letter":
                        left = {t: r for t, r in pending.items() if r}
                        return Rewind(left, exc, outage=verdict == "outage")
                    letter = DeadLetter(record, "processing_failed", type(exc).__name__,
                                        safe_text(str(exc), 2000),
                                        max(1, self.tries[key].count))
                    try:
                        outcome = await write(BatchPlan(dead_letters=[letter],
                                                        next_offsets=offsets))
                    except Fenced:
                        raise
                    except Exception as again:  # noqa: BLE001 - retried; the table write cannot fail on content
                        left = {t: r for t, r in pending.items() if r}
                        return Rewind(left, again, outage=is_transient(again))
                if outcome is None:
                    return None
                self.tries.pop(key, None)
                recs.pop(0)
                done(offsets, outcome)
        return None

    async def _judge(self, key: tuple[str, int, int], exc: BaseException) -> str:
        transient = is_transient(exc)
        if transient and not await self.healthy():
            return "outage"
        if len(self.tries) > MAX_TRACKED:
            self.tries.clear()
        tries = self.tries.setdefault(key, _Tries(0, self.clock()))
        held = self.clock() - tries.first_at >= self.hold_max_s
        if transient:
            # Not counted as an attempt: after a restart, pooled connections fail one by one
            # while a probe on a fresh one succeeds. Only the hold bound applies.
            return "dead_letter" if held else "retry"
        tries.count += 1
        return "dead_letter" if tries.count >= self.max_attempts or held else "retry"
