"""Dead letters on the wire: the original key, value and headers, plus `dlq_*` headers saying
where the record came from and why it could not be processed.

A copy always fits the topic: when the original would exceed `max_bytes`, the copy carries a
truncated value (and drops the original headers or key if those alone are too large), with
`dlq_truncated` naming what was cut and `dlq_fetch` saying where the whole record is kept
(the `dead_letters` table always holds the original bytes).
"""

from notification_consumer.ingest.planning import DeadLetter
from notification_consumer.store.batch_sql import kafka_time
from notification_consumer.store.text import display_bytes, header_key_bytes, wire_header_key
from payment_events.codec import KafkaRecord

DLQ_HEADER_PREFIX = "dlq_"
HEADER_OVERHEAD = 12  # varints and attributes per header, generously
RECORD_OVERHEAD = 128  # record and batch framing
PROVENANCE_BUDGET = 4096  # our own dlq_* headers, bounded below


def dead_letter_record(letter: DeadLetter, group_id: str, letter_id: int | None = None,
                       max_bytes: int = 1_000_000) -> KafkaRecord:
    r = letter.record
    when = kafka_time(r.timestamp)
    about = {
        "original_topic": r.topic,
        "original_partition": str(r.partition),
        "original_offset": str(r.offset),
        "original_timestamp": when.isoformat() if when else "",
        "original_key": display_bytes((r.key or b"")[:256]),
        "consumer_group": group_id,
        "reason": letter.reason,
        "error_class": letter.error_class[:200],
        "error_message": letter.error_message[:1000],
        "attempts": str(letter.attempts),
    }
    if letter_id is not None:
        about["dead_letter_id"] = str(letter_id)
    key, value = r.key, r.value or b""
    headers = [(wire_header_key(k), v or b"") for k, v in r.headers
               if not k.startswith(DLQ_HEADER_PREFIX)]
    room = max_bytes - RECORD_OVERHEAD - PROVENANCE_BUDGET
    cut: list[str] = []
    if _headers_size(headers) > room // 2:
        headers, cut = [], [*cut, "headers"]
    if key is not None and len(key) > room // 4:
        key, cut = key[: room // 4], [*cut, "key"]
    left = room - _headers_size(headers) - len(key or b"")
    if len(value) > left:
        value, cut = value[: max(0, left)], [*cut, "value"]
    if cut:
        about["truncated"] = ",".join(cut)
        about["original_size"] = str(len(r.value or b""))
        about["fetch"] = (f"GET /dead-letters/{letter_id}" if letter_id is not None
                          else "GET /dead-letters (the table keeps the original bytes)")
    headers += [(DLQ_HEADER_PREFIX + k, v.encode("utf-8", "replace")) for k, v in about.items()]
    return KafkaRecord(key=key, value=value, headers=headers)


def minimal_record(letter: DeadLetter, group_id: str, letter_id: int | None) -> KafkaRecord:
    """The last resort when the broker refused even the bounded copy: provenance only."""
    full = dead_letter_record(letter, group_id, letter_id, max_bytes=0)
    about = [(k, v) for k, v in full.headers if k.startswith(DLQ_HEADER_PREFIX)]
    return KafkaRecord(key=None, value=b"", headers=about)


def _headers_size(headers: list[tuple[str, bytes]]) -> int:
    return sum(len(header_key_bytes(k)) + len(v) + HEADER_OVERHEAD
               for k, v in headers)


def original_headers(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """What a replay republishes: the record's own headers, without our dlq_* additions."""
    return [(k, v) for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)]
