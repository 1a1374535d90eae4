"""What `make bench` reads from the environment, in one place.

BENCH_RUNS (3; at least 3 for a full run), BENCH_INGEST_S (20), BENCH_DRAIN_EVENTS (200000),
BENCH_LATENCY_RATE (500), BENCH_LATENCY_S (30), BENCH_SINGLE_N (200), BENCH_EXPIRY_KEYS
(100000), BENCH_WRITE_PATH_EVENTS (30000), BENCH_ONLY (comma list of workloads),
BENCH_QUICK=1 (small sizes and 2 runs: checks that the pipeline works, in a few minutes;
its figures mean nothing and it does not touch BENCHMARKS.md),
BENCH_PEERS_BIN (where make bench builds the Go peers; .local/bench/bin), BENCH_DATABASE
(paystream_bench, dropped and made afresh),
KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL (the admin database; the bench creates its own).
The services run with their default settings: LOG_LEVEL is not passed on unless
BENCH_LOG_LEVEL is set.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
PEERS_BIN = Path(os.environ.get("BENCH_PEERS_BIN", str(ROOT / ".local" / "bench" / "bin")))
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
ADMIN_URL = os.environ.get("DATABASE_URL",
                           "postgresql+asyncpg://paystream@127.0.0.1:5432/paystream")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def _int(name: str, full: int, quick: int) -> int:
    return int(os.environ.get(name, str(quick if QUICK else full)))


RUNS = _int("BENCH_RUNS", 3, 2)
INGEST_S = _int("BENCH_INGEST_S", 20, 3)
DRAIN_EVENTS = _int("BENCH_DRAIN_EVENTS", 200_000, 20_000)
LATENCY_RATE = _int("BENCH_LATENCY_RATE", 500, 200)
LATENCY_S = _int("BENCH_LATENCY_S", 30, 5)
SINGLE_N = _int("BENCH_SINGLE_N", 200, 30)
EXPIRY_KEYS = _int("BENCH_EXPIRY_KEYS", 100_000, 5_000)
WRITE_PATH_EVENTS = _int("BENCH_WRITE_PATH_EVENTS", 30_000, 3_000)
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
PARTITIONS = 6
WRK_CONNECTIONS = 32


def service_env(**extra: str) -> dict[str, str]:
    """The environment a service under test gets: the caller's, minus settings users would not
    have set (LOG_LEVEL), plus the bench's topic/database/ports."""
    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    if os.environ.get("BENCH_LOG_LEVEL"):
        env["LOG_LEVEL"] = os.environ["BENCH_LOG_LEVEL"]
    env["KAFKA_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    return {**env, **extra}
