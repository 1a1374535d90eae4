"""The one place that reads a stored dead letter's headers and bytes back.

Header keys and values are stored as two bytea arrays (exact bytes, whatever they hold).
"""

from collections.abc import Sequence

from notification_consumer.dead_letters.wire import original_headers
from notification_consumer.store.text import display_bytes
from payment_events.codec import KafkaRecord

Headers = list[tuple[str, bytes]]


def stored_headers(keys: Sequence[bytes] | None, values: Sequence[bytes] | None) -> Headers:
    """Headers as (name shown as text, raw value bytes)."""
    return [(display_bytes(bytes(k)), bytes(v))
            for k, v in zip(keys or [], values or [], strict=True)]


def letter_record(key: bytes | None, value: bytes | None, keys: Sequence[bytes],
                  values: Sequence[bytes]) -> KafkaRecord:
    """What a replay republishes: the original key, value and headers, no dlq_* additions.
    Header names go back as UTF-8 (Kafka's header keys are strings), NUL bytes included."""
    headers = [(bytes(k).decode("utf-8", "replace"), bytes(v))
               for k, v in zip(keys, values, strict=True)]
    return KafkaRecord(key, value or b"", original_headers(headers))


def display(raw: bytes | None, limit: int = 64_000) -> str:
    """Bytes for a human: UTF-8 when it is UTF-8, else a hex dump (never raises)."""
    if raw is None:
        return ""
    data = raw[:limit]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex(" ", 1) + (" …" if len(raw) > limit else "")
    return text + (" …" if len(raw) > limit else "")
