"""Receivers that answer with bytes PostgreSQL cannot hold, too many bytes, or too slowly, and
host names only IDNA can spell: every attempt is recorded, no result drops another's, no send
task dies (issue: "a 2xx can go unrecorded forever")."""

import asyncio
import gzip
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.support import consumer_app, db_rows, free_port, in_process, unique, wait_until
from tests.webhook_receiver import serving
from tests.webhooks_support import FAST, delete_subscriptions, produce_for

S = "notification_consumer"


async def _huge() -> AsyncIterator[bytes]:
    chunk = b"x" * (1 << 20)
    for _ in range(100):  # 100 MB, if anyone read it all
        yield chunk


async def _slowloris() -> AsyncIterator[bytes]:
    for _ in range(120):
        yield b"."
        await asyncio.sleep(0.5)


def hostile_app() -> Starlette:
    async def answer(request: Request) -> Response:
        await request.body()
        kind = request.path_params["kind"]
        if kind == "gzip":
            return Response(gzip.compress(b'{"ok": true}' * 50), status_code=200,
                            headers={"content-encoding": "gzip"})
        if kind == "nul":
            return Response(b"ok\x00\x00\x00 and more", status_code=200)
        if kind == "invalid-utf8":
            return Response(b"\xff\xfe\xc3\x28 caf\xe9 \xed\xa0\x80", status_code=200,
                            media_type="text/plain; charset=utf-8")
        if kind == "huge":
            return StreamingResponse(_huge(), status_code=200)
        return StreamingResponse(_slowloris(), status_code=200)

    return Starlette(routes=[Route("/{kind}", answer, methods=["POST"])])


async def subscribe(consumer: httpx.AsyncClient, url: str, account: str) -> str:
    response = await consumer.post("/webhooks", json={"url": url, "account_id": account})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def attempts_of(url: str, sub: str) -> list[dict[str, Any]]:
    rows = await db_rows(url, f"""
        SELECT d.id, d.state, a.status_code, a.response_excerpt, a.error
        FROM {S}.webhook_deliveries d JOIN {S}.webhook_attempts a ON a.delivery_id = d.id
        WHERE d.subscription_id = $1::uuid ORDER BY a.id""", sub)
    return [dict(r) for r in rows]


Place = tuple[str, str, str, int]


@pytest.fixture
def place(topics: tuple[str, str]) -> Place:
    """The topics, an account of the test's own and a free port for its receiver."""
    return (*topics, unique("acct"), free_port())

async def test_gzip_nul_invalid_utf8_huge_and_slowloris_answers_are_all_recorded(
    database_url: str, place: Place
) -> None:
    main, dlq, account, port = place
    kinds = ["gzip", "nul", "invalid-utf8", "huge", "slowloris"]
    async with serving(hostile_app(), port) as base, \
            in_process(consumer_app(database_url, main, dlq, **FAST)) as consumer:
        subs = {kind: await subscribe(consumer, f"{base}/{kind}", account) for kind in kinds}
        try:
            await produce_for(main, account, 2)

            async def settled() -> dict[str, list[dict[str, Any]]] | None:
                seen = {k: await attempts_of(database_url, s) for k, s in subs.items()}
                answered = all(len({a["id"] for a in seen[k] if a["state"] == "delivered"}) == 2
                               for k in kinds if k != "slowloris")
                slow_logged = len(seen["slowloris"]) >= 2
                return seen if answered and slow_logged else None

            seen = await wait_until(settled, 60, interval=0.2, what="every answer recorded")
        finally:
            await delete_subscriptions(database_url, list(subs.values()))
    for kind in ("gzip", "nul", "invalid-utf8", "huge"):
        # Delivered at the first attempt, recorded once: never sent again lease after lease.
        assert len(seen[kind]) == 2, (kind, seen[kind])
        assert all(a["status_code"] == 200 for a in seen[kind]), (kind, seen[kind])
        assert all(len(a["response_excerpt"].encode()) <= 4 * 1024 for a in seen[kind])
    assert all("\ufffd" in a["response_excerpt"] for a in seen["nul"])
    # A receiver that trickles its body is an attempt that timed out, recorded and retried.
    assert all(a["state"] == "pending" and "timed out" in a["error"]
               for a in seen["slowloris"])


