"""Webhook delivery latency at a fixed payment rate: payments through the API (the Go
open-loop generator), the consumer's webhook worker delivering every notification to a
receiver on 127.0.0.1. Latency = the moment the receiver has the whole request minus the
payment's `occurred_at` (set by the API as it accepts it), matched by `webhook-id`.

`make bench` runs it on its own services (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: the SSRF guard
refuses loopback by default). By hand, against running services (`make up`):
    .venv/bin/python -m bench.webhooks --rate 500 --seconds 20
"""

import argparse
import os
import time
import uuid
from typing import Any

import httpx
import orjson

from bench.infra import new_topics, run_sql, truncate_consumer
from bench.procs import Proc, json_subprocess, percentile
from bench.receiver import LocalReceiver
from bench.settings import BIN, LATENCY_RATE, LATENCY_S, PEERS_BIN, service_env

_SENT = """
    SELECT 'msg_' || replace(d.message_id::text, '-', '') AS webhook_id, e.occurred_at
    FROM notification_consumer.webhook_deliveries d
    JOIN notification_consumer.notifications n ON n.id = d.notification_id
    JOIN notification_consumer.processed_events e ON e.event_id = n.event_id
    WHERE d.subscription_id = $1::uuid"""


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def measure(api_url: str, consumer_url: str, database_url: str, rate: int, seconds: int,
            api_key: str | None = None) -> dict[str, Any]:
    """Subscribe a fresh receiver to every notification of the run's payee, drive payments,
    wait (bounded) for the deliveries, unsubscribe; the percentiles in ms."""
    payee = f"wh_{uuid.uuid4().hex[:10]}"  # one credit notice per payment matches
    with LocalReceiver() as receiver:
        created = httpx.post(f"{consumer_url}/webhooks", headers=_auth(api_key), timeout=10,
                             json={"url": receiver.url, "account_id": payee,
                                   "description": "bench"})
        if created.status_code != 201:
            raise RuntimeError(f"subscribing failed: {created.status_code} {created.text[:200]}")
        sub = created.json()["id"]
        try:
            client = json_subprocess(
                [str(PEERS_BIN / "openloop"), "-url", f"{api_url}/payments", "-rate", str(rate),
                 "-duration", f"{seconds}s", "-prefix", uuid.uuid4().hex[:6], "-payee", payee,
                 *(["-bearer", api_key] if api_key else [])],
                seconds + 60)
            expected = int(client.get("accepted", 0))
            deadline = time.monotonic() + 120
            while len(receiver.arrivals) < expected and time.monotonic() < deadline:
                time.sleep(0.5)
            arrivals = dict(receiver.arrivals)
            sent = run_sql(database_url, _SENT, sub)  # before unsubscribing deletes them
        finally:
            httpx.delete(f"{consumer_url}/webhooks/{sub}", headers=_auth(api_key), timeout=10)
    lat = [(arrivals[r["webhook_id"]] - r["occurred_at"].timestamp()) * 1000
           for r in sent if r["webhook_id"] in arrivals]
    result = {"rate": rate, "seconds": seconds, "expected": expected, "delivered": len(lat),
              "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
              "max_ms": max(lat, default=float("nan"))}
    if len(lat) < expected:
        result["error"] = f"{len(lat)} of {expected} notifications delivered in time"
    return result


def bench_webhooks(url: str) -> dict[str, Any]:
    topic, dlq = new_topics("webhooks")
    truncate_consumer(url)
    env = service_env(DATABASE_URL=url, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq,
                      KAFKA_GROUP_ID=f"bench-wh-{uuid.uuid4().hex[:6]}",
                      WEBHOOK_ALLOW_PRIVATE_NETWORKS="true")
    with Proc([str(BIN / "transaction-api")], env, "webhooks-api") as api, \
            Proc([str(BIN / "notification-consumer")], env, "webhooks-consumer") as consumer:
        api.wait_ready()
        consumer.wait_ready()
        result = measure(api.url, consumer.url, url, LATENCY_RATE, LATENCY_S)
        result["peak_rss_mb"] = {"api": api.peak_rss_mb(), "consumer": consumer.peak_rss_mb()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--api-url", default=os.environ.get(
        "API_URL", f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"))
    parser.add_argument("--consumer-url", default=os.environ.get(
        "CONSUMER_URL", f"http://127.0.0.1:{os.environ.get('CONSUMER_PORT', '8001')}"))
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgresql://paystream@127.0.0.1:5432/paystream"))
    args = parser.parse_args()
    api_key = (os.environ.get("API_KEYS") or "").split(",")[0].strip() or None
    result = measure(args.api_url, args.consumer_url, args.database_url, args.rate,
                     args.seconds, api_key)
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
