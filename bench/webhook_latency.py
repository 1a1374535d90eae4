"""Webhook delivery latency at a fixed payment rate, for `make bench` and by hand.

Latency = the receiver's 2xx recorded by the worker (`delivered_at`) minus the moment the
consumer's batch queued the delivery (`created_at`, in the batch transaction, just before its
commit): per delivery, from PostgreSQL, so no histogram buckets blur the percentiles.

Pieces for bench/run.py (the consumer must run with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true):
    with LocalReceiver() as receiver:
        sub = subscribe(consumer_url, receiver.url)          # every notification
        ... drive payments at the rate (e.g. the open-loop generator) ...
        result = delivery_latency(database_url, sub, expected=2 * accepted)
        unsubscribe(consumer_url, sub)
By hand, against running services (`make up`):
    .venv/bin/python -m bench.webhook_latency --rate 500 --seconds 20
"""

import argparse
import asyncio
import json
import os
import threading
import time
import uuid
from types import TracebackType
from typing import Any

import asyncpg
import httpx

_PERCENTILES = """
    SELECT count(*) FILTER (WHERE state = 'delivered') AS delivered,
        count(*) FILTER (WHERE state = 'pending') AS pending,
        count(*) FILTER (WHERE state = 'failed') AS failed,
        count(*) FILTER (WHERE attempts > 1) AS retried,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at))
            AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
            delivered_at - created_at)) AS p99, max(EXTRACT(EPOCH FROM delivered_at - created_at))
            AS max
    FROM notification_consumer.webhook_deliveries WHERE subscription_id = $1::uuid
"""


CONNECTIONS = 64


class _Answer204(asyncio.Protocol):
    """Just enough HTTP/1.1 (keep-alive, Content-Length bodies) to answer every POST 204."""

    def __init__(self, receiver: "LocalReceiver") -> None:
        self.receiver = receiver
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.receiver.requests += 1
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


class LocalReceiver:
    """A webhook endpoint on 127.0.0.1 in its own thread (its own event loop), so it never
    competes with the caller's loop."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(self._loop.create_server(
            lambda: _Answer204(self), "127.0.0.1", 0, backlog=1024))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def __enter__(self) -> "LocalReceiver":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the receiver did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def subscribe(consumer_url: str, receiver_url: str, account_id: str | None = None,
              api_key: str | None = None) -> str:
    body: dict[str, Any] = {"url": receiver_url, "description": "bench"}
    if account_id:
        body["account_id"] = account_id
    response = httpx.post(f"{consumer_url}/webhooks", json=body, headers=_auth(api_key),
                          timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


def unsubscribe(consumer_url: str, subscription_id: str, api_key: str | None = None) -> None:
    httpx.delete(f"{consumer_url}/webhooks/{subscription_id}", headers=_auth(api_key),
                 timeout=10)


def delivery_latency(database_url: str, subscription_id: str, expected: int,
                     timeout: float = 120) -> dict[str, Any]:
    """Waits (bounded) until `expected` deliveries are delivered, then the percentiles."""

    async def query() -> dict[str, Any]:
        conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=10)
        try:
            return dict(await conn.fetchrow(_PERCENTILES, subscription_id))
        finally:
            await conn.close()

    deadline = time.monotonic() + timeout
    row = asyncio.run(query())
    while row["delivered"] < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        row = asyncio.run(query())
    ms = {k: round(float(row[k]) * 1000, 1) if row[k] is not None else None
          for k in ("p50", "p99", "max")}
    return {"expected": expected, "delivered": row["delivered"], "pending": row["pending"],
            "failed": row["failed"], "retried": row["retried"], "p50_ms": ms["p50"],
            "p99_ms": ms["p99"], "max_ms": ms["max"]}


async def drive(api_url: str, rate: float, seconds: float, payee: str,
                api_key: str | None = None) -> int:
    """Open loop on a schedule of one POST every 1/rate s, at most CONNECTIONS in flight (a
    long queue in httpx's pool costs it quadratic CPU); returns the 202 count. bench/run.py
    has a better generator (Go); this one serves runs by hand."""
    accepted = 0
    slots = asyncio.Semaphore(CONNECTIONS)

    async def post(client: httpx.AsyncClient, i: int) -> None:
        nonlocal accepted
        body = {"payer_id": f"bench_{i % 997}", "payee_id": payee,
                "amount": "1.00", "currency": "EUR"}
        try:
            response = await client.post("/payments", json=body, headers=_auth(api_key))
            accepted += response.status_code == 202
        except httpx.HTTPError:
            pass
        finally:
            slots.release()

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=api_url, timeout=10, limits=limits) as client:
        tasks, started, n = set(), time.monotonic(), int(rate * seconds)
        for i in range(n):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            task = asyncio.create_task(post(client, i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--api-url", default=os.environ.get(
        "API_URL", f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"))
    parser.add_argument("--consumer-url", default=os.environ.get(
        "CONSUMER_URL", f"http://127.0.0.1:{os.environ.get('CONSUMER_PORT', '8001')}"))
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgresql://paystream@127.0.0.1:5432/paystream"))
    args = parser.parse_args()
    api_key = (os.environ.get("API_KEYS") or "").split(",")[0].strip() or None
    # One account receives every payment's credit notice: one delivery per payment, and
    # nothing else on the server matches this subscription.
    account = f"bench_{uuid.uuid4().hex[:10]}"
    with LocalReceiver() as receiver:
        sub = subscribe(args.consumer_url, receiver.url, account, api_key)
        try:
            accepted = asyncio.run(drive(args.api_url, args.rate, args.seconds, account,
                                         api_key))
            result = delivery_latency(args.database_url, sub, accepted)
        finally:
            unsubscribe(args.consumer_url, sub, api_key)
    print(json.dumps({"rate": args.rate, "seconds": args.seconds, "accepted": accepted,
                      "receiver_requests": receiver.requests, **result}))


if __name__ == "__main__":
    main()
