"""Decompression is bounded: a gzip batch a thousand times smaller than its records, past the
consumer's limit, is dead-lettered with its provenance (topic, partition, offset range,
reason) without being decompressed; the partition's next records are processed, and the
consumer's memory does not grow by the batch's expansion."""

import re
from pathlib import Path

from aiokafka import AIOKafkaProducer

from service_kit.kafka import stop_client
from tests.faults.harness import make_events
from tests.support import BOOTSTRAP, consumer_app, db_rows, in_process, unique, wait_processed

MiB = 1024 * 1024
RECORDS, RECORD_BYTES = 40, 1_000_000
LIMIT = 2 * MiB


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def restart_peak() -> int:
    """Restart this process's peak resident size (VmHWM) from now; the resident size now."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_kib("VmRSS")


async def send_bomb(topic: str) -> int:
    """40 MB of zeros as one gzip batch on partition 0; its first offset."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, compression_type="gzip",
                                linger_ms=500, max_batch_size=64 * MiB,
                                max_request_size=2 * MiB)
    await producer.start()
    try:
        sent = [await producer.send(topic, value=bytes(RECORD_BYTES), partition=0)
                for _ in range(RECORDS)]
        metas = [await delivery for delivery in sent]
    finally:
        await stop_client(producer)
    offsets = [int(m.offset) for m in metas]
    assert offsets == list(range(offsets[0], offsets[0] + RECORDS)), "not one batch"
    return offsets[0]


async def test_an_expanding_batch_is_dead_lettered_and_the_partition_moves_on(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    first = await send_bomb(main)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        events = make_events(3)
        for _, value, key, headers in events:
            await producer.send_and_wait(main, value=value, key=key, headers=headers,
                                         partition=0)
    finally:
        await stop_client(producer)
    wanted = {e[0] for e in events}

    baseline = restart_peak()
    app = consumer_app(database_url, main, dlq, unique("group"),
                       consumer_max_decompressed_batch_bytes=LIMIT)
    async with in_process(app):
        await wait_processed(database_url, main, wanted, "the records after the batch")
    growth_mib = (status_kib("VmHWM") - baseline) / 1024

    letters = await db_rows(database_url, "SELECT * FROM notification_consumer.dead_letters "
                            "WHERE topic = $1", main)
    [letter] = letters
    last = first + RECORDS - 1
    assert (letter["partition"], letter["offset"]) == (0, last)
    assert letter["reason"] == "batch_too_large_decompressed"
    assert f"offsets {first}..{last}" in letter["error_message"]
    assert f"past {LIMIT} bytes" in letter["error_message"]
    size = re.search(r"\((\d+) bytes compressed\)", letter["error_message"])
    assert size and 500 * int(size[1]) <= RECORDS * RECORD_BYTES, "not a 500x expansion"
    # Decompressed, the batch's 40 MB would be held twice (the batch, then each record's
    # value); the consumer's peak must stay far below even one copy.
    assert growth_mib < 20, f"the consumer's peak memory grew {growth_mib:.0f} MiB"
