"""The loop's release step: applies the records of released keys, between batches.

Who releases: only the partition's owner, in its own fenced transaction, under the batch lock,
so a release never interleaves with a batch of the same partition. A discard or a replay only
marks the key released (any process may do that); the owner applies its parked records in
offset order, a chunk per transaction, until none is left, and only then is the key no longer
parked. New records of the key that arrive meanwhile are parked behind the older ones. A crash
mid-release loses nothing and applies nothing twice: each chunk commits with its own removal
from the parked records, and the event id's primary key stands behind that.
"""

import logging
import time
from collections.abc import Callable
from typing import Protocol

from notification_consumer import metrics
from notification_consumer.ingest.failures import Fenced
from notification_consumer.ingest.ownership import ClaimHost, Ownership
from notification_consumer.ingest.ports import PublishLetters, WriteOutcome

log = logging.getLogger(__name__)


class ReleaseHost(ClaimHost, Protocol):
    ownership: Ownership

    def committed(self, offsets: dict[tuple[str, int], int], outcome: WriteOutcome) -> None: ...


class ReleaseStep:
    def __init__(self, owner: ReleaseHost, topic: str, publish: PublishLetters,
                 poll_s: float, keys: int, records: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.owner = owner
        self.topic = topic
        self.publish = publish
        self.poll_s = poll_s
        self.keys = keys
        self.records = records
        self.clock = clock
        self._next = 0.0

    async def maybe_run(self) -> None:
        """At most every `poll_s` while nothing is released; at once again after a chunk."""
        if self.clock() < self._next:
            return
        self._next = self.clock() + self.poll_s
        owner = self.owner
        partitions = sorted(tp.partition for tp in owner.link.assignment()
                            if tp not in owner.ownership.unclaimed and tp.topic == self.topic)
        if not partitions:
            return
        async with owner.batch_lock:
            epoch = owner.epoch
            try:
                outcome = await owner.store.release(self.topic, partitions,
                                                    owner.ownership.fence, self.publish,
                                                    self.keys, self.records)
            except Fenced as exc:
                log.warning("release fenced: partitions have a newer owner",
                            extra={"error": str(exc)})
                return
            except Exception as exc:  # noqa: BLE001 - retried on the next poll
                log.warning("release failed; will retry", extra={"error": repr(exc)[:500]})
                metrics.RELEASE_FAILURES.inc()
                return
        if outcome is None:
            return
        metrics.RELEASED.inc(outcome.released)
        log.info("parked records released", extra={
            "released": outcome.released, "applied": len(outcome.inserted),
            "dead_letters": len(outcome.dead_lettered), "epoch": epoch})
        owner.committed({}, outcome)
        self._next = 0.0  # more may be waiting
