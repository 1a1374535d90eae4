"""Batches compressed with any codec Kafka allows (gzip, snappy, lz4, zstd) are read and
processed. A producer's choice of codec is not ours to make; a codec the consumer could not
decode would make every fetch of that partition fail, for good."""

from uuid import UUID

import pytest
from aiokafka import AIOKafkaProducer

from service_kit.kafka import stop_client
from tests.faults.harness import make_events
from tests.support import BOOTSTRAP, consumer_app, db_rows, in_process, unique, wait_processed


async def test_every_codec_kafka_allows_is_read(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    sent: dict[str, set[UUID]] = {}
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        # A linger so each codec's records share a batch: compression is per batch.
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, compression_type=codec,
                                    linger_ms=50)
        await producer.start()
        try:
            events = make_events(5)
            for _, value, key, headers in events:
                await producer.send(main, value=value, key=key, headers=headers, partition=0)
            await producer.flush()
        finally:
            await stop_client(producer)
        sent[codec] = {e[0] for e in events}
    wanted = set().union(*sent.values())
    async with in_process(consumer_app(database_url, main, dlq, unique("group"))):
        await wait_processed(database_url, main, wanted, "every codec's events processed")
    letters = await db_rows(database_url, "SELECT count(*) AS n FROM notification_consumer."
                            "dead_letters WHERE topic = $1", main)
    assert letters[0]["n"] == 0


@pytest.mark.parametrize("codec", ["snappy", "lz4", "zstd"])
def test_the_codecs_are_installed(codec: str) -> None:
    from aiokafka import codec as codecs

    assert getattr(codecs, f"has_{codec}")(), f"{codec} cannot be decoded: cramjam is missing"
