"""How far a compressed record batch would expand, found without holding its expansion.

aiokafka decompresses a whole batch into one buffer before reading a record of it, so a small
batch that expands a thousandfold costs a thousand times its size. `exceeds` answers "would
this batch's records take more than `limit` bytes?" first, in bounded memory:

- gzip is inflated in 64 KiB steps that are counted and dropped, unless the batch is too
  small to reach the limit at all (deflate expands at most 1032 times);
- snappy (raw, or in xerial blocks as Kafka's Java client writes it) declares each block's
  size in front of it, and a decoder must produce exactly that;
- lz4 and zstd frames are walked block by block: a stored block counts its size, a compressed
  block the most it may produce (the block size an lz4 frame declares; 128 KiB in zstd).

The lz4 and zstd counts are bounds, so a batch within a block of the limit may be refused;
limits are tens of MiB, blocks at most 4 MiB. Input this reader cannot make sense of is
left to aiokafka, which reports it as it did before.
"""

import struct
import zlib
from collections.abc import Callable

GZIP, SNAPPY, LZ4, ZSTD = 1, 2, 3, 4
_STEP = 64 * 1024
_DEFLATE_MAX_RATIO = 1032
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_LZ4_MAGIC = 0x184D2204
_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_BLOCK_MAX = 128 * 1024

# A frame reader: (payload, frame start, its magic) -> (most bytes it yields, frame end).
_Frame = Callable[[bytes, int, int], tuple[int, int]]


class OversizeBatch(bytes):
    """The value of the stand-in for a batch too large once decompressed: empty bytes with
    the batch's offsets and sizes. aiokafka hands a record's value through unchanged."""

    first_offset: int
    last_offset: int
    compressed_bytes: int
    limit: int

    def __new__(cls, first_offset: int, last_offset: int, compressed_bytes: int,
                limit: int) -> "OversizeBatch":
        value = super().__new__(cls, b"")
        value.first_offset, value.last_offset = first_offset, last_offset
        value.compressed_bytes, value.limit = compressed_bytes, limit
        return value

    def describe(self) -> str:
        return (f"the record batch at offsets {self.first_offset}..{self.last_offset} "
                f"({self.compressed_bytes} bytes compressed) expands past "
                f"{self.limit} bytes; its records were not read")


class _Unreadable(Exception):
    """The payload is not what its codec says; aiokafka will say so."""


def exceeds(codec: int, payload: bytes | memoryview, limit: int) -> bool:
    """True when the payload, decompressed with `codec` (Kafka's attribute bits), would take
    more than `limit` bytes. Unknown codecs and malformed payloads answer False."""
    data = bytes(payload)
    try:
        if codec == GZIP:
            return len(data) * _DEFLATE_MAX_RATIO > limit and _gzip_exceeds(data, limit)
        if codec == SNAPPY:
            return _snappy_size(data) > limit
        if codec == LZ4:
            return _frames_size(data, limit, _lz4_frame) > limit
        if codec == ZSTD:
            return _frames_size(data, limit, _zstd_frame) > limit
    except (_Unreadable, zlib.error, struct.error, IndexError):
        return False
    return False


def _gzip_exceeds(data: bytes, limit: int) -> bool:
    total = 0
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        while not inflater.eof:
            produced = len(inflater.decompress(pending, _STEP))
            total += produced
            if total > limit:
                return True
            pending = inflater.unconsumed_tail
            if not produced and not pending:
                return False  # truncated: aiokafka reports it
        data = inflater.unused_data.lstrip(b"\x00")  # a further gzip member, as GzipFile reads
    return False


def _uvarint(data: bytes, pos: int) -> int:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Unreadable("a snappy length runs past its block")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7


def _snappy_size(data: bytes) -> int:
    if not data.startswith(_XERIAL_MAGIC) or len(data) < 16:
        return _uvarint(data, 0)
    total, pos = 0, 16
    while pos < len(data):
        (size,) = struct.unpack_from(">i", data, pos)
        if size < 0:
            raise _Unreadable("a negative xerial block size")
        total += _uvarint(data, pos + 4)
        pos += 4 + size
    return total


def _frames_size(data: bytes, limit: int, frame: _Frame) -> int:
    total, pos = 0, 0
    while pos < len(data) and total <= limit:
        (magic,) = struct.unpack_from("<I", data, pos)
        if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame, in both formats
            (size,) = struct.unpack_from("<I", data, pos + 4)
            pos += 8 + size
            continue
        produced, pos = frame(data, pos, magic)
        total += produced
    return total


def _lz4_frame(data: bytes, pos: int, magic: int) -> tuple[int, int]:
    if magic != _LZ4_MAGIC:
        raise _Unreadable("not an lz4 frame")
    flags, descriptor = data[pos + 4], data[pos + 5]
    block_max = 1 << (8 + 2 * ((descriptor >> 4) & 0x07))  # 4: 64 KiB ... 7: 4 MiB
    pos += 6 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0) + 1
    block_checksum = 4 if flags & 0x10 else 0
    total = 0
    while True:
        (word,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if word == 0:
            break
        size = word & 0x7FFFFFFF
        total += size if word & 0x80000000 else block_max
        pos += size + block_checksum
        if pos > len(data):
            raise _Unreadable("an lz4 block runs past its frame")
    return total, pos + (4 if flags & 0x04 else 0)


def _zstd_frame(data: bytes, pos: int, magic: int) -> tuple[int, int]:
    if magic != _ZSTD_MAGIC:
        raise _Unreadable("not a zstd frame")
    descriptor = data[pos + 4]
    single_segment = descriptor & 0x20
    content_size_bytes = (0, 2, 4, 8)[descriptor >> 6] or (1 if single_segment else 0)
    dictionary_bytes = (0, 1, 2, 4)[descriptor & 0x03]
    pos += 5 + (0 if single_segment else 1) + dictionary_bytes + content_size_bytes
    total = 0
    while True:
        header = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
        pos += 3
        kind, size = (header >> 1) & 0x03, header >> 3
        if kind == 3:
            raise _Unreadable("a reserved zstd block type")
        total += size if kind in (0, 1) else _ZSTD_BLOCK_MAX
        pos += 1 if kind == 1 else size
        if pos > len(data):
            raise _Unreadable("a zstd block runs past its frame")
        if header & 0x01:
            break
    return total, pos + (4 if descriptor & 0x04 else 0)

