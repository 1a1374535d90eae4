"""Webhook history retention against the real PostgreSQL: finished deliveries older than the
retention go with their attempt log, in batches; pending ones and recent ones stay; the
consumer's app prunes on start."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from notification_consumer.webhooks import history
from tests.support import connection, consumer_app, in_process, unique, wait_until

S = "notification_consumer"


async def subscription_with(database_url: str, rows: list[tuple[str, timedelta]]
                            ) -> tuple[UUID, list[int]]:
    """A subscription and one delivery per (state, age), each with two logged attempts."""
    now = datetime.now(UTC)
    async with connection(database_url) as conn:
        sub = await conn.fetchval(
            f"INSERT INTO {S}.webhook_subscriptions (url, secret, account_id)"
            " VALUES ('https://hooks.example/x', 'whsec_test', $1) RETURNING id", unique("acct"))
        ids = []
        for n, (state, age) in enumerate(rows):
            delivery = await conn.fetchval(
                f"INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id, state,"
                " next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                sub, 10_000_000 + n, state, now - age)
            await conn.executemany(
                f"INSERT INTO {S}.webhook_attempts (delivery_id, attempt, url, latency_ms)"
                " VALUES ($1, $2, 'https://hooks.example/x', 1.0)", [(delivery, 1), (delivery, 2)])
            ids.append(delivery)
    return sub, ids


def pruned_total() -> float:
    return REGISTRY.get_sample_value("webhook_history_pruned_total") or 0.0


async def forget(database_url: str, sub: UUID) -> None:
    """The subscription and (cascading) its deliveries: nothing left for later tests' workers."""
    async with connection(database_url) as conn:
        await conn.execute(f"DELETE FROM {S}.webhook_subscriptions WHERE id = $1", sub)


async def left_of(database_url: str, sub: UUID) -> tuple[list[int], int]:
    async with connection(database_url) as conn:
        deliveries = [r["id"] for r in await conn.fetch(
            f"SELECT id FROM {S}.webhook_deliveries WHERE subscription_id = $1 ORDER BY id", sub)]
        attempts = await conn.fetchval(
            f"SELECT count(*) FROM {S}.webhook_attempts WHERE delivery_id = ANY($1::bigint[])",
            deliveries)
    return deliveries, attempts


async def test_finished_deliveries_past_retention_go_with_their_attempts(
    database_url: str
) -> None:
    old, recent = timedelta(days=40), timedelta(days=2)
    sub, ids = await subscription_with(database_url, [
        ("delivered", old), ("failed", old), ("delivered", old + timedelta(days=1)),
        ("pending", old), ("delivered", recent), ("failed", recent)])
    engine = create_async_engine(database_url)
    before = pruned_total()
    try:
        # Batches of two: 2 + 1, the short second batch ends the run.
        deleted = await history.prune(engine, timedelta(days=30), batch=2)
        again = await history.prune(engine, timedelta(days=30), batch=2)
        remaining, attempts = await left_of(database_url, sub)
    finally:
        await engine.dispose()
        await forget(database_url, sub)
    assert deleted == 3 and again == 0
    assert remaining == [ids[3], ids[4], ids[5]]  # the old pending one and the recent two
    assert attempts == 6  # two each, the pruned ones' attempts went with them
    assert pruned_total() - before == 3


async def test_the_consumer_prunes_when_it_starts(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    sub, ids = await subscription_with(database_url, [("delivered", timedelta(hours=3)),
                                                      ("pending", timedelta(hours=3)),
                                                      ("delivered", timedelta(minutes=1))])
    try:
        async with in_process(consumer_app(database_url, main, dlq,
                                           webhook_history_retention_h=1.0)):
            async def pruned() -> bool:
                return (await left_of(database_url, sub))[0] == ids[1:]
            await wait_until(pruned, 30, interval=0.2, what="the old finished delivery pruned")
    finally:
        await forget(database_url, sub)
