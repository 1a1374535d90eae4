"""Accepting and reading payments: the service logic, knowing nothing of HTTP.

Errors are raised as they happen (service_kit.errors); the HTTP edge maps them, once.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.errors import NotFound
from transaction_api import metrics
from transaction_api.http.schemas import PaymentRequest
from transaction_api.ports import EventDispatcher, PaymentView, RequestStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks. `scope` namespaces idempotency keys and owns the payments it creates;
    `owner_scope` is published as `ce_ownerscope` (None when API keys are off)."""

    scope: str
    owner_scope: str | None = None


ANONYMOUS = Caller("public")


@dataclass(frozen=True, slots=True)
class Accepted:
    event_id: UUID
    created_at: datetime
    published: bool
    replayed: bool


@dataclass(frozen=True, slots=True)
class Payments:
    """What the service needs, wired once by the composition root (app.py)."""

    store: RequestStore
    dispatcher: EventDispatcher


# payments_accepted_total's children by `replayed`, each labelled on its first use (as
# before: a series appears once it counts), then reused (labels() formats and locks per call).
_accepted: dict[bool, Any] = {}


def _count_accepted(replayed: bool) -> None:
    child = _accepted.get(replayed)
    if child is None:
        child = _accepted[replayed] = metrics.PAYMENTS_ACCEPTED.labels(
            "true" if replayed else "false")
    child.inc()


def request_hash(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def accept_payment(payments: Payments, payment: PaymentRequest, caller: Caller, *,
                         idempotency_key: str | None, traceparent: str | None) -> Accepted:
    """Durable, then answered: the committed row is the outbox. The event is handed to the
    dispatcher, which publishes it after the answer; the relay covers what it cannot."""
    event = PaymentAccepted(
        event_id=uuid4(), payer_id=payment.payer_id, payee_id=payment.payee_id,
        amount=payment.decimal_amount, currency=payment.currency,
        description=payment.description, occurred_at=datetime.now(UTC),
    )
    record = encode(event, traceparent, owner_scope=caller.owner_scope)
    stored = await payments.store.record(
        scope=caller.scope, idempotency_key=idempotency_key,
        request_hash=request_hash(payment.canonical()), event=event, record=record,
    )
    _count_accepted(stored.replayed)
    if not stored.replayed:
        payments.dispatcher.submit(event.event_id, record)
    # DEBUG, not INFO: a line per payment was a tenth of the API's CPU under load, and the
    # event carries the request's traceparent, which links the two in the traces. Its extra
    # fields are only built when the line is written.
    if log.isEnabledFor(logging.DEBUG):
        log.debug("payment accepted", extra={"event_id": str(stored.event_id),
                                             "replayed": stored.replayed})
    return Accepted(stored.event_id, stored.created_at, stored.published, stored.replayed)


async def find_payment(payments: Payments, event_id: UUID, caller: Caller) -> PaymentView:
    """A payment is visible to the key that created it only; to anyone when keys are off.
    Another key's payment is NotFound, the same as a missing one, so ids leak nothing."""
    view = await payments.store.get(event_id)
    if view is None or (caller.owner_scope is not None and view.scope != caller.scope):
        raise NotFound(f"no payment {event_id}")
    return view
