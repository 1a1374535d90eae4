"""The delivery outbox's trigger in PostgreSQL: one row per (subscription, notification),
scoped by account and by the owner's key, queued once however often an event arrives."""

from uuid import uuid4

from tests.support import unique, wait_until
from tests.webhook_receiver import Receiver
from tests.webhooks_support import (
    connect,
    delete_subscriptions,
    deliveries,
    produce_for,
    subscribed,
)

S = "notification_consumer"


async def test_trigger_scopes_by_owner_and_account_and_queues_once(database_url: str) -> None:
    conn = await connect(database_url)
    mine, theirs = "a" * 16, "b" * 16
    payer, payee = unique("payer"), unique("payee")
    subs = []
    try:
        for owner, account in [(mine, None), (theirs, None), (mine, payer), (mine, payee)]:
            subs.append(str(await conn.fetchval(
                f"INSERT INTO {S}.webhook_subscriptions (owner_scope, account_id, url, secret) "
                "VALUES ($1, $2, 'https://example.com/h', 'whsec_AAAA') RETURNING id",
                owner, account)))
        await conn.execute(f"UPDATE {S}.webhook_subscriptions SET status = 'disabled' "
                           "WHERE id = $1::uuid", subs[3])
        event_id = uuid4()
        insert_notes = f"""
            INSERT INTO {S}.notifications (event_id, account_id, kind, amount, currency,
                counterparty_id)
            VALUES ($1, $2, 'debit', 1, 'EUR', $3), ($1, $3, 'credit', 1, 'EUR', $2)
            ON CONFLICT DO NOTHING"""
        async with conn.transaction():
            await conn.execute(f"""
                INSERT INTO {S}.processed_events (event_id, payer_id, payee_id, amount,
                    currency, occurred_at, topic, partition, "offset", payload_hash,
                    owner_scope)
                VALUES ($1, $2, $3, 1, 'EUR', now(), 't', 0, 0, 'h', $4)""",
                event_id, payer, payee, mine)
            await conn.execute(insert_notes, event_id, payer, payee)
        # The same notifications again (a redelivered record): nothing new is queued.
        await conn.execute(insert_notes, event_id, payer, payee)
        counts = [len(await deliveries(database_url, sub)) for sub in subs]
        # Mine without account: both notices; theirs: none; mine for the payer: the debit;
        # a disabled subscription: nothing.
        assert counts == [2, 0, 1, 0]
    finally:
        await conn.close()
        await delete_subscriptions(database_url, subs)


async def test_a_duplicated_event_is_delivered_once(
    database_url: str, topics: tuple[str, str]
) -> None:
    main = topics[0]
    receiver = Receiver()
    async with subscribed(database_url, topics, receiver) as run:
        sub, account = run.subscription, run.account
        await produce_for(main, account, 3, duplicate=True)
        await produce_for(main, account, 1)  # the sentinel: processed after the copies

        async def four() -> bool:
            rows = await deliveries(database_url, sub["id"])
            return len(rows) == 4 and all(r["state"] == "delivered" for r in rows)

        await wait_until(four, 60, what="4 deliveries")
        assert len(receiver.attempts) == 4 and len(receiver.delivered) == 4
