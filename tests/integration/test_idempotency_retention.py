"""Idempotency keys are forgotten after the retention; the payment itself stays."""

from datetime import timedelta

from tests.support import (
    api_app,
    connection,
    db_value,
    in_process,
    payment,
    unique,
    wait_until,
)
from transaction_api.outbox.retention import expire_idempotency_keys


async def test_expired_key_can_be_used_again_and_the_payment_stays(
    database_url: str, topics: tuple[str, str]
) -> None:
    key = unique("key")
    body = payment()
    app = api_app(database_url, topics[0])
    async with in_process(app) as api:
        first = (await api.post("/payments", json=body, headers={"Idempotency-Key": key})).json()
        # Nothing is old enough yet under the default retention.
        engine = app.state.engine
        assert await expire_idempotency_keys(engine, timedelta(hours=24)) == 0
        replay = (await api.post("/payments", json=body, headers={"Idempotency-Key": key})).json()
        assert replay["event_id"] == first["event_id"]
        first_id = first["event_id"]

        async def forgotten() -> bool:
            # A row another transaction holds (the published-marker's update) is skipped and
            # taken on a later call: SKIP LOCKED, so replicas never wait on each other.
            await expire_idempotency_keys(engine, timedelta(seconds=0))
            return bool(await db_value(
                database_url, "SELECT idempotency_key IS NULL FROM "
                "transaction_api.payment_requests WHERE event_id = $1::uuid", first_id))

        await wait_until(forgotten, 10, interval=0.05, what="the key expired")
        fresh = (await api.post("/payments", json=body, headers={"Idempotency-Key": key})).json()
        kept = await api.get(f"/payments/{first['event_id']}")
    assert fresh["event_id"] != first["event_id"]
    assert kept.status_code == 200
    assert await db_value(
        database_url,
        "SELECT count(*) FROM transaction_api.payment_requests WHERE idempotency_key = $1",
        key) == 1


async def test_expiry_works_through_many_batches_and_keeps_fresh_keys(database_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    scope = unique("scope")
    engine = create_async_engine(database_url)
    async with connection(database_url) as conn:
        await conn.execute("""
            INSERT INTO transaction_api.payment_requests (event_id, scope, idempotency_key,
                request_hash, payer_id, payee_id, amount, currency, event_key, event_value,
                event_headers, created_at, published_at)
            SELECT gen_random_uuid(), $1, 'k' || i, 'h', 'a1', 'b2', 1, 'EUR', 'k', 'v', '[]',
                   now() - make_interval(hours => CASE WHEN i <= 12 THEN 25 ELSE 1 END), now()
            FROM generate_series(1, 15) AS i""", scope)
        expired = await expire_idempotency_keys(engine, timedelta(hours=24), batch_size=5)
        keys = await conn.fetchval("SELECT count(idempotency_key) FROM "
                                   "transaction_api.payment_requests WHERE scope = $1", scope)
        rows = await conn.fetchval("SELECT count(*) FROM transaction_api.payment_requests "
                                   "WHERE scope = $1", scope)
    await engine.dispose()
    assert expired >= 12  # three batches of five, stopped by a short one
    assert keys == 3 and rows == 15  # the fresh keys stay, every payment stays
