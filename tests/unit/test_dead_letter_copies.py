"""A dead letter's copy on the DLQ topic always fits, and says when it was cut."""

from notification_consumer.dead_letters.wire import dead_letter_record, minimal_record
from notification_consumer.ingest.planning import DeadLetter
from payment_events.codec import KafkaRecord
from tests.unit.consumer_fakes import Rec

MIB = 1024 * 1024


def size(r: KafkaRecord) -> int:
    return len(r.key or b"") + len(r.value) + sum(len(k.encode()) + len(v) + 12
                                                  for k, v in r.headers)


def letter(value: bytes, headers: list[tuple[str, bytes]] | None = None,
           key: bytes | None = b"k") -> DeadLetter:
    rec = Rec(value, 7, 2, key=key, timestamp=1_700_000_000_000, headers=headers or [])
    return DeadLetter(rec, "not_json", "PoisonMessage", "not json", 1)


def test_a_small_record_is_copied_whole_with_provenance() -> None:
    copy = dead_letter_record(letter(b"{bad", [("x-a", b"1")]), "g", 42)
    headers = dict(copy.headers)
    assert copy.value == b"{bad" and copy.key == b"k" and headers["x-a"] == b"1"
    assert headers["dlq_original_offset"] == b"7" and headers["dlq_dead_letter_id"] == b"42"
    assert "dlq_truncated" not in headers


def test_a_value_near_one_mib_is_truncated_under_the_limit_and_says_so() -> None:
    copy = dead_letter_record(letter(b"v" * (MIB - 100)), "g", 9, max_bytes=1_000_000)
    headers = dict(copy.headers)
    assert size(copy) <= 1_000_000
    assert headers["dlq_truncated"] == b"value"
    assert headers["dlq_original_size"] == str(MIB - 100).encode()
    assert headers["dlq_fetch"] == b"GET /dead-letters/9"


def test_thousands_of_headers_are_dropped_from_the_copy() -> None:
    many = [(f"h{i}", b"x" * 100) for i in range(20_000)]
    copy = dead_letter_record(letter(b"{}", many), "g", 1, max_bytes=1_000_000)
    assert size(copy) <= 1_000_000
    assert dict(copy.headers)["dlq_truncated"] == b"headers"
    assert copy.value == b"{}"


def test_a_huge_key_is_cut() -> None:
    copy = dead_letter_record(letter(b"{}", key=b"k" * MIB), "g", 1, max_bytes=1_000_000)
    assert size(copy) <= 1_000_000 and b"key" in dict(copy.headers)["dlq_truncated"]


def test_hostile_header_bytes_survive_in_the_copy() -> None:
    copy = dead_letter_record(letter(b"{}", [("k\x00ey", b"\xff\xfe")]), "g", 1)
    assert ("k\x00ey", b"\xff\xfe") in copy.headers


def test_the_minimal_copy_is_provenance_only() -> None:
    copy = minimal_record(letter(b"v" * 5000, [("x", b"y")]), "g", 3)
    assert copy.value == b"" and copy.key is None
    assert all(k.startswith("dlq_") for k, _ in copy.headers)
    assert dict(copy.headers)["dlq_dead_letter_id"] == b"3"


def test_an_impossible_kafka_timestamp_does_not_break_the_copy() -> None:
    rec = Rec(b"{}", 1, timestamp=2**62)
    copy = dead_letter_record(DeadLetter(rec, "not_json", "PoisonMessage", "x", 1), "g", 1)
    assert dict(copy.headers)["dlq_original_timestamp"] == b""
