"""The transaction API against real PostgreSQL and Kafka: durability, idempotency, strict input."""

import asyncio
import re
from typing import Any

import httpx

from tests.support import (
    api_app,
    db_value,
    header,
    in_process,
    payment,
    read_topic,
    read_until,
    unique,
    wait_until,
)


async def rows_for_key(database_url: str, key: str) -> int:
    return int(await db_value(
        database_url,
        "SELECT count(*) FROM transaction_api.payment_requests WHERE idempotency_key = $1", key))


async def published_before_sentinel(api: httpx.AsyncClient, topic: str, body: dict[str, Any],
                                    event_id: str) -> int:
    """How many records of `event_id` precede a sentinel payment from the same payer (so in
    the same partition) accepted afterwards: the positive signal that no copy came late."""
    sentinel = await api.post("/payments", json={**body, "amount": "0.01"})
    assert sentinel.status_code == 202, sentinel.text
    sentinel_id = sentinel.json()["event_id"]
    records = await read_until(topic, lambda r: header(r, "ce_id") == sentinel_id)
    return sum(1 for r in records if header(r, "ce_id") == event_id)


async def test_accepted_payment_is_published_with_cloudevents_headers(
    database_url: str, topics: tuple[str, str]
) -> None:
    body = payment(amount="12.5", currency="USD", description="dinner")
    async with in_process(api_app(database_url, topics[0])) as api:
        response = await api.post("/payments", json=body)
        assert response.status_code == 202, response.text
        accepted = response.json()
        [message] = await read_topic(topics[0], 1)

        async def marked() -> dict[str, Any] | None:
            record = (await api.get(f"/payments/{accepted['event_id']}")).json()
            return record if record["published_at"] else None

        record = await wait_until(marked, 10, what="the payment marked published")
    # Answered once durable, published after the answer; the read says when and where.
    assert accepted["status"] == "accepted"
    assert record["status"] == "published"
    assert (record["partition"], record["offset"]) == (message.partition, message.offset)
    assert record["amount"] == "12.50" and record["currency"] == "USD"
    headers = {k: v.decode() for k, v in message.headers}
    assert message.key == body["payer_id"].encode()
    assert headers["ce_id"] == accepted["event_id"]
    assert headers["ce_type"] == "io.paystream.payment.accepted"
    assert headers["ce_specversion"] == "1.0" and headers["ce_schemaversion"] == "1"


