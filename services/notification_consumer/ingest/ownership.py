"""Which partitions this member may write: claimed on assignment (group generation + member
id stored with the offsets), resumed from the stored offsets, released on revocation.

A partition whose claim fails (database down) or is refused (a newer generation holds it)
is paused, so it cannot block the others, and its claim is retried every few seconds.
"""

import asyncio
import logging
import time
from typing import Any, Protocol

from aiokafka.structs import TopicPartition

from notification_consumer import metrics
from notification_consumer.ingest.health import HealthState
from notification_consumer.ingest.offset_copy import OffsetCopy
from notification_consumer.ingest.ports import EffectStore, Fence, KafkaLink

log = logging.getLogger(__name__)
CLAIM_RETRY_S = 2.0


class ClaimHost(Protocol):
    """The loop's state a claim reads and moves: its epoch, batch lock, clients and health."""

    epoch: int
    batch_lock: asyncio.Lock
    link: KafkaLink
    store: EffectStore
    offsets: OffsetCopy
    state: HealthState


class Ownership:
    """The loop's rebalance callbacks (RebalanceCallbacks) and its partition claims."""

    def __init__(self, owner: ClaimHost) -> None:
        self.owner = owner
        self.fence = Fence(-1, "")
        self.unclaimed: set[TopicPartition] = set()
        self._last_try = 0.0
        self._claiming = asyncio.Lock()

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        metrics.REBALANCES.inc()
        self.owner.epoch += 1
        self.fence = self.owner.link.fence()
        self.unclaimed = set(assigned)
        # No write may use the new fence before the claim is stored; a batch fetched before
        # the claim's seeks is dropped (the second bump), its partitions were sought.
        async with self.owner.batch_lock:
            await self.claim()
            self.owner.epoch += 1

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        self.owner.epoch += 1  # batches fetched but not yet written are dropped
        async with self.owner.batch_lock:
            pass  # the batch in flight has stored its offsets with its effects
        await self.owner.offsets.flush(revoked)
        partitions = {tp.partition for tp in revoked}
        self.owner.state.forget(partitions)
        metrics.forget_partitions(partitions)
        self.unclaimed -= revoked
        log.info("partitions revoked", extra={"partitions": sorted(partitions)})

    def membership(self, group_instance_id: str) -> dict[str, Any]:
        """This member's own view of the group: the member id and generation its partition
        claims carry (DescribeGroups does not report the generation)."""
        fence = self.fence
        return {"member_id": fence.member_id or None,
                "generation": fence.generation if fence.generation >= 0 else None,
                "group_instance_id": group_instance_id or None}

    def lost(self, partitions: set[TopicPartition]) -> None:
        """A write was fenced: stop fetching these until a claim succeeds again (the claim
        seeks them to the stored offsets)."""
        self.unclaimed |= partitions
        self.owner.link.pause(partitions)

    async def retry_claims(self) -> None:
        if self.unclaimed and time.monotonic() - self._last_try >= CLAIM_RETRY_S:
            await self.claim()

    async def claim(self) -> None:
        # One claim at a time: a retried claim still in flight when a new assignment arrives
        # must not pause or resume partitions of the new assignment with its stale answer.
        async with self._claiming:
            fence = self.fence
            self._last_try = time.monotonic()
            wanted = sorted(self.unclaimed & self.owner.link.assignment())
            self.unclaimed = set(wanted)
            if not wanted:
                return
            try:
                stored = await self.owner.store.claim(wanted, fence)
            except Exception as exc:  # noqa: BLE001 - retried by the loop; paused meanwhile
                log.warning("could not claim partitions", extra={"error": repr(exc)[:300]})
                self.owner.state.problem("store", f"claim failed: {exc!r}")
                if fence == self.fence:
                    self.owner.link.pause(set(wanted))
                return
            fresh = [tp for tp in wanted if tp.partition in stored
                     and stored[tp.partition] is None]
            starts = await self.owner.link.beginning_offsets(fresh) if fresh else {}
            if fence != self.fence:
                return  # a newer assignment claims for itself
            self._apply(wanted, stored, starts)

    def _apply(self, wanted: list[TopicPartition], stored: dict[int, int | None],
               starts: dict[TopicPartition, int]) -> None:
        """No await in here: the seeks and the caller's epoch bump happen together, so a
        batch fetched before them is dropped and every one fetched after starts where the
        seek put it."""
        link = self.owner.link
        got = {tp for tp in wanted if tp.partition in stored}
        copy: dict[tuple[str, int], int] = {}
        for tp in got:
            # Every claimed partition is sought, so records fetched before the claim can
            # never be skipped. Nothing stored yet: the beginning, as for a new group.
            offset = stored[tp.partition]
            if offset is None:
                link.seek(tp, starts[tp])
            else:
                link.seek(tp, offset)
                copy[(tp.topic, tp.partition)] = offset
        # Kafka's copy catches up on assignment, even for a partition with nothing new.
        self.owner.offsets.add(copy)
        link.resume(got)
        link.pause(set(wanted) - got)
        self.unclaimed -= got
        if got:
            self.owner.state.clear("store")
        log.info("partitions claimed", extra={
            "generation": self.fence.generation, "claimed": sorted(tp.partition for tp in got),
            "refused": sorted(tp.partition for tp in set(wanted) - got),
            "resume_at": {str(tp.partition): stored[tp.partition] for tp in got}})
