"""lenient_records: a batch with a header key that is not UTF-8 yields every record, the bad key's
bytes intact; a normal batch goes through aiokafka's own parser unchanged."""

from typing import Any

import pytest
from aiokafka.consumer.fetcher import PartitionRecords
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from notification_consumer.ingest.lenient_records import LenientMemoryRecords
from notification_consumer.ingest.planning import plan_batch
from notification_consumer.store.text import header_key_bytes, wire_header_key
from tests.forged_records import forged_batch

BAD = b"x-\xff\xfe\x00key"


def read(batch: bytearray, reader: Any = LenientMemoryRecords
         ) -> list[tuple[int, bytes | None, list[tuple[str, bytes]]]]:
    """Through aiokafka's own partition reader, as the fetcher uses it."""
    records = PartitionRecords(TopicPartition("t", 0), reader(bytes(batch)), None,
                               0, None, None, True, 0)
    return [(r.offset, r.value, list(r.headers)) for r in records]


@pytest.mark.parametrize("gzip", [False, True])
def test_records_around_an_undecodable_key_all_come_out(gzip: bool) -> None:
    batch = forged_batch([(b"k", b"before", [(b"ce_id", b"1")]),
                          (b"k", b"bad", [(b"ce_id", b"2"), (BAD, b"v")]),
                          (b"k", b"after", [])], gzip=gzip)
    with pytest.raises(UnicodeDecodeError):  # what aiokafka alone does with it
        read(batch, MemoryRecords)
    got = read(batch)
    assert [(offset, value) for offset, value, _ in got] == [
        (0, b"before"), (1, b"bad"), (2, b"after")]
    (name, value), = [h for h in got[1][2] if h[0] != "ce_id"]
    assert header_key_bytes(name) == BAD and value == b"v"
    assert wire_header_key(name) == "x-\ufffd\ufffd\x00key"


def test_a_valid_batch_is_read_unchanged() -> None:
    batch = forged_batch([(None, b"v%d" % i, [(b"h", b"%d" % i)]) for i in range(5)])
    assert read(batch) == [(i, b"v%d" % i, [("h", b"%d" % i)]) for i in range(5)]


def test_planning_dead_letters_the_record_and_keeps_the_others() -> None:
    class Record:
        topic, partition, key, timestamp = "t", 0, b"k", 0

        def __init__(self, offset: int, value: bytes | None,
                     headers: list[tuple[str, bytes]]) -> None:
            self.offset, self.value, self.headers = offset, value, headers

    batch = forged_batch([(b"k", b"{}", [(BAD, b"v")])])
    [(offset, value, headers)] = read(batch)
    plan = plan_batch([Record(offset, value, headers)])
    [letter] = plan.dead_letters
    assert letter.reason == "invalid_header" and "ff fe" in letter.error_message
    assert plan.next_offsets[("t", 0)] == 1
