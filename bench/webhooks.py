"""Webhook delivery latency: payments at a fixed rate through the API, the consumer's webhook
worker delivering every notification to a receiver on 127.0.0.1; latency = arrival at the
receiver - the payment's occurred_at, matched by the `webhook-id` header to the delivery row.
Runs when the consumer has webhooks (helper "webhooks"); otherwise "not available"."""

import importlib.util
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bench.infra import new_topics, run_sql, truncate_consumer
from bench.optional import NotAvailable
from bench.procs import Proc, json_subprocess, percentile
from bench.settings import BIN, LATENCY_RATE, LATENCY_S, PEERS_BIN, service_env

ARRIVALS: dict[str, datetime] = {}


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        ARRIVALS.setdefault(self.headers.get("webhook-id", "?"), datetime.now(UTC))
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def bench_webhooks(url: str) -> dict[str, Any]:
    if importlib.util.find_spec("notification_consumer.webhooks") is None:
        raise NotAvailable("no notification_consumer.webhooks on this branch")
    topic, dlq = new_topics("webhooks")
    truncate_consumer(url)
    ARRIVALS.clear()
    # Loopback targets are refused by default (SSRF guard): the one setting changed here.
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq,
                      KAFKA_GROUP_ID=f"bench-wh-{uuid.uuid4().hex[:6]}",
                      WEBHOOK_ALLOW_PRIVATE_NETWORKS="true")
    with receiver() as hook, \
            Proc([str(BIN / "transaction-api")], env, "webhooks-api") as api, \
            Proc([str(BIN / "notification-consumer")], env, "webhooks-consumer") as consumer:
        api.wait_ready()
        consumer.wait_ready()
        created = httpx.post(f"{consumer.url}/webhooks", json={"url": hook}, timeout=10)
        if created.status_code != 201:
            raise RuntimeError(f"subscribing failed: {created.status_code} {created.text[:200]}")
        client = json_subprocess([str(PEERS_BIN / "openloop"), "-url", f"{api.url}/payments",
                                  "-rate", str(LATENCY_RATE), "-duration", f"{LATENCY_S}s",
                                  "-prefix", uuid.uuid4().hex[:6]], LATENCY_S + 60)
        expected = 2 * int(client.get("accepted", 0))  # a debit and a credit notice each
        deadline = time.monotonic() + 120
        while len(ARRIVALS) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        rss = {"api": api.peak_rss_mb(), "consumer": consumer.peak_rss_mb()}
    rows = run_sql(url, """
        SELECT 'msg_' || replace(d.message_id::text, '-', '') AS webhook_id, e.occurred_at
        FROM notification_consumer.webhook_deliveries d
        JOIN notification_consumer.notifications n ON n.id = d.notification_id
        JOIN notification_consumer.processed_events e ON e.event_id = n.event_id""")
    lat = [(ARRIVALS[r["webhook_id"]] - r["occurred_at"]).total_seconds() * 1000
           for r in rows if r["webhook_id"] in ARRIVALS]
    result = {"rate": LATENCY_RATE, "seconds": LATENCY_S, "expected": expected,
              "delivered": len(lat), "p50_ms": percentile(lat, 50),
              "p99_ms": percentile(lat, 99), "max_ms": max(lat, default=float("nan")),
              "peak_rss_mb": rss}
    if len(lat) < expected:
        result["error"] = f"{len(lat)} of {expected} notifications delivered in time"
    return result
