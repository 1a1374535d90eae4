"""In-memory fakes of the API's ports (transaction_api.ports), for tests without servers."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import UUID

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from payment_events.codec import KafkaRecord
from payment_events.events import PaymentAccepted
from service_kit.auth import ApiKeys
from service_kit.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    TransientStoreError,
)
from transaction_api.accept import Payments
from transaction_api.app import http_app
from transaction_api.context import ApiContext
from transaction_api.ports import PaymentView, StoredRequest


@dataclass
class FakeRequestStore:
    """The same idempotency decisions as PostgresRequestStore, in dicts."""

    rows: dict[UUID, tuple[PaymentView, str, KafkaRecord]] = field(default_factory=dict)
    keys: dict[tuple[str, str], UUID] = field(default_factory=dict)
    marked: list[UUID] = field(default_factory=list)
    down: bool = False
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    async def record(self, *, scope: str, idempotency_key: str | None, request_hash: str,
                     event: PaymentAccepted, record: KafkaRecord) -> StoredRequest:
        if self.down:
            raise TransientStoreError("fake store down")
        if idempotency_key is not None:
            if (scope, idempotency_key) in self.in_flight:
                raise IdempotencyKeyInFlight()
            earlier = self.keys.get((scope, idempotency_key))
            if earlier is not None:
                view, hash_, _ = self.rows[earlier]
                if hash_ != request_hash:
                    raise IdempotencyKeyReused()
                return StoredRequest(earlier, view.created_at, view.published_at is not None,
                                     True)
            self.keys[(scope, idempotency_key)] = event.event_id
        self.rows[event.event_id] = (PaymentView(
            event.event_id, scope, event.payer_id, event.payee_id, event.amount,
            event.currency, event.description, event.occurred_at, None, 0,
        ), request_hash, record)
        return StoredRequest(event.event_id, event.occurred_at, False, False)

    async def get(self, event_id: UUID) -> PaymentView | None:
        if self.down:
            raise TransientStoreError("fake store down")
        found = self.rows.get(event_id)
        return found[0] if found else None

    def mark_published(self, event_id: UUID, partition: int, offset: int) -> None:
        self.marked.append(event_id)
        view, hash_, record = self.rows[event_id]
        self.rows[event_id] = (replace(view, published_at=datetime.now(UTC),
                                       published_partition=partition,
                                       published_offset=offset), hash_, record)


@dataclass
class FakePublisher:
    """The dispatcher's part: publishes at once (one partition), or not at all when down."""

    store: FakeRequestStore
    sent: list[KafkaRecord] = field(default_factory=list)
    down: bool = False

    def submit(self, event_id: UUID, record: KafkaRecord) -> None:
        if self.down:
            return
        self.sent.append(record)
        self.store.mark_published(event_id, 0, len(self.sent) - 1)


@dataclass
class FakeApi:
    store: FakeRequestStore
    publisher: FakePublisher
    app: FastAPI

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport,
                                 base_url="http://127.0.0.1", timeout=10)


def fake_api(api_keys: str = "", max_body_bytes: int = 16_384, *, hot: bool = True) -> FakeApi:
    store = FakeRequestStore()
    publisher = FakePublisher(store)
    context = ApiContext(Payments(store, publisher), ApiKeys(SecretStr(api_keys)),
                         max_body_bytes)
    return FakeApi(store, publisher, http_app(context, {}, set(), hot=hot))
