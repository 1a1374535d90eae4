"""Nothing a subscriber does can fail or slow a payment (contract guarantee 10), and a due
delivery is sent within seconds however many idle subscriptions exist: on the real stack."""

import asyncio
import time
from typing import Any

import httpx

from tests.databases import fresh_database
from tests.support import consumer_app, db_value, in_process, unique, wait_until
from tests.webhook_receiver import Receiver
from tests.webhooks_support import FAST, deliveries, produce_for

S = "notification_consumer"


async def _churn(consumer: httpx.AsyncClient, url: str, stop: asyncio.Event) -> int:
    """Create a subscription to every notification, delete it, again, until told to stop."""
    rounds = 0
    while not stop.is_set():
        created = await consumer.post("/webhooks", json={"url": url})
        assert created.status_code == 201, created.text
        deleted = await consumer.delete(f"/webhooks/{created.json()['id']}")
        assert deleted.status_code == 204, deleted.text
        rounds += 1
    return rounds


async def test_subscription_churn_from_8_clients_never_fails_a_payment(
    topics: tuple[str, str]
) -> None:
    main, dlq = topics
    receiver = Receiver()
    async with fresh_database("paystream_churn") as url, receiver.running(), \
            in_process(consumer_app(url, main, dlq, **FAST)) as consumer:
        stop = asyncio.Event()
        churners = [asyncio.create_task(_churn(consumer, receiver.url, stop))
                    for _ in range(8)]
        try:
            for _ in range(6):  # 300 payments in waves, so batches meet the churn
                await produce_for(main, unique("acct"), 50)

            async def all_processed() -> bool:
                done = await db_value(url, f"SELECT count(*) FROM {S}.processed_events")
                return bool(done == 300)

            await wait_until(all_processed, 120, interval=0.2, what="300 processed")
        finally:
            stop.set()
            rounds = await asyncio.gather(*churners)
        assert sum(rounds) >= 8, "the churn did not run alongside the payments"
        assert await db_value(url, f"SELECT count(*) FROM {S}.dead_letters") == 0
        assert await db_value(url, f"SELECT count(*) FROM {S}.notifications") == 600
        # Deliveries a batch queued for a subscription deleted meanwhile are never claimed;
        # the next prune removes them (no foreign key may fail the batch instead).
        orphans = await db_value(url, f"""
            SELECT count(*) FROM {S}.webhook_deliveries d WHERE NOT EXISTS (
                SELECT 1 FROM {S}.webhook_subscriptions s WHERE s.id = d.subscription_id)""")
        if orphans:
            from notification_consumer.webhooks import history
            from service_kit.db import make_engine
            from service_kit.settings import CommonSettings

            engine = make_engine(CommonSettings(database_url=url))
            try:
                assert await history.prune_orphans(engine, 100_000) == orphans
            finally:
                await engine.dispose()


async def test_a_due_delivery_is_sent_within_5_s_among_50000_idle_subscriptions(
    topics: tuple[str, str]
) -> None:
    main, dlq = topics
    receiver = Receiver()
    account = unique("acct")
    async with fresh_database("paystream_idle") as url, receiver.running():
        # Idle: active, of 1,000 other keys, each for an account that never pays, so none
        # has any delivery.
        await db_value(url, f"""
            INSERT INTO {S}.webhook_subscriptions (owner_scope, account_id, url, secret)
            SELECT 'idle-key-' || n % 1000, 'idle-' || n, $1, 'whsec_' || md5(n::text)
            FROM generate_series(1, 50000) AS n""", receiver.url)
        async with in_process(consumer_app(url, main, dlq, **FAST)) as consumer:
            created = await consumer.post("/webhooks", json={"url": receiver.url,
                                                              "account_id": account})
            assert created.status_code == 201, created.text
            sub = created.json()
            receiver.secrets = [sub["secret"]]
            started = time.monotonic()
            await produce_for(main, account, 1)

            async def queued() -> list[dict[str, Any]] | None:
                return await deliveries(url, sub["id"]) or None

            await wait_until(queued, 30, interval=0.05, what="the delivery queued")
            queued_at = time.monotonic()

            async def sent() -> bool:
                return bool(receiver.attempts)

            await wait_until(sent, 30, interval=0.05, what="the delivery attempted")
            waited = time.monotonic() - queued_at
            assert waited < 5.0, f"a due delivery waited {waited:.1f} s for its first attempt"
            assert time.monotonic() - started < 30
