"""Watching a drain from the database, the same way for every consumer that writes our
tables (ours, the Go peer): until every partition's stored offset reaches the topic's end,
with the CPU of the processes from their first committed batch on (start-up excluded)."""

import asyncio
import time

import asyncpg

from bench.infra import libpq
from bench.procs import Proc, Result

S = "notification_consumer"
_SPAN = f"""
    SELECT EXTRACT(EPOCH FROM (SELECT max(updated_at) FROM {S}.consumer_offsets
                               WHERE group_id = $1)
                   - (SELECT min(processed_at) FROM {S}.processed_events)) AS s,
           (SELECT count(*) FROM {S}.processed_events) AS n,
           (SELECT count(*) FROM {S}.notifications) AS notes
"""


def _cpu(procs: list[Proc]) -> float:
    return sum(p.cpu_seconds() for p in procs)


async def _watch(url: str, group: str, topic: str, ends: dict[int, int], procs: list[Proc],
                 timeout: float) -> Result:
    conn = await asyncpg.connect(libpq(url), timeout=10)
    try:
        started = time.monotonic()
        first: tuple[float, int] | None = None  # CPU s and events at the first commit seen
        while True:
            for p in procs:
                code = p.exited()
                if code not in (None, 0):
                    raise RuntimeError(f"{p.name} exited {code}; see bench/results/{p.name}.log")
            processed = await conn.fetchval(
                f"SELECT processed FROM {S}.consumer_counters WHERE group_id = $1", group) or 0
            if first is None and processed:
                first = (_cpu(procs), processed)
            stored = await conn.fetch(
                f"SELECT partition, next_offset FROM {S}.consumer_offsets WHERE group_id = $1"
                " AND topic = $2 AND next_offset IS NOT NULL", group, topic)
            if {r["partition"]: r["next_offset"] for r in stored} == ends:
                break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"not drained in {timeout:.0f} s ({processed} events)")
            await asyncio.sleep(0.05)
        wall = time.monotonic() - started
        cpu = _cpu(procs)
        span = await conn.fetchrow(_SPAN, group)
    finally:
        await conn.close()
    events = sum(ends.values())
    if span["n"] != events or span["notes"] != 2 * events:
        raise RuntimeError(f"{span['n']} events and {span['notes']} notifications stored for "
                           f"{events} records")
    active = float(span["s"])
    result: Result = {"seconds": active, "rate": events / active, "wall_seconds": wall,
                      "cpu_seconds": cpu, "cpu_us_per_event": cpu / events * 1e6,
                      "peak_rss_mb": max(p.peak_rss_mb() for p in procs)}
    if first is not None and events > first[1]:
        result["steady_cpu_us_per_event"] = (cpu - first[0]) / (events - first[1]) * 1e6
    return result


def watch_drain(url: str, group: str, topic: str, ends: dict[int, int], procs: list[Proc],
                timeout: float = 600) -> Result:
    """Rate = events / (last batch's offsets - first batch's rows), both the transactions'
    now() in PostgreSQL, so every consumer is timed by the same clock and rule."""
    return asyncio.run(_watch(url, group, topic, ends, procs, timeout))
