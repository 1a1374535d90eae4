"""What `make bench` reads from the environment, in one place.

BENCH_RUNS (3), BENCH_INGEST_S (20), BENCH_DRAIN_EVENTS (200000), BENCH_LATENCY_RATE (500),
BENCH_LATENCY_S (30), BENCH_SINGLE_N (300), BENCH_EXPIRY_KEYS (200000),
BENCH_WRITE_PATH_EVENTS (30000), BENCH_ONLY (comma list of workloads),
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
PEERS_BIN = ROOT / ".local" / "bench" / "bin"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
ADMIN_URL = os.environ.get("DATABASE_URL",
                           "postgresql+asyncpg://paystream@127.0.0.1:5432/paystream")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
INGEST_S = int(os.environ.get("BENCH_INGEST_S", "20"))
DRAIN_EVENTS = int(os.environ.get("BENCH_DRAIN_EVENTS", "200000"))
LATENCY_RATE = int(os.environ.get("BENCH_LATENCY_RATE", "500"))
LATENCY_S = int(os.environ.get("BENCH_LATENCY_S", "30"))
SINGLE_N = int(os.environ.get("BENCH_SINGLE_N", "300"))
EXPIRY_KEYS = int(os.environ.get("BENCH_EXPIRY_KEYS", "200000"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
PARTITIONS = 6


def service_env(**extra: str) -> dict[str, str]:
    """The environment a service under test gets: the caller's, minus settings users would not
    have set (LOG_LEVEL), plus the bench's topic/database/ports."""
    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    if os.environ.get("BENCH_LOG_LEVEL"):
        env["LOG_LEVEL"] = os.environ["BENCH_LOG_LEVEL"]
    env["KAFKA_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    return {**env, **extra}
