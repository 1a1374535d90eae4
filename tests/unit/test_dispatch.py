"""The dispatcher: events handed to the producer in submission order, each ack marked with its
placement, nothing dropped by a stop while a record is being handed over."""

import asyncio
from uuid import UUID, uuid4

from aiokafka.structs import RecordMetadata, TopicPartition

from payment_events.codec import KafkaRecord
from service_kit.errors import PublishFailed
from transaction_api.outbox.dispatch import Dispatcher


class SlowProducer:
    """Publisher's part the dispatcher uses: handing a record over takes a while (the first
    send waits for the topic's metadata); the ack comes with a placement."""

    def __init__(self, healthy: bool = True) -> None:
        self.healthy = healthy
        self.handed: list[bytes] = []
        self.tripped = 0

    async def enqueue(self, record: KafkaRecord) -> "asyncio.Future[RecordMetadata]":
        if not self.healthy:
            raise PublishFailed("down")
        await asyncio.sleep(0.02)
        self.handed.append(record.value)
        ack: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        offset = len(self.handed) - 1
        ack.set_result(RecordMetadata("t", 3, TopicPartition("t", 3), offset, -1, 0, 0))
        return ack

    def trip(self) -> None:
        self.tripped += 1


def record(n: int) -> KafkaRecord:
    return KafkaRecord(b"payer", str(n).encode(), [])


async def test_a_stop_right_after_a_submit_still_hands_the_record_over() -> None:
    producer, marks = SlowProducer(), list[tuple[UUID, int | None, int | None]]()
    dispatcher = Dispatcher(producer, lambda *m: marks.append(m))  # type: ignore[arg-type]
    dispatcher.start()
    ids = [uuid4() for _ in range(3)]
    for n, event_id in enumerate(ids):
        dispatcher.submit(event_id, record(n))
    await asyncio.sleep(0.05)  # by now the queue is empty and the last one is being handed over
    await dispatcher.stop(5)
    assert producer.handed == [b"0", b"1", b"2"]  # all of them, in submission order
    assert marks == [(event_id, 3, n) for n, event_id in enumerate(ids)]


async def test_with_kafka_failing_nothing_is_queued_and_the_relay_is_left_to_it() -> None:
    producer, marks = SlowProducer(healthy=False), list[object]()
    dispatcher = Dispatcher(producer, lambda *m: marks.append(m))  # type: ignore[arg-type]
    dispatcher.start()
    dispatcher.submit(uuid4(), record(0))
    await dispatcher.stop(5)
    assert producer.handed == [] and marks == []