async def test_idna_and_fullwidth_hosts_are_sent_or_refused_never_a_dead_task(
    database_url: str, place: Place
) -> None:
    main, dlq, account, port = place
    calls: list[str] = []

    async def record(request: Request) -> Response:
        calls.append(request.headers.get("host", ""))
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hooks", record, methods=["POST"])])
    fullwidth = f"http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11:{port}/hooks"
    too_long = "https://" + "a" * 64 + "\u00e9.example/hooks"
    async with serving(app, port), \
            in_process(consumer_app(database_url, main, dlq, **FAST)) as consumer:
        bad = await consumer.post("/webhooks", json={"url": too_long})
        assert bad.status_code == 422, bad.text
        assert bad.json()["field"] == "url"
        sub = await subscribe(consumer, fullwidth, account)
        # A URL stored before these rules (or by hand) that no resolver can handle.
        stored = await db_rows(database_url, f"""
            INSERT INTO {S}.webhook_subscriptions (account_id, url, secret)
            VALUES ($1, $2, 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdA==') RETURNING id""",
                               account, "http://" + "b" * 70 + "\u00fc.test/hooks")
        broken = str(stored[0]["id"])
        try:
            await produce_for(main, account, 2)

            async def settled() -> bool:
                ok = [a for a in await attempts_of(database_url, sub)
                      if a["state"] == "delivered"]
                refused = await attempts_of(database_url, broken)
                return len(ok) == 2 and len(refused) >= 2

            await wait_until(settled, 60, interval=0.2, what="both subscriptions attempted")
            refused = await attempts_of(database_url, broken)
        finally:
            await delete_subscriptions(database_url, [sub, broken])
    assert calls and all(host == f"127.0.0.1:{port}" for host in calls), calls
    assert all(a["state"] == "pending" and a["error"].startswith("refused")
               for a in refused), refused


async def test_a_late_result_never_overwrites_a_newer_one(database_url: str) -> None:
    from datetime import UTC, datetime
    from uuid import UUID, uuid4

    from notification_consumer.webhooks import attempts
    from notification_consumer.webhooks.outbox import Claimed
    from service_kit.db import make_engine
    from service_kit.settings import CommonSettings

    sub = (await db_rows(database_url, f"""
        INSERT INTO {S}.webhook_subscriptions (url, secret, account_id)
        VALUES ('http://127.0.0.1:9/', 'whsec_x', $1) RETURNING id""", unique("acct")))[0]["id"]
    # Claimed twice: the first worker's lease ran out and a second one took it (attempts 2).
    delivery = (await db_rows(database_url, f"""
        INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id, attempts,
            next_attempt_at, created_at) VALUES ($1, 1, 2, now(), now()) RETURNING id""",
                              sub))[0]["id"]

    def result(attempt: int, code: int | None, error: str | None) -> attempts.Result:
        job = Claimed(delivery, uuid4(), attempt, datetime.now(UTC), None, UUID(str(sub)),
                      "http://127.0.0.1:9/", ["whsec_x"], {})
        return attempts.Result(job, attempts.Outcome(code, 1.0, None, None, error),
                               None if code == 200 else 60.0)

    engine = make_engine(CommonSettings(database_url=database_url))
    try:
        late = await attempts.record(engine, [result(1, None, "timed out")], 200)
        assert late == {}  # the first claim's failure is older than the second claim
        done = await attempts.record(engine, [result(2, 200, None)], 200)
        assert done[delivery]["state"] == "delivered"
        again = await attempts.record(engine, [result(1, None, "timed out")], 200)
        assert again == {}
        row = (await db_rows(database_url, f"""SELECT state, last_status, last_error
            FROM {S}.webhook_deliveries WHERE id = $1""", delivery))[0]
        assert (row["state"], row["last_status"], row["last_error"]) == ("delivered", 200, None)
    finally:
        await engine.dispose()
        await db_rows(database_url, f"DELETE FROM {S}.webhook_deliveries WHERE id = $1",
                      delivery)
        await delete_subscriptions(database_url, [str(sub)])
