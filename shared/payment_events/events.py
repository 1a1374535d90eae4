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
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from payment_events.money import (
    AMOUNT_PATTERN,
    MINOR_UNITS,
    InvalidMoney,
    amount_error,
    amount_pattern,
    check_amount,
    is_amount,
)

SCHEMA_VERSION = 1
EVENT_TYPE = "io.paystream.payment.accepted"
EVENT_SOURCE = "/transaction-api"
SPEC_VERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"

ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_DESCRIPTION = 280
OWNER_SCOPE_PATTERN = r"^[0-9a-f]{16}$"

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, examples=["acct_alice"])]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]


def _known_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"unknown ISO 4217 currency code {code!r}")
    return code


Currency = Annotated[
    str,
    Field(pattern=CURRENCY_PATTERN),
    AfterValidator(_known_currency),
    WithJsonSchema({"type": "string", "enum": sorted(MINOR_UNITS), "examples": ["EUR"]}),
]

# The amount's JSON Schema: the grammar of money.py. The "not" rules out a newline, because
# some validators (Python's `re`) let `$` match before a trailing one; ECMA 262 does not.
AMOUNT_JSON_SCHEMA: dict[str, Any] = {
    "type": "string", "pattern": AMOUNT_PATTERN, "not": {"pattern": "\n"},
    "description": "a decimal string: digits and at most one point, > 0, at most 1000000000, "
                   "no more decimals than the currency has", "examples": ["12.50"],
}


def _amount_text(value: Any) -> Any:
    # A JSON number would go through float somewhere; the contract says decimal strings.
    text = str(value) if isinstance(value, Decimal) else value
    if not isinstance(text, str):
        raise ValueError("amount must be a decimal string")
    if not is_amount(text):
        raise ValueError(amount_error(text))
    return text


Amount = Annotated[Decimal, BeforeValidator(_amount_text), WithJsonSchema(AMOUNT_JSON_SCHEMA)]


def currency_rules() -> list[Any]:
    """JSON Schema: the amount pattern of each currency's number of decimals."""
    rules = []
    for units in sorted(set(MINOR_UNITS.values())):
        codes = sorted(code for code, n in MINOR_UNITS.items() if n == units)
        rules.append({
            "if": {"properties": {"currency": {"enum": codes}}, "required": ["currency"]},
            "then": {"properties": {"amount": {"pattern": amount_pattern(units)}}},
        })
    return rules


class PaymentAccepted(BaseModel):
    """A payment request the transaction API has durably accepted (past tense: it happened)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="PaymentAccepted",
                              json_schema_extra={"allOf": currency_rules()})

    schema_version: Literal[1] = 1
    event_id: UUID
    payer_id: AccountId
    payee_id: AccountId
    amount: Amount
    currency: Currency
    description: Description | None = None
    occurred_at: AwareDatetime

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
