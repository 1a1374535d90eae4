"""Sends a record back to the main topic (dead-letter replay) through the consumer's producer."""

from notification_consumer.ingest.failures import RecordRejected
from notification_consumer.ingest.ports import KafkaLink
from payment_events.codec import KafkaRecord
from service_kit.errors import PublishFailed


class Republisher:
    def __init__(self, link: KafkaLink, topic: str) -> None:
        self.link = link
        self.topic = topic

    async def republish(self, record: KafkaRecord) -> None:
        """Raises PublishFailed when Kafka did not take the record."""
        try:
            await self.link.send(self.topic, record)
        except RecordRejected as exc:
            raise PublishFailed(str(exc)) from exc
