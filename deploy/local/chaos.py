"""`make chaos`: prove it yourself. Against the stack `make up` started (one broker, or the
cluster with CLUSTER=1), while payments flow at a steady pace: two consumer SIGKILLs, a
broker restart, a PostgreSQL restart, a handful of poison records and a consumer scale-out
from one to two and back. Then it waits for the outbox and the lag to drain, prints the
reconciliation of the run's window and exits 1 if any payment is missing or duplicated.

Environment: API_PORT (8000), CONSUMER_PORT (8001), CHAOS_RATE (payments/s, 40),
CHAOS_DRAIN_S (how long to wait for the books to settle, 180), CLUSTER (set by make).
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "deploy" / "local"
RUN = ROOT / ".local" / "run"
API = f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"
CONSUMER = f"http://127.0.0.1:{os.environ.get('CONSUMER_PORT', '8001')}"
RATE = float(os.environ.get("CHAOS_RATE", "40"))
DRAIN_S = float(os.environ.get("CHAOS_DRAIN_S", "180"))
CLUSTER = bool(os.environ.get("CLUSTER"))
POISON = [b"{not json", b"\xff\xfe\x00", b"[]", b'{"schema_version": 1}',
          b'{"event_id": "not-a-uuid", "amount": 5}']


def say(message: str) -> None:
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def sh(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip()


async def run(*args: str) -> str:
    return await asyncio.to_thread(sh, *args)


def bootstrap() -> str:
    if CLUSTER:
        return sh(str(LOCAL / "cluster.sh"), "bootstrap")
    return sh("bash", "-c", f'. "{LOCAL}/env.sh"; echo "$KAFKA_BOOTSTRAP_SERVERS"')


class Payments:
    """Paced POSTs with an Idempotency-Key each; a 503 or a refused connection is retried
    with the same key (as a client should), so every payment is accepted exactly once."""

    def __init__(self) -> None:
        self.accepted: set[str] = set()
        self.retries = 0
        self.failed = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=API, timeout=10) as client:
            tasks: set[asyncio.Task[None]] = set()
            started, i = time.monotonic(), 0
            while not self.stop.is_set():
                ahead = i / RATE - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
                if len(tasks) < 64:  # bounded: a stalled API slows the load, never piles up
                    task = asyncio.create_task(self.one(client, i))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                i += 1
            await asyncio.gather(*tasks)

    async def one(self, client: httpx.AsyncClient, i: int) -> None:
        key = f"chaos-{uuid.uuid4()}"
        body = {"payer_id": f"acct_{i % 50}", "payee_id": f"acct_{i % 50 + 100}",
                "amount": f"{i % 900 + 1}.{i % 100:02d}", "currency": "EUR"}
        for _ in range(60):
            try:
                response = await client.post("/payments", json=body,
                                             headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 202:
                self.accepted.add(response.json()["event_id"])
                return
            self.retries += 1
            await asyncio.sleep(1)
        self.failed += 1


def pid_of(name: str) -> int:
    return int((RUN / f"{name}.pid").read_text().strip())


async def kill_consumer() -> None:
    pid = pid_of("notification-consumer")
    os.kill(pid, signal.SIGKILL)
    say(f"SIGKILL notification-consumer (pid {pid})")
    await asyncio.sleep(2)
    await run(str(LOCAL / "services.sh"), "restart-consumer")
    say(f"notification-consumer restarted (pid {pid_of('notification-consumer')})")


def second_consumer() -> subprocess.Popen[bytes]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (RUN / "notification-consumer-2.log").open("ab")
    env = {**os.environ, "PORT": str(port), "KAFKA_BOOTSTRAP_SERVERS": bootstrap(),
           "API_URL": API}
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "notification-consumer")], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    say(f"scale-out: a second consumer (pid {proc.pid}, port {port})")
    return proc


async def restart_broker() -> None:
    if CLUSTER:
        say("broker restart: cluster node 2 (stop, start)")
        await run(str(LOCAL / "cluster.sh"), "stop", "2")
        await run(str(LOCAL / "cluster.sh"), "start", "2")
    else:
        say("broker restart: kafka.sh restart")
        await run(str(LOCAL / "kafka.sh"), "restart")
    say("broker back")


async def poison(n: int) -> None:
    topic = os.environ.get("KAFKA_TOPIC", "events.transactions")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(), enable_idempotence=True)
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, POISON[i % len(POISON)], key=b"chaos-poison")
    finally:
        await producer.stop()
    say(f"{n} poison records sent to {topic}")


async def stats() -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        return dict((await client.get(f"{CONSUMER}/stats")).json())


async def settle(since: datetime, deadline: float) -> dict[str, Any]:
    """Until the outbox is empty, the lag is 0 and nothing is in flight, or the deadline."""
    report: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=60) as client:
        while time.monotonic() < deadline:
            try:
                lag = (await client.get(f"{CONSUMER}/stats")).json().get("total_lag")
                response = await client.get(f"{CONSUMER}/reconcile", params={
                    "since": since.isoformat(), "until": datetime.now(UTC).isoformat()})
                report = response.json()
                if response.status_code == 200 and lag == 0 and report["in_flight"] == 0:
                    return report
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            await asyncio.sleep(2)
    return report


async def scenario() -> int:
    since = datetime.now(UTC) - timedelta(seconds=1)
    before = await stats()
    kind = "cluster" if CLUSTER else "single broker"
    say(f"against {API} and {CONSUMER}, Kafka {bootstrap()} ({kind}), {RATE:g} payments/s")
    payments = Payments()
    load = asyncio.create_task(payments.run())
    await asyncio.sleep(5)
    await kill_consumer()
    await asyncio.sleep(3)
    await poison(len(POISON))
    extra = second_consumer()
    await asyncio.sleep(8)
    await restart_broker()
    await asyncio.sleep(5)
    await kill_consumer()
    await asyncio.sleep(5)
    say("PostgreSQL restart")
    await run(str(LOCAL / "postgres.sh"), "restart")
    say("PostgreSQL back")
    await asyncio.sleep(8)
    extra.send_signal(signal.SIGTERM)  # graceful: it finishes its batch and leaves the group
    try:
        await asyncio.to_thread(extra.wait, 60)
    except subprocess.TimeoutExpired:
        extra.kill()
        say("the second consumer ignored SIGTERM for 60 s: killed")
    say(f"scale-in: second consumer stopped (pid {extra.pid})")
    await asyncio.sleep(5)
    payments.stop.set()
    await load
    say(f"load stopped: {len(payments.accepted)} payments accepted, {payments.retries} "
        f"retried requests, {payments.failed} given up; waiting for the books to settle")
    report = await settle(since, time.monotonic() + DRAIN_S)
    after = await stats()
    dead = after.get("dead_letters", 0) - before.get("dead_letters", 0)
    print()
    print(f"  reconciliation {report.get('since')} .. {report.get('until')}")
    for key in ("accepted", "processed", "dead_lettered", "in_flight", "missing",
                "duplicates", "mismatched", "unaccepted"):
        print(f"    {key:<14} {report.get(key)}")
    for key in ("missing_ids", "mismatched_ids", "duplicate_ids"):
        if report.get(key):
            print(f"    {key:<14} {', '.join(report[key][:10])}")
    print(f"    poison dead-lettered in this run: {dead} of {len(POISON)}")
    print(f"    consumer lag now: {after.get('total_lag')}")
    print()
    ok = (bool(report) and report["missing"] == 0 and report["duplicates"] == 0
          and report["mismatched"] == 0 and report["in_flight"] == 0
          and report["accepted"] >= len(payments.accepted) and payments.failed == 0)
    say("BALANCED: every accepted payment processed exactly once" if ok
        else "NOT BALANCED: see the report above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(scenario()))
