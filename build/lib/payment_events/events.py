"""The event contract: `PaymentAccepted`, schema version 1, and its CloudEvents attributes.

On the wire (see codec.py) the Kafka value is the JSON of `PaymentAccepted`; the CloudEvents
attributes travel as `ce_*` headers (binary content mode). The value alone is enough to decode
an event, so a dead letter's original bytes can be replayed as they are.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from payment_events.money import InvalidMoney, check_amount

SCHEMA_VERSION = 1
EVENT_TYPE = "io.paystream.payment.accepted"
EVENT_SOURCE = "/transaction-api"
SPEC_VERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,4})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_DESCRIPTION = 280
OWNER_SCOPE_PATTERN = r"^[0-9a-f]{16}$"

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["acct_alice"])]
Currency = Annotated[str, Field(pattern=CURRENCY_PATTERN, examples=["EUR"])]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
Amount = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["12.50"]}),
]


class PaymentAccepted(BaseModel):
    """A payment request the transaction API has durably accepted (past tense: it happened)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="PaymentAccepted")

    schema_version: Literal[1] = 1
    event_id: UUID
    payer_id: AccountId
    payee_id: AccountId
    amount: Amount
    currency: Currency
    description: Description | None = None
    occurred_at: AwareDatetime

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_a_string(cls, value: Any) -> Any:
        # A JSON number would go through float somewhere; the contract says decimal strings.
        if not isinstance(value, (str, Decimal)):
            raise ValueError("amount must be a decimal string")
        return value

    @model_validator(mode="after")
    def _money_and_parties(self) -> "PaymentAccepted":
        try:
            check_amount(self.amount, self.currency)
        except InvalidMoney as exc:
            raise ValueError(str(exc)) from exc
        if self.payer_id == self.payee_id:
            raise ValueError("payer_id and payee_id must differ")
        return self


class CloudEventAttributes(BaseModel):
    """The CloudEvents 1.0 context attributes carried as `ce_*` Kafka headers."""

    model_config = ConfigDict(frozen=True)

    specversion: str = SPEC_VERSION
    id: UUID
    source: str = EVENT_SOURCE
    type: str = EVENT_TYPE
    time: datetime
    datacontenttype: str = DATA_CONTENT_TYPE
    dataschema: str = f"urn:paystream:schema:payment-accepted:v{SCHEMA_VERSION}"
    schemaversion: str = str(SCHEMA_VERSION)
    traceparent: str | None = None
    # Extension attribute: which API key accepted the payment (a digest prefix, never the key),
    # so the consumer can show a payment, its notifications and webhooks only to that key.
    ownerscope: Annotated[str | None, Field(pattern=OWNER_SCOPE_PATTERN)] = None

    @classmethod
    def for_event(
        cls, event: PaymentAccepted, traceparent: str | None, owner_scope: str | None = None
    ) -> "CloudEventAttributes":
        return cls(id=event.event_id, time=event.occurred_at, traceparent=traceparent,
                   ownerscope=owner_scope)
