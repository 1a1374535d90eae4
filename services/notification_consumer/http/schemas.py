"""Response models of the consumer's REST API."""

import base64
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field, field_serializer

from notification_consumer.store.text import display_bytes
from payment_events.money import canonical_amount
from payment_events.views import PaymentView
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")

    @classmethod
    def of(cls, rows: dict[str, Any], item: Callable[[dict[str, Any]], T]) -> Self:
        """A page from queries' {"items": rows, "next_cursor": ...}, each row made an item."""
        return cls(items=[item(r) for r in rows["items"]], next_cursor=rows["next_cursor"])


class FromAmountRow(BaseModel):
    """A model read from a database row whose `amount` is numeric: shown as the canonical
    text for the row's currency."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Self:
        return cls(**{**row, "amount": _amount(row["amount"], row["currency"])})


class ProcessedEvent(PaymentView, FromAmountRow):
    occurred_at: datetime
    processed_at: datetime
    topic: str
    partition: int
    offset: int
    trace_id: str | None


class Notification(FromAmountRow):
    id: int
    event_id: UUID
    account_id: str
    kind: str = Field(description="`debit` for the payer, `credit` for the payee")
    amount: str
    currency: str
    counterparty_id: str
    created_at: datetime


class DeadLetterView(BaseModel):
    id: int
    group_id: str
    topic: str
    partition: int
    offset: int
    kafka_timestamp: datetime | None
    key: bytes | None = Field(description="original key, base64")
    value: bytes | None = Field(description="original value bytes, base64")
    headers: list[list[str]] = Field(
        description="original headers: [name, base64 value]; the name is shown as UTF-8 "
                    "(invalid bytes as U+FFFD, NUL as \\0); the table keeps the exact bytes")
    reason: str
    error_class: str
    error_message: str
    attempts: int
    event_id: UUID | None
    created_at: datetime
    replayed_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "DeadLetterView":
        keys, values = row["header_keys"], row["header_values"]
        headers = [[display_bytes(bytes(k)), base64.b64encode(bytes(v)).decode()]
                   for k, v in zip(keys, values, strict=True)]
        fields = {k: v for k, v in row.items() if k not in ("header_keys", "header_values")}
        return cls(**fields, headers=headers)

    @field_serializer("key", "value")
    def _b64(self, data: bytes | None) -> str | None:
        return base64.b64encode(data).decode() if data is not None else None


class ReplayResult(BaseModel):
    id: int
    replayed_at: datetime
    already_replayed: bool = Field(description="true: an earlier call published it; nothing "
                                   "was published now")
    replay_id: UUID | None = Field(default=None, description="the `paystream_replay_id` header")
    partition: int | None = None
    offset: int | None = None


class PartitionLag(BaseModel):
    partition: int
    committed_offset: int | None
    log_end_offset: int
    lag: int
    lag_seconds: float = Field(description="estimated age of the oldest unprocessed record")
    drain_seconds: float | None = Field(
        default=None, description="estimated time to drain the lag at the recent rate; null "
                                  "while the stored offset does not move")
    status: str


class Stats(BaseModel):
    group_id: str
    topic: str
    processed: int
    duplicates: int
    dead_letters: int
    lag: dict[str, int] | None
    total_lag: int | None
    partitions: list[PartitionLag]
    status: str = Field(description="OK, WARN, STALL, STOP (Burrow-style), or UNKNOWN")
    oldest_unprocessed_age_s: float | None = Field(
        default=None, description="the oldest unprocessed record's estimated age, over all "
                                  "partitions")
    drain_seconds: float | None = Field(
        default=None, description="estimated time until every partition has drained, at "
                                  "the recent rate; null while some lagging partition does "
                                  "not move")
    parked: dict[str, float] | None = Field(
        default=None, description="keys parked, records behind them, the longest park's age "
                                  "(s), keys being released")
    kafka_error: str | None = None
    consumer: dict[str, Any]


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem statuses a route can answer."""
    return {code: PROBLEM_RESPONSE_SCHEMA for code in codes}


def _amount(amount: Decimal, currency: str) -> str:
    try:
        return canonical_amount(amount, currency)
    except KeyError:
        return str(amount)
