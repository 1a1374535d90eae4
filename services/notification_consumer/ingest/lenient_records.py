"""A record whose header key is not UTF-8 must reach us, to be dead-lettered like any poison.

Kafka's protocol calls a header key a string, but brokers store whatever bytes a producer sent.
aiokafka decodes each key as strict UTF-8 while it parses a fetched batch. One bad key makes
`getmany` raise for the whole partition, every time it is fetched again, and the records parsed
before it in that batch are dropped with the error. The partition would stop for good.

`install()` puts a batch reader into aiokafka's fetcher that keeps the fast (C) parser for every
batch and, only for a batch where it fails to decode a key, reads that batch again here with the
undecodable bytes kept as lone surrogates (`surrogateescape`; `text.header_key_bytes` restores
them exactly). Planning then refuses the record as poison, and the dead-letter table keeps its
exact bytes. The record format read here is Kafka's v2 record (KIP-98), nothing else.

The same reader bounds decompression: a compressed v2 batch whose records would take more
than the installed limit is not decompressed. It yields one stand-in record instead, at the
batch's last offset, whose value is an `OversizeBatch` (an empty `bytes` no broker can send,
carrying the batch's provenance); planning dead-letters it and the partition moves on.
"""

from collections.abc import Iterator
from typing import Any

from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record import default_records, memory_records

from notification_consumer.ingest.decompressed_size import OversizeBatch, exceeds

_MAGIC_OFFSET = 16  # base offset (8) + batch length (4) + partition leader epoch (4)
_ATTRIBUTES_OFFSET = 21  # then magic (1) + CRC (4)
_RECORDS_OFFSET = 61  # the v2 batch header's length
_CODEC_BITS = 0x07


def _varint(buffer: Any, pos: int) -> tuple[int, int]:
    """A zigzag varint (signed, as Kafka writes them) at `pos`; (value, position after)."""
    shift = raw = 0
    while True:
        if pos >= len(buffer) or shift > 63:
            raise CorruptRecordException("a varint runs past the record")
        byte = buffer[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7


def _sized(buffer: Any, pos: int) -> tuple[bytes | None, int]:
    size, pos = _varint(buffer, pos)
    if size < 0:
        return None, pos
    if pos + size > len(buffer):
        raise CorruptRecordException("a field runs past the record")
    return bytes(buffer[pos:pos + size]), pos + size


class LenientBatch(default_records._DefaultRecordBatchPy):  # type: ignore[misc]
    """aiokafka's pure-Python batch (framing, decompression, CRC), with its own record reader
    that decodes header keys with `surrogateescape` instead of failing."""

    _buffer: Any
    _pos: int

    def _read_msg(self, decode_varint: Any = None) -> Any:
        buffer, pos = self._buffer, self._pos
        length, pos = _varint(buffer, pos)
        end = pos + length
        _attributes, pos = _varint(buffer, pos)
        timestamp_delta, pos = _varint(buffer, pos)
        offset_delta, pos = _varint(buffer, pos)
        key, pos = _sized(buffer, pos)
        value, pos = _sized(buffer, pos)
        count, pos = _varint(buffer, pos)
        if count < 0:
            raise CorruptRecordException(f"a record claims {count} headers")
        headers: list[tuple[str, bytes | None]] = []
        for _ in range(count):
            name, pos = _sized(buffer, pos)
            if name is None:
                raise CorruptRecordException("a header key is null")
            header_value, pos = _sized(buffer, pos)
            headers.append((name.decode("utf-8", "surrogateescape"), header_value))
        if pos != end:
            raise CorruptRecordException(f"a record's length says {length} bytes, "
                                         f"its fields take {length + pos - end}")
        self._pos = pos
        timestamp = (self.max_timestamp if self.timestamp_type == self.LOG_APPEND_TIME
                     else self.first_timestamp + timestamp_delta)
        return default_records._DefaultRecordPy(self.base_offset + offset_delta, timestamp,
                                                self.timestamp_type, key, value, headers)


class _FallbackBatch:
    """The fast batch, read again leniently from the record it could not decode."""

    def __init__(self, batch: Any, raw: memoryview) -> None:
        self._batch = batch
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __next__(self) -> Any:  # the fetcher reads a control batch's marker this way
        return next(self._batch)

    def __iter__(self) -> Iterator[Any]:
        last = -1
        try:
            for record in self._batch:
                last = record.offset
                yield record
        except UnicodeDecodeError:
            for record in LenientBatch(self._raw):
                if record.offset > last:
                    yield record


class _BoundedBatch(_FallbackBatch):
    """A compressed batch, measured before it is decompressed: past the limit, it yields only
    the stand-in record (aiokafka then moves the partition past the batch's last offset)."""

    def __init__(self, batch: Any, raw: memoryview, limit: int) -> None:
        super().__init__(batch, raw)
        self._limit = limit

    def __iter__(self) -> Iterator[Any]:
        codec = int.from_bytes(self._raw[_ATTRIBUTES_OFFSET:_ATTRIBUTES_OFFSET + 2], "big")
        if not exceeds(codec & _CODEC_BITS, self._raw[_RECORDS_OFFSET:], self._limit):
            return super().__iter__()
        batch = self._batch
        value = OversizeBatch(batch.base_offset, batch.next_offset - 1, len(self._raw),
                              self._limit)
        return iter([default_records._DefaultRecordPy(
            value.last_offset, batch.max_timestamp, batch.timestamp_type, None, value, [])])


class LenientMemoryRecords(memory_records._MemoryRecordsPy):  # type: ignore[misc]
    """A fetched partition's bytes, split into batches as aiokafka does; v2 batches keep the
    fast parser and fall back to `LenientBatch` when a header key is not UTF-8, and a
    compressed one is measured against `max_decompressed_bytes` first (0: not measured)."""

    max_decompressed_bytes = 0

    def next_batch(self, *args: Any, **kwargs: Any) -> Any:
        raw = self._next_slice
        batch = super().next_batch(*args, **kwargs)
        if raw is None or batch is None or raw[_MAGIC_OFFSET] < 2:
            return batch
        limit = self.max_decompressed_bytes
        if limit and raw[_ATTRIBUTES_OFFSET + 1] & _CODEC_BITS and not batch.is_control_batch:
            return _BoundedBatch(batch, raw, limit)
        return _FallbackBatch(batch, raw)


def install(max_decompressed_bytes: int = 0) -> None:
    """Make every aiokafka consumer in this process read batches through LenientMemoryRecords,
    refusing (as one stand-in record) a batch that expands past `max_decompressed_bytes`."""
    LenientMemoryRecords.max_decompressed_bytes = max_decompressed_bytes
    fetcher.MemoryRecords = LenientMemoryRecords
