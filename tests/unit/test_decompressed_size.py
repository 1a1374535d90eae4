"""Decompression is bounded: a compressed batch that would expand past the limit is measured
in bounded memory for every codec Kafka allows, read as one stand-in record at its last
offset, and planned as a dead letter with its offset range; a batch within it reads as usual."""

from typing import Any

import pytest
from aiokafka import codec
from aiokafka.consumer.fetcher import PartitionRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import TopicPartition

from notification_consumer.ingest import decompressed_size
from notification_consumer.ingest.decompressed_size import OversizeBatch, exceeds
from notification_consumer.ingest.lenient_records import LenientMemoryRecords
from notification_consumer.ingest.planning import plan_batch

ENCODE = {decompressed_size.GZIP: codec.gzip_encode, decompressed_size.SNAPPY:
          codec.snappy_encode, decompressed_size.LZ4: codec.lz4_encode,
          decompressed_size.ZSTD: codec.zstd_encode}
MiB = 1024 * 1024


@pytest.mark.parametrize("kind", sorted(ENCODE))
@pytest.mark.parametrize("raw", [b"\x00" * (8 * MiB), bytes(range(256)) * (4 * 4096)],
                         ids=["zeros", "bytes"])
def test_each_codec_is_measured_against_the_limit(kind: int, raw: bytes) -> None:
    payload = ENCODE[kind](raw)
    assert exceeds(kind, payload, len(raw) - 1)
    assert exceeds(kind, payload, len(raw) // 2)
    # lz4 and zstd count a compressed block at its largest: a bound, within one block.
    assert not exceeds(kind, payload, len(raw) + 4 * MiB)


@pytest.mark.parametrize("kind", sorted(ENCODE))
def test_a_malformed_payload_is_left_to_aiokafka(kind: int) -> None:
    for payload in (b"", b"\x00", b"not compressed at all", ENCODE[kind](b"x" * 1000)[:7]):
        assert exceeds(kind, payload, MiB) is False


def test_gzip_is_counted_in_bounded_memory() -> None:
    import tracemalloc

    bomb = codec.gzip_encode(b"\x00" * (200 * MiB))  # about 200 KiB
    tracemalloc.start()
    try:
        assert exceeds(decompressed_size.GZIP, bomb, 100 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, f"measuring took {peak} bytes"


def test_deflate_never_expands_past_its_known_ratio() -> None:
    """What lets a small gzip batch skip the measuring: 1032 to 1 is deflate's ceiling."""
    raw = b"\x00" * (50 * MiB)
    payload = codec.gzip_encode(raw)
    assert len(raw) <= 1032 * len(payload)
    assert exceeds(decompressed_size.GZIP, payload, len(raw) - 1)
    assert not exceeds(decompressed_size.GZIP, payload, len(raw))


def compressed_batch(kind: str, values: list[bytes], base_offset: int = 0) -> bytes:
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type={"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[kind],
        is_transactional=False, producer_id=-1, producer_epoch=-1, base_sequence=-1,
        batch_size=1 << 30)
    for i, value in enumerate(values):
        builder.append(i, timestamp=1_700_000_000_000 + i, key=None, value=value, headers=[])
    batch = bytearray(builder.build())
    batch[0:8] = base_offset.to_bytes(8, "big")
    return bytes(batch)


def read(data: bytes) -> list[Any]:
    records = PartitionRecords(TopicPartition("t", 0), LenientMemoryRecords(data), None,
                               0, None, None, True, 0)
    return list(records)


@pytest.fixture
def limit() -> Any:
    before = LenientMemoryRecords.max_decompressed_bytes
    LenientMemoryRecords.max_decompressed_bytes = 2 * MiB
    yield 2 * MiB
    LenientMemoryRecords.max_decompressed_bytes = before


@pytest.mark.parametrize("kind", ["gzip", "snappy", "lz4", "zstd"])
def test_an_oversize_batch_reads_as_one_stand_in_then_the_next_batch(
        kind: str, limit: int) -> None:
    bomb = compressed_batch(kind, [b"\x00" * MiB] * 4)
    after = compressed_batch(kind, [b"next"], base_offset=4)
    got = read(bomb + after)
    assert [r.offset for r in got] == [3, 4]
    stand_in = got[0].value
    assert isinstance(stand_in, OversizeBatch) and stand_in == b""
    assert (stand_in.first_offset, stand_in.last_offset) == (0, 3)
    assert got[1].value == b"next" and not isinstance(got[1].value, OversizeBatch)


def test_a_batch_within_the_limit_reads_unchanged(limit: int) -> None:
    values = [b"v%d" % i * 1000 for i in range(10)]
    assert [r.value for r in read(compressed_batch("gzip", values))] == values


def test_the_stand_in_is_dead_lettered_with_its_offset_range(limit: int) -> None:
    [stand_in] = read(compressed_batch("gzip", [b"\x00" * MiB] * 3, base_offset=40))
    plan = plan_batch([stand_in])
    [letter] = plan.dead_letters
    assert letter.reason == "batch_too_large_decompressed"
    assert "offsets 40..42" in letter.error_message and str(limit) in letter.error_message
    assert letter.record.offset == 42 and plan.next_offsets[("t", 0)] == 43
    assert not plan.events
