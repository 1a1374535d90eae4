"""Record batches no well-behaved client writes: header keys that are not UTF-8.

Kafka's clients encode a header key from a string, so none can send such a key; the broker
accepts one (it does not check). A batch is built here with aiokafka's builder and a placeholder
key of the same length, then the placeholder's bytes are swapped for the raw ones and the
checksum recomputed (optionally gzip-compressed afterwards, as a compressing producer sends it).
"""

import asyncio
import struct
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.codec import gzip_encode
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.util import calc_crc32c

HEADER_SIZE = 61  # a v2 batch's fixed header
LENGTH_AT, CRC_AT, ATTRIBUTES_AT, RECORDS_COUNT_AT = 8, 17, 21, 57
GZIP = 1

Record = tuple[bytes | None, bytes, list[tuple[bytes, bytes]]]  # key, value, raw headers


def forged_batch(records: list[Record], gzip: bool = False) -> bytearray:
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 16 * 1024 * 1024)
    swaps: list[tuple[bytes, bytes]] = []
    for offset, (key, value, headers) in enumerate(records):
        named: list[tuple[str, bytes | None]] = []
        for raw, header_value in headers:
            try:
                named.append((raw.decode("utf-8"), header_value))
            except UnicodeDecodeError:
                assert len(raw) >= 4, "a forged key needs at least 4 bytes"
                stand_in = "\x7f" + f"{len(swaps):0{len(raw) - 1}d}"
                swaps.append((stand_in.encode(), raw))
                named.append((stand_in, header_value))
        builder.append(offset, None, key, value, named)
    batch = bytearray(builder.build())
    for placeholder, raw in swaps:
        at = batch.find(placeholder, HEADER_SIZE)
        assert at > 0
        batch[at:at + len(raw)] = raw
    if gzip:
        body = gzip_encode(bytes(batch[HEADER_SIZE:]))
        batch = batch[:HEADER_SIZE] + bytearray(body)
        (attributes,) = struct.unpack_from(">h", batch, ATTRIBUTES_AT)
        struct.pack_into(">h", batch, ATTRIBUTES_AT, attributes | GZIP)
        struct.pack_into(">i", batch, LENGTH_AT, len(batch) - 12)
    struct.pack_into(">I", batch, CRC_AT, calc_crc32c(bytes(batch[ATTRIBUTES_AT:])))
    return batch


async def send_forged(producer: AIOKafkaProducer, topic: str, partition: int,
                      batch: bytearray) -> Any:
    """Send a forged batch as it is (a producer without idempotence: no sequence to set)."""
    builder = producer.create_batch()
    builder._buffer = batch  # what _build() sends; built once, never appended to
    # The accumulator drops a batch it counts as empty: give it the records' count.
    (builder._relative_offset,) = struct.unpack_from(">i", batch, RECORDS_COUNT_AT)
    builder.close()
    future = await producer.send_batch(builder, topic, partition=partition)
    return await future


async def accept_any_timestamp(bootstrap: str, topic: str) -> None:
    """Let `topic` take records stamped far in the future. Kafka 4.0 (KIP-937) refuses, by
    default, a timestamp more than an hour ahead; before 4.0, and wherever a topic sets
    `message.timestamp.after.max.ms` to the maximum, such a record reaches the consumer.
    Returns once the broker describes the new value (it applies a change asynchronously)."""
    setting, wanted = "message.timestamp.after.max.ms", str(2**63 - 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await asyncio.wait_for(admin.start(), 30)
    try:
        altered = await asyncio.wait_for(admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {setting: wanted})]), 30)
        assert all(error == 0 for r in altered for error, *_ in r.resources), altered
        async with asyncio.timeout(15):
            while True:
                [described] = await admin.describe_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, topic, {setting: None})])
                values = {c[0]: c[1] for r in described.resources for c in r[4]}
                if values.get(setting) == wanted:
                    return
                await asyncio.sleep(0.1)
    finally:
        await admin.close()
