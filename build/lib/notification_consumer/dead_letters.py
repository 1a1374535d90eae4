"""Dead letters on the wire: the original key, value and headers kept intact, plus `dlq_*`
headers saying where the record came from and why it could not be processed."""

from datetime import UTC, datetime

from notification_consumer.processing import DeadLetter
from payment_events.codec import KafkaRecord

DLQ_HEADER_PREFIX = "dlq_"


def dead_letter_record(letter: DeadLetter, group_id: str) -> KafkaRecord:
    r = letter.record
    when = datetime.fromtimestamp(r.timestamp / 1000, UTC).isoformat() if r.timestamp else ""
    about = {
        "original_topic": r.topic,
        "original_partition": str(r.partition),
        "original_offset": str(r.offset),
        "original_timestamp": when,
        "original_key": (r.key or b"").decode("utf-8", errors="replace"),
        "consumer_group": group_id,
        "reason": letter.reason,
        "error_class": letter.error_class,
        "error_message": letter.error_message[:1000],
        "attempts": str(letter.attempts),
    }
    headers = [(k, v) for k, v in r.headers if not k.startswith(DLQ_HEADER_PREFIX)]
    headers += [(DLQ_HEADER_PREFIX + k, v.encode()) for k, v in about.items()]
    return KafkaRecord(key=r.key, value=r.value or b"", headers=headers)


def original_headers(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """What a replay republishes: the record's own headers, without our dlq_* additions."""
    return [(k, v) for k, v in headers if not k.startswith(DLQ_HEADER_PREFIX)]
