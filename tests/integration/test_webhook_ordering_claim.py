"""The ordered claim in PostgreSQL: only an account's oldest pending delivery is ever claimed,
and an account whose turn has come is found even among many accounts that all wait for a
retry (more than one claim looks at)."""

from sqlalchemy.ext.asyncio import create_async_engine

from notification_consumer.webhooks import ordering, outbox
from tests.webhooks_support import connect

S = "notification_consumer"
ACCOUNTS = 3 * ordering.WALK  # one claim looks at a third of them
PER_ACCOUNT = 4


async def test_only_heads_are_claimed_and_a_due_one_is_found_among_many_waiting(
    database_url: str,
) -> None:
    conn = await connect(database_url)
    engine = create_async_engine(database_url)
    try:
        sub = await conn.fetchval(
            f"INSERT INTO {S}.webhook_subscriptions (url, secret, ordering) "
            "VALUES ('http://127.0.0.1:9/x', 'whsec_AAAA', 'account') RETURNING id")
        # Notifications without a processed event queue nothing; the deliveries are written
        # here: every account's later ones are due, every head waits for its retry, except
        # the head of one account in the middle.
        await conn.execute(f"""
            INSERT INTO {S}.notifications (event_id, account_id, kind, amount, currency,
                counterparty_id)
            SELECT gen_random_uuid(), 'ord-' || lpad(a::text, 5, '0'), 'debit', 1, 'EUR', 'x'
            FROM generate_series(1, $1) a, generate_series(1, $2) k""",
            ACCOUNTS, PER_ACCOUNT)
        await conn.execute(f"""
            INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id,
                next_attempt_at, created_at, account_id)
            SELECT $1, n.id, CASE WHEN n.id = min(n.id) OVER (PARTITION BY n.account_id)
                    AND n.account_id <> $2 THEN now() + interval '1 hour'
                    ELSE now() - interval '1 minute' END,
                now(), n.account_id
            FROM {S}.notifications n WHERE n.account_id LIKE 'ord-%'""",
            sub, f"ord-{ACCOUNTS // 2:05d}")
        due_head = await conn.fetchval(f"""
            SELECT d.id FROM {S}.webhook_deliveries d
            JOIN {S}.notifications n ON n.id = d.notification_id
            WHERE d.account_id = $1 ORDER BY n.id LIMIT 1""", f"ord-{ACCOUNTS // 2:05d}")

        claimed: list[int] = []
        for _ in range(40):
            got = await outbox.claim(engine, outbox.Capacity(16, 32, {}, {}), 64, 60.0)
            claimed += [c.delivery_id for c in got]
            if claimed:
                break
        # The due head, alone: none of the many due deliveries behind a waiting head.
        assert claimed == [due_head]
        # Claimed, it is in its lease: nothing of any account is due now.
        assert await outbox.claim(engine, outbox.Capacity(16, 32, {}, {}), 64, 60.0) == []
    finally:
        await conn.execute(f"DELETE FROM {S}.webhook_deliveries WHERE account_id LIKE 'ord-%'")
        await conn.execute(f"DELETE FROM {S}.webhook_subscriptions WHERE ordering = 'account'")
        await conn.close()
        await engine.dispose()
