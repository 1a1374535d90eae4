"""Pure processing: Kafka records in, rows to write out. No Kafka, no database, no clock.

A batch becomes a `BatchPlan`: the events to insert (the store derives their notifications:
a debit for the payer, a credit for the payee), the records
to dead-letter and why, and per partition the next offset to read. The store then writes
the plan in one transaction.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Protocol
from uuid import UUID

from notification_consumer.ingest.decompressed_size import OversizeBatch
from notification_consumer.store.text import header_key_bytes, header_key_is_text
from payment_events.codec import decode_read, header_text, owner_scope_of, read_headers
from payment_events.errors import PoisonMessage
from payment_events.events import PaymentAccepted
from service_kit.tracing import TraceContext, parse_traceparent

TopicPartition = tuple[str, int]


class RecordLike(Protocol):
    """The part of aiokafka's ConsumerRecord that processing reads."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> tuple[tuple[str, bytes], ...] | list[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class EventRow:
    event: PaymentAccepted
    record: RecordLike
    payload_hash: str
    trace: TraceContext | None  # the request's, from ce_traceparent
    owner_scope: str | None = None

    @property
    def trace_id(self) -> str | None:
        return self.trace.trace_id if self.trace else None

    @property
    def traceparent(self) -> str | None:
        return self.trace.traceparent if self.trace else None

    @property
    def topic(self) -> str:
        return self.record.topic

    @property
    def partition(self) -> int:
        return self.record.partition

    @property
    def offset(self) -> int:
        return self.record.offset


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: RecordLike
    reason: str  # poison reason code, "conflict" or "processing_failed"
    error_class: str
    error_message: str
    attempts: int
    event_id: UUID | None = None


@dataclass
class BatchPlan:
    events: list[EventRow] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # Records whose event id already appeared earlier in this same batch, with equal bytes.
    in_batch_duplicates: int = 0
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)


def payload_hash(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def plan_batch(records: list[RecordLike]) -> BatchPlan:
    """Decide what each record becomes. Records must be in offset order per partition."""
    plan = BatchPlan()
    plan_into(plan, {}, records)
    return plan


def plan_into(plan: BatchPlan, seen: dict[UUID, str], records: Sequence[RecordLike]) -> None:
    """`plan_batch` for the next records of the same batch: a batch can be planned in chunks
    (`seen` carries the event ids and payload hashes of its earlier chunks)."""
    for record in records:
        plan.next_offsets[(record.topic, record.partition)] = record.offset + 1
        if isinstance(record.value, OversizeBatch):  # see lenient_records: never a real value
            plan.dead_letters.append(DeadLetter(
                record, "batch_too_large_decompressed", "OversizeBatch",
                record.value.describe(), attempts=1))
            continue
        try:
            found = scan_headers(record.headers)
            event = decode_read(record.value, found)
            scope = owner_scope_of(found.get("ce_ownerscope"))
            storable(event)
        except PoisonMessage as exc:
            plan.dead_letters.append(
                DeadLetter(record, exc.reason, "PoisonMessage", exc.detail, attempts=1)
            )
            continue
        assert record.value is not None  # decode rejects empty values
        digest = payload_hash(record.value)
        earlier = seen.get(event.event_id)
        if earlier is not None:
            if earlier == digest:
                plan.in_batch_duplicates += 1
            else:
                plan.dead_letters.append(conflict(record, event.event_id))
            continue
        seen[event.event_id] = digest
        trace = parse_traceparent(header_text(found.get("ce_traceparent")))
        plan.events.append(
            EventRow(event, record, digest, trace, scope)
        )


def scan_headers(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, bytes]:
    """`codec.read_headers`, after refusing a header key that is not UTF-8 (Kafka says a key
    is a string; the broker does not check): such a record cannot be copied or replayed as it
    is. Every key is checked, not only those decoding reads."""
    for key, _ in headers:
        if not header_key_is_text(key):
            shown = header_key_bytes(key)[:64].hex(" ", 1)
            raise PoisonMessage("invalid_header", f"a header key is not UTF-8: {shown}")
    return read_headers(headers)


def storable(event: PaymentAccepted) -> None:
    """Raise PoisonMessage for a valid event PostgreSQL could not store: a time outside the
    range once converted to UTC, a NUL byte or an unpaired surrogate in a text field. Found
    here, the record is dead-lettered at once instead of failing later in the database."""
    try:
        event.occurred_at.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise PoisonMessage("unrepresentable", f"occurred_at out of range in UTC: {exc}") from exc
    for name in ("payer_id", "payee_id", "currency", "description"):
        value = getattr(event, name)
        if value is None:
            continue
        if "\x00" in value:
            raise PoisonMessage("unrepresentable", f"{name} contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PoisonMessage("unrepresentable", f"{name} is not valid Unicode") from exc


def conflict(record: RecordLike, event_id: UUID) -> DeadLetter:
    return DeadLetter(
        record, "conflict", "EventIdConflict",
        f"event {event_id} was already processed with a different payload; first one kept",
        attempts=1, event_id=event_id,
    )
