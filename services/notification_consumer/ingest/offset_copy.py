"""Kafka's copy of the stored offsets, for lag tools. The database holds the truth; this copy
is sent by a background task so the next batch never waits for it. A failed commit is
re-queued (never dropped), and the copy is flushed on revocation and on stop."""

import asyncio
import logging

from aiokafka.structs import TopicPartition

from notification_consumer.ingest.ports import KafkaLink

log = logging.getLogger(__name__)


class OffsetCopy:
    def __init__(self, link: KafkaLink, retry_s: float = 1.0) -> None:
        self.link = link
        self.retry_s = retry_s
        self.pending: dict[TopicPartition, int] = {}
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, offsets: dict[tuple[str, int], int]) -> None:
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            self.pending[tp] = max(offset, self.pending.get(tp, 0))
        self._wanted.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kafka-offset-copy")

    async def stop(self) -> None:
        """Stop the background task, then send what is left (the last copy before leaving)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def flush(self, only: set[TopicPartition] | None = None) -> bool:
        """Commit what is pending (for `only`, if given). Offsets of partitions no longer
        assigned are dropped: their new owner commits them. Returns False on failure."""
        chosen = {tp: o for tp, o in self.pending.items() if only is None or tp in only}
        if not chosen:
            return True
        for tp in chosen:
            del self.pending[tp]
        assigned = self.link.assignment()
        commit = {tp: o for tp, o in chosen.items() if tp in assigned}
        if not commit:
            return True
        try:
            await self.link.commit(commit)
        except Exception as exc:  # noqa: BLE001 - the copy is retried, the truth is stored
            for tp, offset in commit.items():
                self.pending[tp] = max(offset, self.pending.get(tp, 0))
            log.info("kafka offset copy failed; will retry", extra={"error": repr(exc)[:300]})
            return False
        return True

    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            if not await self.flush():
                await asyncio.sleep(self.retry_s)
                self._wanted.set()
