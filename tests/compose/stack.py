"""The compose stack under test: `docker compose` calls, the HTTP load, and the counts the
proof asserts (tests/compose/proof.py)."""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Host ports as deploy/docker/compose-test.sh chose them (the compose file's defaults else).
API = f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"
CONSUMER = f"http://127.0.0.1:{os.environ.get('CONSUMER_PORT', '8001')}"
PROMETHEUS = f"http://127.0.0.1:{os.environ.get('PROMETHEUS_PORT', '9090')}"
KAFKA_FROM_HOST = f"127.0.0.1:{os.environ.get('KAFKA_HOST_PORT', '29092')}"
TOPIC = "events.transactions"
LOG_DIR = Path(__file__).resolve().parents[2] / ".local" / "compose-test"
# Retryable answers of POST /payments (the request is retried with the same Idempotency-Key).
RETRYABLE = {408, 409, 429, 502, 503, 504}


def log(message: str) -> None:
    sys.stderr.write(f"[compose-test {time.strftime('%H:%M:%S')}] {message}\n")


class Stack:
    def __init__(self, files: Sequence[str]) -> None:
        self.files = list(files)
        self.project = os.environ.get("COMPOSE_PROJECT_NAME", "paystream-proof")
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.output = LOG_DIR / "compose.log"
        self.output.write_text("")

    def command(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.project, *self.files, *args]

    def compose(self, *args: str, timeout: float = 300) -> str:
        """One compose command; its output goes to .local/compose-test/compose.log."""
        result = subprocess.run(self.command(*args), capture_output=True, text=True,
                                timeout=timeout, check=False)
        with self.output.open("a") as out:
            out.write(f"$ docker compose {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"docker compose {' '.join(args)} failed:\n{tail}")
        return result.stdout

    async def compose_async(self, *args: str, timeout: float = 180) -> None:
        await asyncio.to_thread(self.compose, *args, timeout=timeout)

    def up(self) -> None:
        log("docker compose up -d --build --wait (images are built on the first run)")
        started = time.monotonic()
        self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "600", timeout=900)
        log(f"the stack is healthy after {time.monotonic() - started:.0f} s")

    def down(self) -> None:
        try:
            self.compose("down", "-v", "--remove-orphans", "--timeout", "60", timeout=300)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log(f"down failed: {exc}")

    def save_logs(self) -> None:
        path = LOG_DIR / "services.log"
        try:
            path.write_text(self.compose("logs", "--no-color", "--timestamps", timeout=120))
            log(f"the services' logs are in {path}; compose output in {self.output}")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log(f"could not save the logs: {exc}")

    def sql(self, query: str) -> list[str]:
        out = self.compose("exec", "-T", "postgres", "psql", "-U", "paystream", "-d",
                           "paystream", "-v", "ON_ERROR_STOP=1", "-Atc", query, timeout=60)
        return out.splitlines()

    def exit_code(self, service: str) -> int:
        container = self.compose("ps", "-a", "-q", service).strip()
        state = subprocess.run(["docker", "inspect", "--format", "{{.State.ExitCode}}", container],
                               capture_output=True, text=True, timeout=30, check=True)
        return int(state.stdout.strip())

    @staticmethod
    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(15.0),
                                 limits=httpx.Limits(max_connections=64))


@dataclass
class Load:
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> event id
    retries: int = 0
    during_fault: int = 0  # accepted while the fault's commands ran


