"""With API keys set, the consumer shows a key only the payments it created
(by the `ce_ownerscope` header), admin keys see everything, no key sees nothing."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from pydantic import SecretStr

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.auth import ApiKeys
from tests.support import consumer_app, in_process, producer, wait_until

KEYS = ApiKeys(SecretStr("alice-key,bob-key"))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_each_key_sees_only_its_own_payments(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    sent: dict[str, UUID] = {}
    async with producer() as p:
        for who in ("alice-key", "bob-key", None):
            event = PaymentAccepted(event_id=uuid4(), payer_id="acct_shared",
                                    payee_id=f"acct_{who or 'anon'}"[:20], amount=Decimal("3.00"),
                                    currency="EUR", occurred_at=datetime.now(UTC))
            scope = KEYS.scope_for(f"Bearer {who}") if who else None
            record = encode(event, owner_scope=scope)
            await p.send_and_wait(main, value=record.value, key=record.key,
                                  headers=record.headers)
            sent[who or "anon"] = event.event_id
    app = consumer_app(database_url, main, dlq, api_keys="alice-key,bob-key",
                       admin_api_keys="ops-key")
    async with in_process(app) as client:
        async def all_three() -> Any:
            body = (await client.get("/events", params={"account_id": "acct_shared"},
                                     headers=bearer("ops-key"))).json()
            return len(body["items"]) == 3

        await wait_until(all_three, 60, what="three events processed")
        alice = (await client.get("/events", params={"account_id": "acct_shared"},
                                  headers=bearer("alice-key"))).json()["items"]
        assert [e["event_id"] for e in alice] == [str(sent["alice-key"])]
        assert (await client.get(f"/events/{sent['bob-key']}",
                                 headers=bearer("alice-key"))).status_code == 404
        assert (await client.get(f"/events/{sent['bob-key']}",
                                 headers=bearer("bob-key"))).status_code == 200
        assert (await client.get(f"/events/{sent['anon']}",
                                 headers=bearer("bob-key"))).status_code == 404
        notes = (await client.get("/notifications", params={"account_id": "acct_shared"},
                                  headers=bearer("alice-key"))).json()["items"]
        assert {n["event_id"] for n in notes} == {str(sent["alice-key"])}
        assert (await client.get("/events")).status_code == 401
        assert (await client.get("/dead-letters", headers=bearer("alice-key"))).status_code == 403
        for path in ("/dead-letters/1", "/dead-letters/abc"):  # admin first, then the id
            assert (await client.get(path, headers=bearer("alice-key"))).status_code == 403
            assert (await client.get(path)).status_code == 401


async def test_stats_is_a_pure_read(database_url: str, topics: tuple[str, str]) -> None:
    from notification_consumer import metrics

    main, dlq = topics
    app = consumer_app(database_url, main, dlq, lag_sample_interval_s=3600)  # no sampler run
    async with in_process(app) as client:
        for gauge in metrics.PER_PARTITION:
            gauge.clear()
        for _ in range(3):
            response = await client.get("/stats")
            assert response.status_code == 200
            assert response.json()["lag"] is not None
        for gauge in metrics.PER_PARTITION:
            assert not [s for m in gauge.collect() for s in m.samples]
