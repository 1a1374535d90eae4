"""Idempotency keys are forgotten after the retention; the payment itself stays."""

from datetime import timedelta

from tests.support import api_app, db_value, in_process, payment, unique
from transaction_api.requests import expire_idempotency_keys


async def test_expired_key_can_be_used_again_and_the_payment_stays(
    database_url: str, topics: tuple[str, str]
) -> None:
    key = unique("key")
    body = payment()
    app = api_app(database_url, topics[0])
    async with in_process(app) as api:
        first = (await api.post("/payments", json=body, headers={"Idempotency-Key": key})).json()
        # Nothing is old enough yet under the default retention.
        engine = app.state.context.engine
        assert await expire_idempotency_keys(engine, timedelta(hours=24)) == 0
        replay = (await api.post("/payments", json=body, headers={"Idempotency-Key": key})).json()
        assert replay["event_id"] == first["event_id"]
        assert await expire_idempotency_keys(engine, timedelta(seconds=0)) >= 1
        fresh = (await api.post("/payments", json=body, headers={"Idempotency-Key": key})).json()
        kept = await api.get(f"/payments/{first['event_id']}")
    assert fresh["event_id"] != first["event_id"]
    assert kept.status_code == 200
    assert await db_value(
        database_url,
        "SELECT count(*) FROM transaction_api.payment_requests WHERE idempotency_key = $1",
        key) == 1
