"""Who may see what, and what one key may hold: streams per key, dead letters for admin keys
only on every surface, and open mode's local-only rules (contract guarantees 10 and 11)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from tests.support import consumer_app, db_value, in_process, unique
from tests.webhook_receiver import serving
from tests.webhooks_support import FAST

S = "notification_consumer"
KEYS = {"api_keys": "reader-one,reader-two", "admin_api_keys": "the-admin"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextlib.asynccontextmanager
async def open_stream(client: httpx.AsyncClient, key: str) -> AsyncIterator[httpx.Response]:
    async with client.stream("GET", "/notifications/stream", headers=bearer(key)) as response:
        # Held until the end: a line iterator dropped early is finalised, and closes the
        # response with it.
        lines = response.aiter_lines()
        if response.status_code == 200:
            await anext(lines)  # the stream is open once it speaks
        yield response
        del lines


async def test_one_key_cannot_hold_every_stream(database_url: str,
                                                topics: tuple[str, str]) -> None:
    main, dlq = topics
    app = consumer_app(database_url, main, dlq, **FAST, **KEYS, stream_max_per_key=3)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        async with contextlib.AsyncExitStack() as held:
            for _ in range(3):
                opened = await held.enter_async_context(open_stream(client, "reader-one"))
                assert opened.status_code == 200
            flood = await client.get("/notifications/stream", headers=bearer("reader-one"))
            assert flood.status_code == 429, flood.text
            assert flood.headers["content-type"] == "application/problem+json"
            assert "Retry-After" in flood.headers
            # Another key is not locked out by the first one's streams.
            async with open_stream(client, "reader-two") as other:
                assert other.status_code == 200
        # Closed streams give their quota back.
        await asyncio.sleep(0.5)
        async with open_stream(client, "reader-one") as again:
            assert again.status_code == 200


async def test_dead_letters_need_an_admin_key_on_every_surface(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    letter = await db_value(database_url, f"""
        INSERT INTO {S}.dead_letters (group_id, topic, partition, "offset", value,
            reason, error_class, error_message, attempts, event_id)
        VALUES ($1, $2, 0, 1, 'secret bytes of someone', 'schema', 'PoisonMessage',
            'secret bytes of someone', 1, gen_random_uuid()) RETURNING id""",
        unique("group"), main)
    async with in_process(consumer_app(database_url, main, dlq, **KEYS)) as client:
        rest = await client.get("/dead-letters", headers=bearer("reader-one"))
        assert rest.status_code == 403
        # The console: a reader's login works, but its dead-letter pages are refused.
        login = await client.post("/console/login", data={"key": "reader-one"})
        assert login.status_code == 303, login.text
        for path in ("/console/dead-letters", f"/console/dead-letters/{letter}"):
            page = await client.get(path)
            assert page.status_code == 403, path
            assert "secret bytes" not in page.text
        await client.post("/console/logout")
        login = await client.post("/console/login", data={"key": "the-admin"})
        assert login.status_code == 303
        page = await client.get(f"/console/dead-letters/{letter}")
        assert page.status_code == 200 and "secret bytes" in page.text
        admin = await client.get("/dead-letters", headers=bearer("the-admin"))
        assert admin.status_code == 200


async def test_open_mode_refuses_foreign_hosts_origins_and_non_json(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    body = {"url": "http://127.0.0.1:9/hooks"}
    async with in_process(consumer_app(database_url, main, dlq, **FAST)) as client:
        rebound = await client.post("/webhooks", json=body,
                                    headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and rebound.json()["field"] == "Host"
        cross = await client.post("/webhooks", json=body,
                                  headers={"Origin": "https://attacker.example"})
        assert cross.status_code == 403 and cross.json()["field"] == "Origin"
        form = await client.post("/webhooks", content=b'{"url": "http://127.0.0.1:9/"}',
                                 headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        reads = await client.get("/events", headers={"Host": "attacker.example"})
        assert reads.status_code == 200  # reads are not state changes
        local = await client.post("/webhooks", json=body)
        assert local.status_code == 201, local.text
        await client.delete(f"/webhooks/{local.json()['id']}")


async def test_a_burst_of_creates_stops_at_the_quota_and_starves_no_one(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    body = {"url": "http://127.0.0.1:9/hooks"}
    async with in_process(consumer_app(database_url, main, dlq, **FAST, **KEYS)) as client:
        burst = await asyncio.gather(*[
            client.post("/webhooks", json=body, headers=bearer("reader-one"))
            for _ in range(130)])
        codes = sorted(r.status_code for r in burst)
        # Exactly the quota, the rest a clear 429; never a 503 from a pool one key exhausted.
        assert codes == [201] * 100 + [429] * 30, sorted(set(codes))
        other = await client.post("/webhooks", json=body, headers=bearer("reader-two"))
        assert other.status_code == 201
        ids = [r.json()["id"] for r in burst if r.status_code == 201] + [other.json()["id"]]
    await db_value(database_url, f"DELETE FROM {S}.webhook_subscriptions "
                                 "WHERE id = ANY($1::uuid[])", ids)
