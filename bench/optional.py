"""Measurements of optional features. Each runs when its feature is present in the code being
measured and records "not available" (with the reason) otherwise.

- expiry:   idempotency keys forgotten per second (goal 3,000/s sustained)
- otel:     ingest with OpenTelemetry export on (to a local sink) / off
(webhook delivery latency: bench/webhooks.py)
"""

import asyncio
import importlib
import importlib.util
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from bench.infra import new_topics, run_sql
from bench.ingest import _measure, wrk
from bench.procs import Proc, log
from bench.settings import BIN, EXPIRY_KEYS, RUNS, service_env


class NotAvailable(Exception):
    """The feature is not on this branch."""


def _find(candidates: list[tuple[str, str]]) -> Callable[..., Any]:
    for module, name in candidates:
        if importlib.util.find_spec(module) is None:
            continue
        fn = getattr(importlib.import_module(module), name, None)
        if fn is not None:
            return fn  # type: ignore[no-any-return]
    raise NotAvailable("none of " + ", ".join(f"{m}.{n}" for m, n in candidates))


def bench_expiry(url: str) -> dict[str, Any]:
    expire: Callable[..., Awaitable[int]] = _find([
        ("transaction_api.outbox.retention", "expire_idempotency_keys"),
        ("transaction_api.outbox.requests", "expire_idempotency_keys")])
    run_sql(url, "TRUNCATE transaction_api.payment_requests")
    # Old, published payments holding keys: what a day of traffic leaves behind.
    run_sql(url, """
        INSERT INTO transaction_api.payment_requests (event_id, scope, idempotency_key,
            request_hash, payer_id, payee_id, amount, currency, event_key, event_value,
            event_headers, created_at, published_at)
        SELECT gen_random_uuid(), 'public', 'key-' || g, md5(g::text), 'acct_' || g % 997,
            'acct_b', 1.25, 'EUR', '\\x00', '\\x00', '[]', now() - interval '2 days'
            + g * interval '1 ms', now() - interval '2 days'
        FROM generate_series(1, $1::int) AS g
    """, EXPIRY_KEYS)
    run_sql(url, "VACUUM ANALYZE transaction_api.payment_requests")

    async def drain() -> tuple[int, float, int]:
        engine = create_async_engine(url)
        try:
            total, calls, started = 0, 0, time.perf_counter()
            while True:
                done = await expire(engine, timedelta(hours=24))
                calls += 1
                total += done
                if done == 0 or calls > 10_000:
                    return total, time.perf_counter() - started, calls
        finally:
            await engine.dispose()

    total, seconds, calls = asyncio.run(drain())
    [left] = run_sql(url, "SELECT count(*) AS n FROM transaction_api.payment_requests "
                          "WHERE idempotency_key IS NOT NULL")
    result = {"keys": total, "seconds": seconds, "rate": total / seconds, "calls": calls,
              "left": left["n"], "function": f"{expire.__module__}.{expire.__name__}"}
    if total != EXPIRY_KEYS or left["n"]:
        result["error"] = f"expired {total} of {EXPIRY_KEYS}, {left['n']} keys left"
    return result


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that accepts everything and keeps nothing."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _otel_in_services() -> bool:
    from bench.settings import ROOT

    return any("OTEL_EXPORTER_OTLP_ENDPOINT" in p.read_text() or "opentelemetry" in
               p.read_text() for p in (ROOT / "services").rglob("*.py")) or any(
        "opentelemetry" in p.read_text() for p in (ROOT / "shared").rglob("*.py"))


def bench_otel(url: str) -> dict[str, Any]:
    if not _otel_in_services():
        raise NotAvailable("no OpenTelemetry in services/ or shared/ on this branch")
    main, _ = new_topics("otel")
    results: dict[str, Any] = {"off": [], "on": []}
    with otlp_sink() as endpoint:
        base = service_env(DATABASE_URL=url, KAFKA_TOPIC=main)
        with Proc([str(BIN / "transaction-api")], base, "otel-off") as off, \
                Proc([str(BIN / "transaction-api")],
                     {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, "otel-on") as on:
            off.wait_ready()
            on.wait_ready()
            for proc in (off, on):
                wrk(proc.url + "/payments", 3)
            for i in range(RUNS):
                for name, proc in (("off", off), ("on", on)):
                    r = _measure(proc, "/payments")
                    results[name].append(r)
                    log(f"otel run {i + 1} {name}: {r['rps']:.0f} req/s")
    return results
