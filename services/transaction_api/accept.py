"""Accepting and reading payments: the service logic, knowing nothing of HTTP.

Errors are raised as they happen (service_kit.errors); the HTTP edge maps them, once.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from payment_events.codec import KafkaRecord, encode
from payment_events.events import PaymentAccepted
from service_kit.errors import NotFound, PublishFailed
from transaction_api import metrics
from transaction_api.http.schemas import PaymentRequest
from transaction_api.ports import EventPublisher, PaymentView, RequestStore

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
    publisher: EventPublisher
    publish_timeout_s: float


def request_hash(canonical: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def accept_payment(payments: Payments, payment: PaymentRequest, caller: Caller, *,
                         idempotency_key: str | None, traceparent: str | None) -> Accepted:
    """Durable first (the 202 promise), then one bounded publish; the relay does the rest."""
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
    metrics.PAYMENTS_ACCEPTED.labels("true" if stored.replayed else "false").inc()
    published = stored.published
    if not stored.replayed:
        published = await _publish_now(payments, event.event_id, record)
    # One line per payment links the HTTP trace id to the event id; the handler formats it
    # here and a writer thread does the I/O (service_kit.logs).
    log.info("payment accepted", extra={"event_id": str(stored.event_id),
                                        "replayed": stored.replayed, "published": published})
    return Accepted(stored.event_id, stored.created_at, published, stored.replayed)


async def _publish_now(payments: Payments, event_id: UUID, record: KafkaRecord) -> bool:
    """The request path's one bounded attempt; whatever fails here the relay publishes."""
    started = time.perf_counter()
    try:
        await payments.publisher.publish(record, payments.publish_timeout_s)
    except PublishFailed as exc:
        metrics.PUBLISH_FAILURES.inc()
        log.warning("publish deferred to relay", extra={"event_id": str(event_id),
                                                        "error": str(exc)})
        return False
    metrics.PUBLISH_LATENCY.observe(time.perf_counter() - started)
    payments.store.mark_published(event_id)
    return True


async def find_payment(payments: Payments, event_id: UUID, caller: Caller) -> PaymentView:
    """A payment is visible to the key that created it only; to anyone when keys are off.
    Another key's payment is NotFound, the same as a missing one, so ids leak nothing."""
    view = await payments.store.get(event_id)
    if view is None or (caller.owner_scope is not None and view.scope != caller.scope):
        raise NotFound(f"no payment {event_id}")
    return view