async def run_load(stack: Stack, prefix: str, count: int, fault: list[list[str]]) -> Load:
    """`count` payments at about 50/s (open loop, at most 32 in flight), each retried with its
    Idempotency-Key until accepted. The fault's compose commands run, in order, once a quarter
    of the payments are accepted."""
    load = Load()
    quarter = asyncio.Event()
    limit = asyncio.Semaphore(32)

    async def pay(http: httpx.AsyncClient, i: int) -> None:
        await asyncio.sleep(i / 50)
        key = f"{prefix}-{i}"
        body = {"payer_id": f"{prefix}_a{i % 40}", "payee_id": f"{prefix}_b{i % 40}",
                "amount": f"{1 + i % 97}.25", "currency": "EUR"}
        deadline = time.monotonic() + 240
        async with limit:
            while True:
                try:
                    response = await http.post(f"{API}/payments", json=body,
                                               headers={"Idempotency-Key": key})
                    if response.status_code == 202:
                        answer = response.json()
                        load.accepted[key] = answer["event_id"]
                        if len(load.accepted) >= count // 4:
                            quarter.set()
                        return
                    if response.status_code not in RETRYABLE:
                        raise AssertionError(f"{key}: {response.status_code} {response.text}")
                except httpx.TransportError:
                    pass
                load.retries += 1
                assert time.monotonic() < deadline, f"{key} not accepted within 240 s"
                await asyncio.sleep(0.5)

    async def inject() -> None:
        await asyncio.wait_for(quarter.wait(), 120)
        before = len(load.accepted)
        for args in fault:
            log(f"docker compose {' '.join(args)}")
            await stack.compose_async(*args)
            await asyncio.sleep(2)
        load.during_fault = len(load.accepted) - before

    async with stack.client() as http:
        await asyncio.gather(inject(), *(pay(http, i) for i in range(count)))
    assert len(load.accepted) == count
    assert load.during_fault > 0, "the fault ended before any payment was accepted during it"
    return load


async def stats(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get(f"{CONSUMER}/stats")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def wait_processed(stack: Stack, prefix: str, accepted: dict[str, str],
                         timeout: float = 300) -> int:
    """Waits until the consumer's database holds exactly the accepted payments, then checks
    once more that each has one row and two notifications. Returns the consumer's count of
    deduplicated redeliveries (from /stats) for the record."""
    like = prefix.replace("_", "\\_") + "\\_%"
    expected = set(accepted.values())
    deadline = time.monotonic() + timeout
    while True:
        rows = await asyncio.to_thread(
            stack.sql, "SELECT event_id FROM notification_consumer.processed_events "
                       f"WHERE payer_id LIKE '{like}'")
        processed = set(rows)
        unexpected = processed - expected
        assert not unexpected, f"processed but never accepted: {sorted(unexpected)[:5]}"
        assert len(rows) == len(processed), "an event was processed twice"
        if processed == expected:
            break
        assert time.monotonic() < deadline, (
            f"{len(expected - processed)} of {len(expected)} accepted payments not processed "
            f"after {timeout:.0f} s")
        await asyncio.sleep(2)
    counts = await asyncio.to_thread(stack.sql, (
        "SELECT count(*), count(DISTINCT (n.event_id, n.kind)) "
        "FROM notification_consumer.notifications n "
        "JOIN notification_consumer.processed_events p USING (event_id) "
        f"WHERE p.payer_id LIKE '{like}'"))
    notifications, distinct = (int(x) for x in counts[0].split("|"))
    assert notifications == distinct == 2 * len(expected), (notifications, distinct)
    dead = await asyncio.to_thread(
        stack.sql, "SELECT count(*) FROM notification_consumer.dead_letters")
    assert dead == ["0"], f"dead letters: {dead}"
    async with stack.client() as http:
        return int((await stats(http))["duplicates"])


async def prometheus_targets_up(stack: Stack, jobs: set[str], timeout: float = 120) -> set[str]:
    """Polls Prometheus' targets API until every job's targets report health "up"."""
    deadline = time.monotonic() + timeout
    async with stack.client() as http:
        while True:
            response = await http.get(f"{PROMETHEUS}/api/v1/targets", params={"state": "active"})
            targets = response.json()["data"]["activeTargets"] if response.is_success else []
            health = {t["labels"]["job"]: t["health"] for t in targets}
            up = {job for job in jobs if health.get(job) == "up"}
            if up == jobs:
                log(f"Prometheus targets: {json.dumps(health, sort_keys=True)}")
                return up
            assert time.monotonic() < deadline, f"Prometheus targets not up: {health}"
            await asyncio.sleep(2)


def leftovers(project: str) -> str:
    """What the project left behind: containers, networks and volumes with its label."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind, args in (("container", ["ps", "-aq"]), ("network", ["network", "ls", "-q"]),
                       ("volume", ["volume", "ls", "-q"])):
        out = subprocess.run(["docker", *args, "--filter", label], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split()
        if out:
            found.append(f"{len(out)} {kind}(s)")
    return ", ".join(found)
