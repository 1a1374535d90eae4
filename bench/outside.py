"""The CPU a measurement costs outside our processes: PostgreSQL's (every `postgres` process)
and the Kafka broker's (the java process running `kafka.Kafka`), read from /proc before and
after, and the WAL PostgreSQL wrote meanwhile (`pg_current_wal_lsn()`).

A process's CPU is utime + stime, plus cutime + cstime: the CPU of its children that ended and
were reaped, so a backend that ends between the two samples still counts (in the postmaster)
and the sum only grows. A process that appears, or ends, or cannot be read between samples is
taken as it is found. Both servers are shared with whatever else runs on the machine: the
figures include that, like the load average does."""

import time
from collections.abc import Callable
from pathlib import Path

from bench.infra import run_sql
from bench.procs import CLK, Result, log, stat_fields

WHO = ("postgres", "kafka")


def _owner(pid_dir: Path, comm: bytes) -> str | None:
    if comm == b"postgres":
        return "postgres"
    if comm == b"java":
        try:
            if b"kafka.Kafka" in (pid_dir / "cmdline").read_bytes():
                return "kafka"
        except OSError:
            return None
    return None


def sample(proc: Path = Path("/proc")) -> dict[str, float]:
    """CPU seconds of PostgreSQL and of the Kafka broker so far; a server with no process
    found is left out."""
    totals: dict[str, float] = {}
    for pid_dir in proc.glob("[0-9]*"):
        try:
            raw = (pid_dir / "stat").read_bytes()
        except OSError:  # ended since the listing
            continue
        comm, fields = stat_fields(raw)
        who = _owner(pid_dir, comm)
        if who is None or len(fields) < 15:
            continue
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (14-17)
        totals[who] = totals.get(who, 0.0) + ticks / CLK
    return totals


def wal_lsn(url: str) -> int | None:
    try:
        return int(run_sql(url, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")[0][0])
    except Exception as exc:  # noqa: BLE001 - the WAL figure is only left blank
        log(f"no WAL position: {exc!r}")
        return None


def charged(fn: Callable[[], Result], url: str, unit: str,
            count: Callable[[Result], float]) -> Callable[[], Result]:
    """`fn`, with the CPU PostgreSQL and Kafka spent while it ran, per `unit` (`count(result)`
    of them), and PostgreSQL's WAL bytes per unit: `postgres_cpu_us_per_request`, ..."""
    def run() -> Result:
        wal0 = wal_lsn(url)
        time.sleep(0.05)  # that query's backend ended: reaped before the first sample
        cpu0 = sample()
        r = fn()
        cpu1, wal1 = sample(), wal_lsn(url)
        n = count(r) if "error" not in r else 0
        if not n:
            return r
        for who in WHO:
            if who in cpu0 and who in cpu1:
                r[f"{who}_cpu_seconds"] = cpu1[who] - cpu0[who]
                r[f"{who}_cpu_us_per_{unit}"] = (cpu1[who] - cpu0[who]) / n * 1e6
        if wal0 is not None and wal1 is not None:
            r[f"wal_bytes_per_{unit}"] = (wal1 - wal0) / n
        return r
    return run


if __name__ == "__main__":  # python -m bench.outside: what it sees now
    log(f"CPU seconds so far: {sample()}")
