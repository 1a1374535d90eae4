"""How both services' HTTP APIs show a payment: the accepted request (API) and the processed
event (consumer) start with the same fields, so a client, the console or a reconciliation
can set one beside the other."""

from uuid import UUID

from pydantic import BaseModel


class PaymentView(BaseModel):
    event_id: UUID
    payer_id: str
    payee_id: str
    amount: str  # the canonical text for the currency (money.canonical_amount)
    currency: str
    description: str | None
