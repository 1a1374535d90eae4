"""Publishes dead letters to the DLQ topic: every copy sent, then every acknowledgement
awaited. A copy the broker refuses is sent again as provenance only, so no record content
can stop the partition; a broker that is down raises PublishFailed (retried later)."""

import asyncio
import logging

from notification_consumer import metrics
from notification_consumer.dead_letters.wire import dead_letter_record, minimal_record
from notification_consumer.ingest.failures import RecordRejected
from notification_consumer.ingest.planning import DeadLetter
from notification_consumer.ingest.ports import KafkaLink

log = logging.getLogger(__name__)


class DeadLetterWriter:
    def __init__(self, link: KafkaLink, topic: str, group_id: str, max_bytes: int) -> None:
        self.link = link
        self.topic = topic
        self.group = group_id
        self.max_bytes = max_bytes

    async def publish(self, letters: list[tuple[int, DeadLetter]]) -> None:
        if not letters:
            return
        results = await asyncio.gather(*(self._send(row_id, letter) for row_id, letter in letters),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        for _, letter in letters:
            r = letter.record
            metrics.DEAD_LETTERS.labels(letter.reason).inc()
            log.warning("dead-lettered", extra={"partition": r.partition, "offset": r.offset,
                                                "reason": letter.reason,
                                                "error": letter.error_message[:200]})

    async def _send(self, row_id: int, letter: DeadLetter) -> None:
        record = dead_letter_record(letter, self.group, row_id, self.max_bytes)
        try:
            await self.link.send(self.topic, record)
        except RecordRejected as exc:
            log.warning("dead-letter copy refused; sending provenance only",
                        extra={"dead_letter_id": row_id, "error": repr(exc)[:300]})
            await self.link.send(self.topic, minimal_record(letter, self.group, row_id))
