"""`make bench`: reproducible workloads against the real local stack, side by side with their
ceilings and peers measured in the same run. Writes bench/results/latest.md (+ .json).

Workloads (see BENCHMARKS.md for what each means):
  ingest   wrk, 64 connections, valid distinct bodies -> the API, and -> a bare endpoint
  drain    200,000 events on 6 partitions -> our consumer; raw aiokafka; raw COPY; Go peers
  latency  open loop at a fixed rate -> POST-to-committed percentiles
Environment: BENCH_RUNS (3), BENCH_INGEST_S (20), BENCH_DRAIN_EVENTS (200000),
BENCH_LATENCY_RATE (500), BENCH_LATENCY_S (30), BENCH_ONLY (comma list of workloads).
"""

import asyncio
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics, stop_client

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
PEERS_BIN = ROOT / ".local" / "bench" / "bin"
BOOTSTRAP = "127.0.0.1:9092"
ADMIN_URL = os.environ.get("DATABASE_URL",
                           "postgresql+asyncpg://paystream@127.0.0.1:5432/paystream")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
INGEST_S = int(os.environ.get("BENCH_INGEST_S", "20"))
DRAIN_EVENTS = int(os.environ.get("BENCH_DRAIN_EVENTS", "200000"))
LATENCY_RATE = int(os.environ.get("BENCH_LATENCY_RATE", "500"))
LATENCY_S = int(os.environ.get("BENCH_LATENCY_S", "30"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
CLK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {datetime.now(UTC):%H:%M:%S}] {msg}\n")


# -- processes -----------------------------------------------------------------------------

class Proc:
    """A service under test: started, awaited, measured (CPU seconds, peak RSS)."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, name: str) -> None:
        self.port, self.name = port, name
        self.log = open(RESULTS / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, env={**os.environ, **env, "PORT": str(port),
                                                "HOST": "127.0.0.1"},
                                     stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see bench/results/{self.name}.log")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- database and topics -------------------------------------------------------------------

def bench_database() -> str:
    name = "paystream_bench"

    async def reset() -> None:
        conn = await asyncpg.connect(ADMIN_URL.replace("+asyncpg", ""))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(reset())
    url = re.sub(r"/[^/]*$", f"/{name}", ADMIN_URL)
    for script in ("transaction-api", "notification-consumer"):
        subprocess.run([str(BIN / script), "migrate"], env={**os.environ, "DATABASE_URL": url},
                       check=True, capture_output=True, timeout=120)
    return url


CREATED_TOPICS: list[str] = []


def new_topics(prefix: str) -> tuple[str, str]:
    main = f"bench.{prefix}.{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP),
                              [main, f"{main}.dlq"], 6))
    CREATED_TOPICS.extend([main, f"{main}.dlq"])
    return main, f"{main}.dlq"


async def sql(url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


# -- ingest --------------------------------------------------------------------------------

def wrk(url: str, seconds: int, connections: int = 64) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(ROOT / "bench" / "wrk_payments.lua"), f"{url}/payments"],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result: dict[str, float] = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["generator_cpu_share"] = cpu / (wall * (os.cpu_count() or 1))
    return result


def bench_ingest(url: str) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    main, _ = new_topics("ingest")
    results: dict[str, Any] = {"api": [], "ceiling": []}
    api = Proc([str(BIN / "transaction-api")], {"DATABASE_URL": url, "KAFKA_TOPIC": main,
                                                "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
                                                "LOG_LEVEL": "WARNING"},
               free_port(), "ingest-api")
    ceiling = Proc([sys.executable, "-m", "bench.ceiling_app"], {}, free_port(), "ceiling")
    try:
        api.wait_ready()
        ceiling.wait_ready()
        wrk(api.url, 3)  # warm-up: connections, prepared statements, producer metadata
        wrk(ceiling.url, 3)
        for i in range(RUNS):
            for name, proc in (("api", api), ("ceiling", ceiling)):
                cpu0 = proc.cpu_seconds()
                r = wrk(proc.url, INGEST_S)
                r["server_cpu_share"] = (proc.cpu_seconds() - cpu0) / (
                    r["duration_us"] / 1e6 * (os.cpu_count() or 1))
                results[name].append(r)
                log(f"ingest run {i + 1} {name}: {r['rps']:.0f} req/s, p99 "
                    f"{r['p99_us'] / 1000:.1f} ms, errors {r['errors']}")
        results["api_peak_rss_mb"] = api.peak_rss_mb()
    finally:
        api.stop()
        ceiling.stop()
    return results


# -- drain ---------------------------------------------------------------------------------

def drain_values(n: int) -> list[tuple[bytes, bytes | None, list[tuple[str, bytes]]]]:
    out = []
    now = datetime.now(UTC)
    for i in range(n):
        record = encode(PaymentAccepted(
            event_id=uuid.uuid4(), payer_id=f"acct_{i % 997}", payee_id=f"acct_{i % 997 + 1000}",
            amount=Decimal("1.25"), currency="EUR", description="bench", occurred_at=now))
        out.append((record.value, record.key, record.headers))
    return out


async def prefill(topic: str, n: int) -> float:
    values = drain_values(n)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20,
                                max_batch_size=256 * 1024, enable_idempotence=True)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for value, key, headers in values:
            pending.append(await producer.send(topic, value=value, key=key, headers=headers))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await stop_client(producer)
    return time.perf_counter() - started


async def committed_everything(url: str, topic: str, group: str, ends: dict[int, int],
                               schema: str = "notification_consumer") -> bool:
    rows = await sql(url, f"SELECT partition, next_offset FROM {schema}.consumer_offsets "
                          "WHERE group_id = $1 AND topic = $2", group, topic)
    return {r["partition"]: r["next_offset"] for r in rows} == ends


def drain_ours(url: str, topic: str, dlq: str, ends: dict[int, int]) -> dict[str, float]:
    asyncio.run(truncate_consumer(url))
    group = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    consumer = Proc([str(BIN / "notification-consumer")], {
        "DATABASE_URL": url, "KAFKA_TOPIC": topic, "KAFKA_DLQ_TOPIC": dlq,
        "KAFKA_GROUP_ID": group, "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP, "LOG_LEVEL": "WARNING",
    }, free_port(), f"drain-consumer-{group}")
    try:
        deadline = started + 600
        while not asyncio.run(committed_everything(url, topic, group, ends)):
            if time.monotonic() > deadline or consumer.proc.poll() is not None:
                raise RuntimeError("consumer did not drain the topic")
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        rss, cpu = consumer.peak_rss_mb(), consumer.cpu_seconds()
    finally:
        consumer.stop()
    # Like the Go peers' own clock: from the first batch's transaction to the last one's.
    [span] = asyncio.run(sql(url, """
        SELECT EXTRACT(EPOCH FROM (SELECT max(updated_at) FROM
               notification_consumer.consumer_offsets WHERE group_id = $1)
               - (SELECT min(processed_at) FROM notification_consumer.processed_events)) AS s
    """, group))
    active = float(span["s"])
    return {"seconds": active, "rate": DRAIN_EVENTS / active, "wall_seconds": elapsed,
            "wall_rate": DRAIN_EVENTS / elapsed, "peak_rss_mb": rss, "cpu_seconds": cpu}


async def truncate_consumer(url: str) -> None:
    await sql(url, "TRUNCATE notification_consumer.processed_events, "
                   "notification_consumer.notifications, notification_consumer.consumer_offsets,"
                   " notification_consumer.consumer_counters, notification_consumer.dead_letters")


def json_subprocess(argv: list[str], timeout: float) -> dict[str, Any]:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def end_offsets(topic: str) -> dict[int, int]:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: int(o) for tp, o in ends.items() if o}
    finally:
        await stop_client(consumer)


def runs_of(name: str, fn: Callable[[], dict[str, Any]], runs: int = RUNS) -> list[dict[str, Any]]:
    results = []
    for i in range(runs):
        r = fn()
        log(f"{name} run {i + 1}: {r.get('rate', 0):.0f} events/s in {r.get('seconds', 0):.1f}s")
        results.append(r)
    return results


def bench_drain(url: str) -> dict[str, Any]:
    topic, dlq = new_topics("drain")
    log(f"prefilling {DRAIN_EVENTS} events into {topic}")
    prefill_s = asyncio.run(prefill(topic, DRAIN_EVENTS))
    ends = asyncio.run(end_offsets(topic))
    assert sum(ends.values()) == DRAIN_EVENTS, ends
    results: dict[str, Any] = {"prefill_seconds": prefill_s}
    results["ours"] = runs_of("drain ours", lambda: drain_ours(url, topic, dlq, ends))
    results["raw_consume"] = runs_of("raw aiokafka", lambda: json_subprocess(
        [sys.executable, "-m", "bench.ceilings", "consume", topic, str(DRAIN_EVENTS)], 600))
    results["raw_copy"] = runs_of("raw COPY", lambda: json_subprocess(
        [sys.executable, "-m", "bench.ceilings", "copy", url, str(DRAIN_EVENTS)], 600))
    asyncio.run(truncate_consumer(url))
    tuned = PEERS_BIN / "tuned-drain"
    if tuned.exists():
        def go_tuned() -> dict[str, Any]:
            group = f"bench-go-{uuid.uuid4().hex[:8]}"
            r = json_subprocess([str(tuned), "-brokers", BOOTSTRAP, "-topic", topic,
                                 "-group", group, "-database-url",
                                 url.replace("+asyncpg", ""), "-expect", str(DRAIN_EVENTS),
                                 "-timeout", "300s"], 400)
            asyncio.run(sql(url, "DROP SCHEMA IF EXISTS go_peer CASCADE"))
            return r
        results["go_tuned"] = runs_of("go tuned drain", go_tuned)
    article = PEERS_BIN / "article-consumer"
    if article.exists():
        results["go_article_consume"] = runs_of("go article consumer", lambda: json_subprocess(
            [str(article), "-brokers", BOOTSTRAP, "-topic", topic,
             "-group", f"bench-article-{uuid.uuid4().hex[:8]}", "-expect", str(DRAIN_EVENTS),
             "-timeout", "20s"], 120), runs=1)
    producer = PEERS_BIN / "article-producer"
    if producer.exists():
        scratch, _ = new_topics("article")
        results["go_article_produce"] = runs_of("go article producer", lambda: json_subprocess(
            [str(producer), "-brokers", BOOTSTRAP, "-topic", scratch, "-duration", "10s"], 120),
            runs=1)
    return results


# -- latency -------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_latency(url: str) -> dict[str, Any]:
    openloop = PEERS_BIN / "openloop"
    if not openloop.exists():
        raise RuntimeError("the open-loop generator is built from bench/peers (needs Go)")
    topic, dlq = new_topics("latency")
    asyncio.run(truncate_consumer(url))
    env = {"DATABASE_URL": url, "KAFKA_TOPIC": topic, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": f"bench-lat-{uuid.uuid4().hex[:6]}",
           "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP, "LOG_LEVEL": "WARNING"}
    api = Proc([str(BIN / "transaction-api")], env, free_port(), "latency-api")
    consumer = Proc([str(BIN / "notification-consumer")], env, free_port(), "latency-consumer")
    try:
        api.wait_ready()
        consumer.wait_ready()
        load = [str(openloop), "-url", f"{api.url}/payments"]
        json_subprocess([*load, "-rate", "50", "-duration", "2s", "-prefix", "warm"], 60)
        asyncio.run(truncate_consumer(url))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = json_subprocess([*load, "-rate", str(LATENCY_RATE), "-duration",
                                  f"{LATENCY_S}s", "-prefix", uuid.uuid4().hex[:6]],
                                 LATENCY_S + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        deadline = time.monotonic() + 60
        rows: list[Any] = []
        while time.monotonic() < deadline:
            rows = asyncio.run(sql(
                url, "SELECT EXTRACT(EPOCH FROM processed_at - occurred_at) AS s "
                     "FROM notification_consumer.processed_events WHERE topic = $1", topic))
            if len(rows) >= client["accepted"]:
                break
            time.sleep(0.5)
        e2e = [float(r["s"]) for r in rows]
        rss = {"api": api.peak_rss_mb(), "consumer": consumer.peak_rss_mb()}
    finally:
        api.stop()
        consumer.stop()
    generator_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rate": LATENCY_RATE, "seconds": LATENCY_S, "sent": client["sent"],
        "accepted": client["accepted"], "processed": len(e2e), "errors": client["errors"],
        "e2e_p50_ms": percentile(e2e, 50) * 1000, "e2e_p99_ms": percentile(e2e, 99) * 1000,
        "e2e_max_ms": max(e2e, default=float("nan")) * 1000,
        "post_p50_ms": client["post_p50_ms"], "post_p99_ms": client["post_p99_ms"],
        "generator_cpu_share": generator_cpu / (LATENCY_S * (os.cpu_count() or 1)),
        "peak_rss_mb": rss,
    }


# -- report --------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    versions = {}
    for module in ("fastapi", "uvicorn", "aiokafka", "sqlalchemy", "asyncpg", "pydantic"):
        try:
            from importlib.metadata import version

            versions[module] = version(module)
        except Exception:  # noqa: BLE001 - a missing version is only a blank cell
            versions[module] = "?"
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("go") else "absent"
    return {"cpu": f"{cpu} x {os.cpu_count()}", "memory_gib": f"{int(mem) / 1024 / 1024:.1f}",
            "python": platform.python_version(), "kafka": os.environ.get("KAFKA_VERSION", "3.9.1"),
            "go": go, **versions}


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [f"Run {results['started']} on {m['cpu']}, {m['memory_gib']} GiB; Python "
             f"{m['python']}, Kafka {m['kafka']}, aiokafka {m['aiokafka']}, FastAPI "
             f"{m['fastapi']}, uvicorn {m['uvicorn']}, asyncpg {m['asyncpg']}; {m['go']}.",
             f"Command: `make bench` (BENCH_RUNS={RUNS}); medians of {RUNS} runs unless noted.",
             ""]
    if "ingest" in results:
        ing = results["ingest"]
        api_rps = median([r["rps"] for r in ing["api"]])
        ceil_rps = median([r["rps"] for r in ing["ceiling"]])
        lines += ["### Ingest: `POST /payments`, wrk -t1 -c64, "
                  f"{INGEST_S} s per run, valid distinct bodies", "",
                  "| target | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU | wrk CPU |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, label in (("api", "transaction API (durable + published)"),
                            ("ceiling", "bare endpoint: same validation, no I/O")):
            rs = ing[name]
            lines.append(
                f"| {label} | {median([r['rps'] for r in rs]):.0f} | "
                f"{median([r['p50_us'] for r in rs]) / 1000:.1f} | "
                f"{median([r['p95_us'] for r in rs]) / 1000:.1f} | "
                f"{median([r['p99_us'] for r in rs]) / 1000:.1f} | "
                f"{sum(r['errors'] for r in rs)} | "
                f"{median([r['server_cpu_share'] for r in rs]):.0%} | "
                f"{median([r['generator_cpu_share'] for r in rs]):.0%} |")
        lines += ["", f"Ratio API / ceiling: **{api_rps / ceil_rps:.2f}** (goal ≥ 0.50). "
                  f"API peak RSS {ing['api_peak_rss_mb']:.0f} MB.", ""]
    if "drain" in results:
        d = results["drain"]
        ours = median([r["rate"] for r in d["ours"]])
        rows = [("our consumer (events + notifications + offsets, one tx per batch)", d["ours"]),
                ("ceiling: raw aiokafka consume, no database", d["raw_consume"]),
                ("ceiling: raw asyncpg COPY of the same rows, no Kafka", d["raw_copy"])]
        if "go_tuned" in d:
            rows.append(("peer: tuned Go (kafka-go + pgx batch, same dedup)", d["go_tuned"]))
        if "go_article_consume" in d:
            rows.append(("peer: the article's Go reader (ReadMessage, sync commit), 20 s cap",
                         d["go_article_consume"]))
        lines += [f"### Drain: {DRAIN_EVENTS:,} events on 6 partitions, time until all "
                  "committed", "", "| consumer | events/s | ratio ours / this |", "|---|---|---|"]
        for label, rs in rows:
            rate = median([float(r["rate"]) for r in rs])
            lines.append(f"| {label} | {rate:,.0f} | {ours / rate:.2f} |")
        lower = min(median([r["rate"] for r in d["raw_consume"]]),
                    median([r["rate"] for r in d["raw_copy"]]))
        lines += ["", f"Ours / lower ceiling: **{ours / lower:.2f}** (goal ≥ 0.50). "
                  f"Consumer peak RSS {median([r['peak_rss_mb'] for r in d['ours']]):.0f} MB. "
                  f"Prefill took {d['prefill_seconds']:.1f} s.", ""]
        if "go_article_produce" in d:
            p = d["go_article_produce"][0]
            lines += [f"The article's Go producer as written (`WriteMessages` per message, "
                      f"default `BatchTimeout`): **{p['rate']:.1f} messages/s** over "
                      f"{p['seconds']:.0f} s.", ""]
    if "latency" in results:
        lat = results["latency"]
        lines += [f"### Latency: open loop {lat['rate']}/s for {lat['seconds']} s "
                  "(one run), event time → row committed", "",
                  "| sent | accepted | processed | errors | p50 ms | p99 ms | max ms | "
                  "POST p50 ms | POST p99 ms |", "|---|---|---|---|---|---|---|---|---|",
                  f"| {lat['sent']} | {lat['accepted']} | {lat['processed']} | {lat['errors']} "
                  f"| {lat['e2e_p50_ms']:.1f} | {lat['e2e_p99_ms']:.1f} | "
                  f"{lat['e2e_max_ms']:.1f} | {lat['post_p50_ms']:.1f} | "
                  f"{lat['post_p99_ms']:.1f} |", "",
                  f"Generator (Go, open loop) CPU share: {lat['generator_cpu_share']:.0%}. "
                  f"Peak RSS under this load: API {lat['peak_rss_mb']['api']:.0f} MB, consumer "
                  f"{lat['peak_rss_mb']['consumer']:.0f} MB.", ""]
    return "\n".join(lines)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                               "machine": machine()}
    url = bench_database()
    try:
        for name, fn in (("ingest", bench_ingest), ("drain", bench_drain),
                         ("latency", bench_latency)):
            if not ONLY or name in ONLY:
                log(f"workload {name}")
                results[name] = fn(url)
    finally:  # hundreds of MB of events per run: do not leave them on the local broker
        asyncio.run(delete_topics(KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP),
                                  CREATED_TOPICS))
    text = report(results)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / "latest.md").write_text(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
