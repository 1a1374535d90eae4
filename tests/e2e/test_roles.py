"""The consumer's roles as separate processes over one database: ingest alone writes, http
alone serves REST and subscriptions, webhooks alone sends, console alone serves its pages."""

import asyncio

import httpx

from tests.processes import BIN, Service
from tests.support import payment, served_event, unique, wait_until
from tests.webhook_receiver import Receiver
from tests.webhooks_support import FAST_ENV


def role(name: str, env: dict[str, str]) -> Service:
    label = name.replace(",", "-")
    return Service("notification-consumer", env, name=f"consumer-{label}-{unique('r')[-6:]}",
                   argv=[str(BIN / "notification-consumer"), "serve", "--roles", name])


async def status(url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(url)).status_code


async def test_roles_run_apart_over_one_database(database_url: str,
                                                 topics: tuple[str, str]) -> None:
    main, dlq = topics
    env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": unique("group"), "BATCH_WAIT_MS": "20", **FAST_ENV}
    api = Service("transaction-api", env)
    parts = {name: role(name, env) for name in ("ingest", "http", "webhooks", "console")}
    receiver = Receiver()
    try:
        for service in (api, *parts.values()):
            service.start()
        await asyncio.gather(*(s.ready() for s in (api, *parts.values())))
        ingest, http, console = parts["ingest"], parts["http"], parts["console"]

        # Each process serves only its own routes (and health/metrics).
        assert await status(f"{ingest.url}/events?limit=1") == 404
        assert await status(f"{parts['webhooks'].url}/webhooks") == 404
        assert await status(f"{console.url}/stats") == 404
        assert await status(f"{http.url}/console/") == 404
        for service in parts.values():
            assert await status(f"{service.url}/metrics") == 200

        account = unique("acct")
        async with receiver.running(), httpx.AsyncClient(timeout=10) as client:
            made = await client.post(f"{http.url}/webhooks",
                                     json={"url": receiver.url, "account_id": account})
            assert made.status_code == 201, made.text
            receiver.secrets = [made.json()["secret"]]
            posted = await client.post(f"{api.url}/payments", json=payment(payer=account))
            assert posted.status_code == 202, posted.text
            event_id = posted.json()["event_id"]
            # Written by the ingest process, read through the http process.
            row = await served_event(client, event_id, 60, http.url)
            assert row["event_id"] == event_id

            async def delivered() -> bool:
                return any(p.get("data", {}).get("event_id") == event_id
                           for p in receiver.delivered.values())

            # Sent by the webhooks process, signed with the secret the http process made.
            await wait_until(delivered, 60, what="the webhook sent by the webhooks role")

            stats = (await client.get(f"{http.url}/stats")).json()
            assert stats["processed"] >= 1
            assert "another process" in stats["consumer"]["degraded"]
            page = await client.get(f"{console.url}/console/", follow_redirects=True)
            assert page.status_code == 200
    finally:
        await asyncio.gather(*(s.terminate() for s in (api, *parts.values())),
                             return_exceptions=True)
        await asyncio.gather(*(s.crash() for s in (api, *parts.values())))


def test_unknown_role_is_refused_with_its_name() -> None:
    import subprocess

    done = subprocess.run([str(BIN / "notification-consumer"), "serve", "--roles", "ingest,x"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "ingest,http,webhooks,console" in done.stderr and "ingest,x" in done.stderr


async def test_only_the_ingest_role_exports_consumer_ready(database_url: str,
                                                           topics: tuple[str, str]) -> None:
    """ConsumerNotReady alerts on consumer_ready == 0: a process without the loop must not
    export the gauge at all, and one with it must."""
    main, dlq = topics
    env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": unique("group"), "LAG_SAMPLE_INTERVAL_S": "0.2"}
    parts = {name: role(name, env) for name in ("ingest", "http,webhooks,console")}
    try:
        for service in parts.values():
            service.start()
        await asyncio.gather(*(s.ready() for s in parts.values()))
        async with httpx.AsyncClient(timeout=10) as client:
            async def ready_line(url: str) -> list[str]:
                text = (await client.get(f"{url}/metrics")).text
                return [line for line in text.splitlines() if line.startswith("consumer_ready")]

            async def ingest_ready() -> bool:
                return await ready_line(parts["ingest"].url) == ["consumer_ready 1.0"]

            await wait_until(ingest_ready, 30, what="consumer_ready 1 from the ingest role")
            assert await ready_line(parts["http,webhooks,console"].url) == []
    finally:
        await asyncio.gather(*(s.terminate() for s in parts.values()), return_exceptions=True)
        for service in parts.values():
            await service.crash()
