"""The compose stack, proven end to end (`make compose-test` runs this after installing Docker
and building the stand-ins; arguments are the `-f FILE` options for `docker compose`).

Steps: `up -d --build --wait`; one payment by HTTP to the API, read back from the consumer;
Kafka reached from the host on its external listener; 1,000 payments while the consumer is
SIGKILLed and started again; 1,000 payments while Kafka restarts; every accepted payment
processed exactly once (counted in the consumer's database); Prometheus scraping both
services; `down -v` leaving no container, network or volume. One summary line on stdout;
non-zero on any failure.
"""

import asyncio
import sys
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient

from tests.compose.stack import (
    API,
    CONSUMER,
    KAFKA_FROM_HOST,
    TOPIC,
    Stack,
    leftovers,
    log,
    prometheus_targets_up,
    run_load,
    wait_processed,
)

LOAD = 1000


async def first_payment(stack: Stack) -> None:
    """What a new user tries first: a payment by HTTP, then the processed event read back."""
    async with stack.client() as http:
        response = await http.post(f"{API}/payments", json={
            "payer_id": "acct_alice", "payee_id": "acct_bob", "amount": "12.50",
            "currency": "EUR"})
        assert response.status_code == 202, response.text
        event_id = response.json()["event_id"]
        deadline = time.monotonic() + 60
        while True:
            found = await http.get(f"{CONSUMER}/events/{event_id}")
            if found.status_code == 200:
                break
            assert time.monotonic() < deadline, f"payment {event_id} not processed in 60 s"
            await asyncio.sleep(0.5)
        assert found.json()["amount"] == "12.50"
    log(f"payment {event_id} accepted on {API} and processed on {CONSUMER}")


async def kafka_from_the_host() -> None:
    """The EXTERNAL listener: metadata and the topic's partitions, as a host tool sees them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA_FROM_HOST, request_timeout_ms=15000)
    await asyncio.wait_for(admin.start(), 30)
    try:
        described = await asyncio.wait_for(admin.describe_topics([TOPIC]), 30)
    finally:
        await admin.close()
    partitions = described[0]["partitions"]
    assert len(partitions) == 6, described
    log(f"Kafka from the host ({KAFKA_FROM_HOST}): {TOPIC} has {len(partitions)} partitions")


async def under_load(stack: Stack, name: str, fault: list[list[str]]) -> tuple[int, int]:
    """LOAD payments; the fault's compose commands run once a quarter has been accepted."""
    prefix = f"{name}_{uuid.uuid4().hex[:6]}"
    load = await run_load(stack, prefix, LOAD, fault)
    duplicates = await wait_processed(stack, prefix, load.accepted)
    log(f"{name}: {len(load.accepted)} accepted ({load.during_fault} during the fault, "
        f"{load.retries} client retries); "
        f"all processed exactly once ({duplicates} redeliveries deduplicated so far)")
    return len(load.accepted), duplicates


async def prove(stack: Stack) -> str:
    await first_payment(stack)
    await kafka_from_the_host()
    killed, _ = await under_load(stack, "kill", [
        ["kill", "-s", "SIGKILL", "notification-consumer"],
        ["start", "notification-consumer"]])
    restarted, dup2 = await under_load(stack, "restart", [["restart", "kafka"]])
    up = await prometheus_targets_up(stack, {"transaction-api", "notification-consumer"})
    stops = graceful_stops(stack)
    return (f"{killed + restarted} payments under faults (consumer SIGKILL, Kafka restart): "
            f"0 lost, 0 duplicated ({dup2} redeliveries deduplicated); "
            f"Prometheus targets up: {', '.join(sorted(up))}; SIGTERM stops: {stops}")


def graceful_stops(stack: Stack) -> str:
    """`docker compose stop` sends SIGTERM and SIGKILLs after stop_grace_period: exit code 0
    (not 137) proves each service finished its drain within the grace period."""
    timings = []
    for service in ("transaction-api", "notification-consumer"):
        started = time.monotonic()
        stack.compose("stop", service, timeout=180)
        code = stack.exit_code(service)
        assert code == 0, f"{service} exited {code} on SIGTERM (137: killed after the grace period)"
        timings.append(f"{service} {time.monotonic() - started:.1f} s")
    log(f"graceful stops, exit code 0: {', '.join(timings)}")
    return ", ".join(timings)


def main(files: list[str]) -> int:
    started = time.monotonic()
    stack = Stack(files)
    outcome, ok = "", False
    try:
        stack.up()
        outcome = asyncio.run(prove(stack))
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure is reported with the logs kept
        outcome = f"{type(exc).__name__}: {exc}"
        stack.save_logs()
    finally:
        stack.down()
    left = leftovers(stack.project)
    if left:
        ok = False
        outcome += f"; down -v left {left}"
    else:
        outcome += "; down -v left no container, network or volume"
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    verdict = "PASS" if ok else "FAIL"
    sys.stdout.write(f"compose-test {verdict} in {minutes}m{seconds:02d}s: {outcome}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
