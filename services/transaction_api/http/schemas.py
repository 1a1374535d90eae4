"""HTTP request and response models, kept apart from the event contract."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

from payment_events.events import (
    AMOUNT_JSON_SCHEMA,
    AccountId,
    Currency,
    Description,
)
from payment_events.money import InvalidMoney, canonical_amount, parse_amount
from payment_events.views import PaymentView

PublishStatus = Literal["accepted", "published"]
# PostgreSQL text cannot hold NUL, and control characters have no place in a description.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


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

    # Declared before the fields that check against them (validators see earlier fields).
    payer_id: AccountId
    currency: Currency
    payee_id: AccountId
    # Checked by money.parse_amount against the currency: the event's grammar, exactly.
    amount: Annotated[str, WithJsonSchema(AMOUNT_JSON_SCHEMA)]
    description: Description | None = Field(default=None, pattern=NO_CONTROL_CHARACTERS)

    @field_validator("payee_id")
    @classmethod
    def _not_the_payer(cls, payee_id: str, info: ValidationInfo) -> str:
        if payee_id == info.data.get("payer_id"):
            raise ValueError("payer_id and payee_id must differ")
        return payee_id

    @field_validator("amount")
    @classmethod
    def _valid_for_currency(cls, amount: str, info: ValidationInfo) -> str:
        currency = info.data.get("currency")
        if currency is None:
            return amount  # the currency's own error is reported
        try:
            parse_amount(amount, currency)
        except InvalidMoney as exc:
            raise ValueError(str(exc)) from exc
        return amount

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
        description="`accepted`: durable, published right after this answer (or by the "
                    "relay); `published`: a replayed request whose event Kafka already holds"
    )
    created_at: datetime


class PaymentRecord(PaymentView):
    status: PublishStatus
    created_at: datetime
    published_at: datetime | None
    publish_attempts: int
    partition: int | None = Field(description="where Kafka put the event, once published")
    offset: int | None = Field(description="where Kafka put the event, once published")