async def test_same_key_same_body_gives_one_payment(
    database_url: str, topics: tuple[str, str]
) -> None:
    key = unique("key")
    body = payment()
    async with in_process(api_app(database_url, topics[0])) as api:
        first = await api.post("/payments", json=body, headers={"Idempotency-Key": key})
        second = await api.post("/payments", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == second.status_code == 202
        event_id = first.json()["event_id"]
        assert await published_before_sentinel(api, topics[0], body, event_id) == 1
    assert second.json()["event_id"] == event_id
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await rows_for_key(database_url, key) == 1


async def test_same_key_different_body_is_422(database_url: str, topics: tuple[str, str]) -> None:
    key = unique("key")
    body = payment()
    async with in_process(api_app(database_url, topics[0])) as api:
        first = await api.post("/payments", json=body, headers={"Idempotency-Key": key})
        other = await api.post("/payments", json={**body, "amount": "13.00"},
                               headers={"Idempotency-Key": key})
    assert first.status_code == 202
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["field"] == "Idempotency-Key"
    assert await rows_for_key(database_url, key) == 1


async def test_fifty_concurrent_twins_make_one_payment_and_one_event(
    database_url: str, topics: tuple[str, str]
) -> None:
    key = unique("key")
    body = payment()
    async with in_process(api_app(database_url, topics[0])) as api:
        responses = await asyncio.gather(*(
            api.post("/payments", json=body, headers={"Idempotency-Key": key})
            for _ in range(50)))
        assert {r.status_code for r in responses} == {202}
        [event_id] = {r.json()["event_id"] for r in responses}
        assert await published_before_sentinel(api, topics[0], body, event_id) == 1
    assert await rows_for_key(database_url, key) == 1


async def test_without_a_key_every_request_is_a_new_payment(
    database_url: str, topics: tuple[str, str]
) -> None:
    body = payment()
    async with in_process(api_app(database_url, topics[0])) as api:
        a = await api.post("/payments", json=body)
        b = await api.post("/payments", json=body)
    assert a.json()["event_id"] != b.json()["event_id"]


async def test_invalid_body_is_422_and_records_nothing(
    database_url: str, topics: tuple[str, str]
) -> None:
    # Every bad-input case is in tests/unit (no servers); this one shows nothing is stored.
    key = unique("key")
    async with in_process(api_app(database_url, topics[0])) as api:
        response = await api.post("/payments", json=payment(amount="1E+3"),
                                  headers={"Idempotency-Key": key})
    assert response.status_code == 422 and response.json()["field"] == "amount"
    assert await rows_for_key(database_url, key) == 0


async def test_api_keys_required_and_scope_idempotency(
    database_url: str, topics: tuple[str, str]
) -> None:
    body = payment()
    key = unique("key")
    app = api_app(database_url, topics[0], api_keys="alpha-key,beta-key")
    async with in_process(app) as api:
        anonymous = await api.post("/payments", json=body)
        wrong = await api.post("/payments", json=body, headers={"Authorization": "Bearer nope"})
        alpha = await api.post("/payments", json=body, headers={
            "Authorization": "Bearer alpha-key", "Idempotency-Key": key})
        beta = await api.post("/payments", json=body, headers={
            "Authorization": "Bearer beta-key", "Idempotency-Key": key})
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert alpha.status_code == beta.status_code == 202
    # The same key under two API keys is two different clients' requests.
    assert alpha.json()["event_id"] != beta.json()["event_id"]
    assert await rows_for_key(database_url, key) == 2


async def test_a_payment_is_readable_only_by_its_key_and_carries_its_scope(
    database_url: str, topics: tuple[str, str]
) -> None:
    alpha, beta = {"Authorization": "Bearer alpha-key"}, {"Authorization": "Bearer beta-key"}
    app = api_app(database_url, topics[0], api_keys="alpha-key,beta-key")
    async with in_process(app) as api:
        created = (await api.post("/payments", json=payment(), headers=alpha)).json()
        path = f"/payments/{created['event_id']}"
        own, other, anonymous = (await api.get(path, headers=alpha),
                                 await api.get(path, headers=beta), await api.get(path))
    assert own.status_code == 200 and own.json()["event_id"] == created["event_id"]
    assert other.status_code == 404 and anonymous.status_code == 401
    [message] = await read_topic(topics[0], 1)
    scope = dict(message.headers)["ce_ownerscope"].decode()
    assert re.fullmatch("[0-9a-f]{16}", scope)
    assert scope == app.state.context.api_keys.scope_for("Bearer alpha-key")


async def test_unknown_payment_is_404_and_bad_id_is_422(
    database_url: str, topics: tuple[str, str]
) -> None:
    async with in_process(api_app(database_url, topics[0])) as api:
        missing = await api.get("/payments/00000000-0000-4000-8000-000000000000")
        bad = await api.get("/payments/not-a-uuid")
    assert missing.status_code == 404 and bad.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"


async def test_health_and_readiness(database_url: str, topics: tuple[str, str]) -> None:
    async with in_process(api_app(database_url, topics[0])) as api:
        assert (await api.get("/healthz")).status_code == 200
        ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True


async def test_database_down_gives_fast_503(topics: tuple[str, str]) -> None:
    # A port where nothing listens stands for a stopped PostgreSQL: refused at once.
    from tests.support import free_port

    url = f"postgresql+asyncpg://paystream@127.0.0.1:{free_port()}/paystream"
    async with in_process(api_app(url, topics[0])) as api:
        started = asyncio.get_running_loop().time()
        response = await api.post("/payments", json=payment())
        elapsed = asyncio.get_running_loop().time() - started
        ready = await api.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    assert elapsed < 5  # a bound against hanging, not a benchmark
    assert ready.status_code == 503

