"""Shared by the webhook and live-stream tests: fast retry settings, events for one account,
a subscribed receiver, and counts straight from PostgreSQL."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from tests.support import consumer_app, in_process, producer, unique
from tests.webhook_receiver import Receiver

# Retries in tens of milliseconds instead of minutes; a 1 s timeout so a hung receiver costs
# one second; private networks allowed because the receiver is on 127.0.0.1.
FAST: dict[str, Any] = {
    "webhook_allow_private_networks": True, "webhook_timeout_s": 1.0,
    "webhook_backoff_initial_s": 0.05, "webhook_backoff_max_s": 0.5,
    "webhook_poll_interval_s": 0.2, "webhook_lease_s": 5.0, "stream_poll_interval_s": 0.05,
    "stream_heartbeat_s": 1.0,
}
FAST_ENV = {key.upper(): str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in FAST.items()}


async def produce_for(topic: str, account: str, n: int, *, as_payer: bool = True,
                      owner_scope: str | None = None, duplicate: bool = False) -> list[UUID]:
    """`n` payments where `account` pays (debit notices) or is paid (credit notices);
    `duplicate` sends each record twice, as a producer's retry would."""
    ids = []
    async with producer() as p:
        for _ in range(n):
            other = unique("other")
            event = PaymentAccepted(
                event_id=uuid4(), payer_id=account if as_payer else other,
                payee_id=other if as_payer else account, amount=Decimal("3.10"),
                currency="EUR", occurred_at=datetime.now(UTC))
            record = encode(event, owner_scope=owner_scope)
            for _ in range(2 if duplicate else 1):
                await p.send(topic, value=record.value, key=record.key, headers=record.headers)
            ids.append(event.event_id)
        await p.flush()
    return ids


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("+asyncpg", ""), timeout=10)


async def fetch(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def notification_ids(url: str, account: str) -> list[int]:
    rows = await fetch(url, "SELECT id FROM notification_consumer.notifications "
                            "WHERE account_id = $1 ORDER BY id", account)
    return [r["id"] for r in rows]


async def deliveries(url: str, subscription_id: str) -> list[dict[str, Any]]:
    return await fetch(url, """
        SELECT d.id, d.notification_id, d.state, d.attempts, 'msg_' || replace(
            d.message_id::text, '-', '') AS webhook_id,
            (SELECT count(*) FROM notification_consumer.webhook_attempts a
             WHERE a.delivery_id = d.id) AS logged,
            (SELECT array_agg(a.status_code ORDER BY a.id)
             FROM notification_consumer.webhook_attempts a WHERE a.delivery_id = d.id) AS codes
        FROM notification_consumer.webhook_deliveries d
        WHERE d.subscription_id = $1::uuid ORDER BY d.id""", subscription_id)


async def delete_subscriptions(url: str, ids: list[str]) -> None:
    """Later tests share the database: leave no subscription that could match their data."""
    conn = await connect(url)
    try:
        await conn.execute("DELETE FROM notification_consumer.webhook_subscriptions "
                           "WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()


async def subscribe(consumer: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await consumer.post("/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


@dataclass
class Subscribed:
    consumer: httpx.AsyncClient
    subscription: dict[str, Any]
    account: str


@asynccontextmanager
async def subscribed(database_url: str, topics: tuple[str, str], receiver: Receiver,
                     **settings: Any) -> AsyncIterator[Subscribed]:
    """A consumer in this process (FAST and `settings`) and `receiver`, subscribed to a fresh
    account's notifications with the secret it was given; the subscription is deleted after."""
    account = unique("acct")
    async with receiver.running(), in_process(consumer_app(
            database_url, *topics, **{**FAST, **settings})) as consumer:
        sub = await subscribe(consumer, receiver.url, account_id=account)
        receiver.secrets = [sub["secret"]]
        try:
            yield Subscribed(consumer, sub, account)
        finally:
            await delete_subscriptions(database_url, [sub["id"]])
