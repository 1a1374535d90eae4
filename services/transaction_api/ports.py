"""The small protocols the payment service needs from the outside world.

The real adapters (requests.PostgresRequestStore, publisher.Publisher) and the in-memory fakes
of the unit tests implement the same ones, so the service logic is tested without servers.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol
from uuid import UUID

from payment_events.codec import KafkaRecord
from payment_events.events import PaymentAccepted


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """What the store holds for one accepted request (the first one, for a replayed key)."""

    event_id: UUID
    created_at: datetime
    published: bool
    replayed: bool  # True when an earlier request with the same key is answered again


@dataclass(frozen=True, slots=True)
class PaymentView:
    """A recorded payment as `GET /payments/{id}` shows it, with the scope that owns it."""

    event_id: UUID
    scope: str
    payer_id: str
    payee_id: str
    amount: Decimal
    currency: str
    description: str | None
    created_at: datetime
    published_at: datetime | None
    publish_attempts: int
    published_partition: int | None = None
    published_offset: int | None = None


class Published(NamedTuple):
    """Kafka acknowledged this event here (None, None: placement unknown)."""

    event_id: UUID
    partition: int | None = None
    offset: int | None = None


class RequestStore(Protocol):
    async def record(self, *, scope: str, idempotency_key: str | None, request_hash: str,
                     event: PaymentAccepted, record: KafkaRecord) -> StoredRequest:
        """Record durably, or return the earlier request under the same (scope, key).
        Raises IdempotencyKeyReused, IdempotencyKeyInFlight or TransientStoreError."""
        ...

    async def get(self, event_id: UUID) -> PaymentView | None:
        """Raises TransientStoreError when the database cannot answer."""
        ...



class EventDispatcher(Protocol):
    def submit(self, event_id: UUID, record: KafkaRecord) -> None:
        """Publish a durably recorded event soon, off the request path, and note where Kafka
        put it. Never blocks and never raises: what it cannot publish, the relay does."""
        ...
