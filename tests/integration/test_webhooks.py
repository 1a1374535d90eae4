"""Webhooks against the real servers: a receiver on 127.0.0.1 that fails and hangs, checked
with the `standardwebhooks` package; the delivery rows and attempt log counted in PostgreSQL."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from pydantic import SecretStr

from notification_consumer.webhooks import sender, signing
from notification_consumer.webhooks.outbox import Claimed
from service_kit.auth import ApiKeys
from tests.support import consumer_app, in_process, unique, wait_until
from tests.webhook_receiver import Receiver
from tests.webhooks_support import (
    FAST,
    delete_subscriptions,
    deliveries,
    notification_ids,
    produce_for,
    subscribed,
)


async def test_every_notification_is_delivered_signed_despite_500s_and_a_timeout(
    database_url: str, topics: tuple[str, str]
) -> None:
    main = topics[0]
    # Each delivery: attempt 1 answers 500, attempt 2 hangs past the 1 s timeout, 3 succeeds.
    receiver = Receiver(fail_first=1, hang_attempt=2, hang_s=3)
    async with subscribed(database_url, topics, receiver) as run:
        consumer, sub, account = run.consumer, run.subscription, run.account
        await produce_for(main, account, 6, as_payer=True)
        await produce_for(main, account, 4, as_payer=False)
        await produce_for(main, unique("stranger"), 3)  # not this subscription's account

        async def all_recorded() -> list[dict[str, Any]] | None:
            rows = await deliveries(database_url, sub["id"])
            done = len(rows) == 10 and all(r["state"] == "delivered" for r in rows)
            return rows if done else None

        rows = await wait_until(all_recorded, 90, interval=0.2, what="10 deliveries")
        expected = await notification_ids(database_url, account)
        assert len(expected) == 10
        # One delivery per notification of the account, each queued once.
        assert sorted(r["notification_id"] for r in rows) == expected
        # Three attempts each, logged with what happened: 500, a timeout, then 2xx.
        assert all(r["attempts"] == 3 and r["logged"] == 3 for r in rows)
        assert all(r["codes"] == [500, None, 204] for r in rows)
        # The receiver saw every webhook-id three times, every signature valid.
        assert set(receiver.delivered) == {r["webhook_id"] for r in rows}
        assert all(n == 3 for n in receiver.counts().values())
        assert len(receiver.attempts) == 30
        assert all(a.verified_with == [0] for a in receiver.attempts)
        assert sorted(p["data"]["id"] for p in receiver.delivered.values()) == expected
        assert all(p["data"]["account_id"] == account for p in receiver.delivered.values())

        listed = (await consumer.get(f"/webhooks/{sub['id']}/deliveries?limit=3")).json()
        assert len(listed["items"]) == 3 and listed["next_cursor"]
        log = listed["items"][0]["attempt_log"]
        assert [a["status_code"] for a in log] == [500, None, 204]
        assert "timed out" in log[1]["error"] and log[0]["response_excerpt"]

        # A manual redelivery sends the same webhook-id once more.
        first = rows[0]
        response = await consumer.post(
            f"/webhooks/{sub['id']}/deliveries/{first['id']}/redeliver")
        assert response.status_code == 202, response.text

        async def resent() -> bool:
            return receiver.counts()[first["webhook_id"]] == 4

        await wait_until(resent, 30, what="the redelivery")
        assert receiver.attempts[-1].verified_with == [0]


async def test_rotated_secret_old_and_new_both_verify_during_the_grace_period(
    database_url: str, topics: tuple[str, str]
) -> None:
    receiver = Receiver()
    async with subscribed(database_url, topics, receiver, webhook_secret_grace_s=3600) as run:
        consumer, sub = run.consumer, run.subscription
        rotated = await consumer.post(f"/webhooks/{sub['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()
        assert new["secret"] != sub["secret"] and new["previous_secret_expires_at"]
        unrelated = "whsec_" + "A" * 43 + "="
        receiver.secrets = [sub["secret"], new["secret"], unrelated]
        await produce_for(topics[0], run.account, 5)

        async def five() -> bool:
            return len(receiver.attempts) >= 5

        await wait_until(five, 90, what="5 deliveries")
        # Either secret verifies each delivery on its own; a third one does not.
        assert all(a.verified_with == [0, 1] for a in receiver.attempts)


async def test_crud_and_auth(database_url: str, topics: tuple[str, str]) -> None:
    main, dlq = topics
    app = consumer_app(database_url, main, dlq, **FAST, api_keys="key-one,key-two")
    async with in_process(app) as consumer:
        one = {"Authorization": "Bearer key-one"}
        two = {"Authorization": "Bearer key-two"}
        assert (await consumer.get("/webhooks")).status_code == 401
        assert (await consumer.post("/webhooks", json={"url": "http://127.0.0.1:9/x"})
                ).status_code == 401
        created = await consumer.post("/webhooks", headers=one,
                                      json={"url": "http://127.0.0.1:9/x"})
        assert created.status_code == 201
        sub = created.json()
        try:
            assert "secret" not in (await consumer.get(f"/webhooks/{sub['id']}",
                                                       headers=one)).json()
            assert [s["id"] for s in (await consumer.get("/webhooks", headers=one)
                                      ).json()["items"]] == [sub["id"]]
            # Another key neither sees nor touches it.
            assert (await consumer.get("/webhooks", headers=two)).json()["items"] == []
            for method, path in [("GET", ""), ("DELETE", ""), ("POST", "/rotate-secret"),
                                 ("GET", "/deliveries")]:
                response = await consumer.request(method, f"/webhooks/{sub['id']}{path}",
                                                  headers=two)
                assert response.status_code == 404, (method, path)
            bad = await consumer.post("/webhooks", headers=one,
                                      json={"url": "http://127.0.0.1:9/x", "account_id": "a b"})
            assert bad.status_code == 422 and bad.json()["field"] == "account_id"
            assert (await consumer.delete(f"/webhooks/{sub['id']}", headers=one)
                    ).status_code == 204
            assert (await consumer.get(f"/webhooks/{sub['id']}", headers=one)
                    ).status_code == 404
        finally:
            await delete_subscriptions(database_url, [sub["id"]])


async def test_registration_refuses_private_addresses_by_default(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    refused: list[str] = []
    async with in_process(consumer_app(database_url, main, dlq)) as consumer:
        for url, why in [("https://127.0.0.1/hooks", "loopback"),
                         ("https://localhost:8443/hooks", "loopback"),
                         ("https://10.1.2.3/hooks", "private"),
                         ("https://169.254.169.254/latest", "metadata"),
                         ("https://[::ffff:192.168.0.1]/h", "IPv4 inside IPv6"),
                         ("http://example.com/hooks", "https")]:
            response = await consumer.post("/webhooks", json={"url": url})
            assert response.status_code == 422, url
            assert response.json()["field"] == "url" and why in response.json()["detail"], url
            refused.append(url)
        # Open mode shares one owner with the run's other tests: none of these was stored.
        listed = {s["url"] for s in (await consumer.get("/webhooks")).json()["items"]}
        assert listed.isdisjoint(refused)


async def test_send_time_check_refuses_a_private_target_and_sends_nothing() -> None:
    """A subscription made while private targets were allowed is refused at send time once
    they are not: the check runs on every attempt, before any connection."""
    receiver = Receiver(secrets=[signing.new_secret()])
    job = Claimed(1, uuid4(), 1, datetime.now(UTC), None, uuid4(), receiver.url,
                  receiver.secrets, {"id": 1, "event_id": uuid4(), "account_id": "a",
                                     "kind": "debit", "amount": Decimal("1.00"),
                                     "currency": "EUR", "counterparty_id": "b",
                                     "created_at": datetime.now(UTC)})
    client = sender.Clients(4)
    async with receiver.running():
        refused = await sender.attempt(client, job, allow_private=False, timeout_s=2,
                                       excerpt_bytes=100)
        https = replace(job, url=receiver.url.replace("http:", "https:"))
        loopback = await sender.attempt(client, https, allow_private=False, timeout_s=2,
                                        excerpt_bytes=100)
        allowed = await sender.attempt(client, job, allow_private=True, timeout_s=2,
                                       excerpt_bytes=100)
        await client.aclose()
    assert refused.error is not None and refused.error.startswith("refused")
    assert "only https" in refused.error and refused.status_code is None
    assert loopback.error is not None and "127.0.0.1, a loopback address" in loopback.error
    assert allowed.ok and len(receiver.attempts) == 1  # only the allowed attempt arrived
    assert receiver.attempts[0].verified_with == [0]


async def test_a_key_without_account_gets_every_notification_of_its_own_payments_only(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    keys = ApiKeys(SecretStr("key-one,key-two"))
    mine, theirs = keys.scope_for("Bearer key-one"), keys.scope_for("Bearer key-two")
    receiver = Receiver()
    app = consumer_app(database_url, main, dlq, **FAST, api_keys="key-one,key-two")
    async with receiver.running(), in_process(app) as consumer:
        created = await consumer.post("/webhooks", json={"url": receiver.url},
                                      headers={"Authorization": "Bearer key-one"})
        sub = created.json()
        receiver.secrets = [sub["secret"]]
        try:
            own = await produce_for(main, unique("a"), 2, owner_scope=mine)
            await produce_for(main, unique("b"), 2, owner_scope=theirs)
            await produce_for(main, unique("c"), 1)  # accepted without a key
            own += await produce_for(main, unique("d"), 1, owner_scope=mine)  # the sentinel

            async def six() -> list[dict[str, Any]] | None:
                rows = await deliveries(database_url, sub["id"])
                return rows if len(rows) == 6 and all(
                    r["state"] == "delivered" for r in rows) else None

            await wait_until(six, 60, what="6 deliveries")
            got = sorted((p["data"]["event_id"], p["data"]["kind"])
                         for p in receiver.delivered.values())
            assert got == sorted((str(e), k) for e in own for k in ("debit", "credit"))
        finally:
            await delete_subscriptions(database_url, [sub["id"]])
