"""HTTP request and response models, kept apart from the event contract."""

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from payment_events.events import (
    AMOUNT_PATTERN,
    AccountId,
    Currency,
    Description,
)
from payment_events.money import InvalidMoney, canonical_amount, parse_amount

PublishStatus = Literal["accepted", "published"]


class PaymentRequest(BaseModel):
    """The body of `POST /payments`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payer_id": "acct_alice",
                    "payee_id": "acct_bob",
                    "amount": "12.50",
                    "currency": "EUR",
                    "description": "dinner",
                }
            ]
        },
    )

    payer_id: AccountId
    payee_id: AccountId
    amount: str = Field(pattern=AMOUNT_PATTERN, description="decimal string, > 0")
    currency: Currency
    description: Description | None = None

    @model_validator(mode="after")
    def _money_and_parties(self) -> "PaymentRequest":
        try:
            parse_amount(self.amount, self.currency)
        except InvalidMoney as exc:
            raise ValueError(f"amount: {exc}") from exc
        if self.payer_id == self.payee_id:
            raise ValueError("payee_id: payer_id and payee_id must differ")
        return self

    @property
    def decimal_amount(self) -> Decimal:
        return Decimal(self.amount)

    def canonical(self) -> dict[str, str | None]:
        """What makes two requests "the same" for idempotency: values, not spelling."""
        return {
            "payer_id": self.payer_id,
            "payee_id": self.payee_id,
            "amount": canonical_amount(self.decimal_amount, self.currency),
            "currency": self.currency,
            "description": self.description,
        }


class PaymentAcceptedResponse(BaseModel):
    event_id: UUID
    status: PublishStatus = Field(
        description="`accepted`: durable, not yet confirmed by Kafka; `published`: in Kafka"
    )
    created_at: datetime


class PaymentRecord(BaseModel):
    event_id: UUID
    payer_id: str
    payee_id: str
    amount: str
    currency: str
    description: str | None
    status: PublishStatus
    created_at: datetime
    published_at: datetime | None
    publish_attempts: int
