"""A member expelled from the group (SIGSTOP past its session timeout) cannot write
the partitions another member took over. Its batch rolls back and is counted; the counts
afterwards are exact and no event is processed twice."""

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from tests.faults.harness import (
    Flow,
    assert_exactly_once,
    consumer_service,
    wait_processed,
)
from tests.support import db_rows, unique

pytestmark = pytest.mark.faults
SESSION_TIMEOUT_MS = 6000


async def claims(database_url: str, group: str) -> list[asyncpg.Record]:
    return await db_rows(
        database_url, "SELECT partition, generation, member_id FROM notification_consumer."
        "consumer_offsets WHERE group_id = $1", group)


async def claims_when(database_url: str, group: str,
                      check: Callable[[list[asyncpg.Record]], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = await claims(database_url, group)
        if len(rows) == 6 and all(r["generation"] is not None for r in rows) and check(rows):
            return
        assert time.monotonic() < deadline, f"claims never matched: {[dict(r) for r in rows]}"
        await asyncio.sleep(0.2)


def newer_than(generation: int) -> Callable[[list[asyncpg.Record]], bool]:
    return lambda rows: min(r["generation"] for r in rows) > generation


async def fenced_batches(url: str) -> float:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return 0.0
    match = re.search(r"^consumer_fenced_batches_total (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_a_zombie_member_is_fenced_and_counts_stay_exact(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    group = unique("group")
    flow = Flow(main, 30000, rate=300)  # still flowing when the zombie thaws, round after round
    producing = asyncio.create_task(flow.run(deadline_s=300))
    level = os.environ.get("FENCING_LOG_LEVEL", "WARNING")
    zombie, other = (consumer_service(database_url, main, dlq, group,
                                      SESSION_TIMEOUT_MS=str(SESSION_TIMEOUT_MS),
                                      BATCH_MAX_RECORDS="50", LOG_LEVEL=level)
                     for _ in range(2))
    zombie.start()
    try:
        await wait_processed(database_url, main, 300, timeout=90)
        assert zombie.proc is not None
        other.start()
        await claims_when(database_url, group,
                          lambda rows: len({r["member_id"] for r in rows}) == 2)
        fenced = 0.0
        # Each round: freeze, let the other take over, thaw. Whether the thawed member writes
        # before it learns of the rebalance is a race (if it learns first, its own epoch
        # check drops the batch, also correct). It is decided within a second of the thaw, so
        # the rounds are short and many.
        for _ in range(10):
            frozen_at = max(r["generation"] for r in await claims(database_url, group))
            os.kill(zombie.proc.pid, signal.SIGSTOP)
            try:
                # Past the session timeout: the other member claims every partition.
                await claims_when(database_url, group, newer_than(frozen_at))
            finally:
                os.kill(zombie.proc.pid, signal.SIGCONT)
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                fenced = await fenced_batches(zombie.url)
                if fenced >= 1:
                    break
                await asyncio.sleep(0.5)
            if fenced >= 1 or flow.done.is_set():
                break
        await asyncio.wait_for(producing, 300)
        counts = await assert_exactly_once(database_url, main, group, flow.event_ids, 0,
                                           kafka_commit_wait=60)
        assert zombie.proc.poll() is None, zombie.log_tail()
    finally:
        producing.cancel()
        await zombie.crash()
        await other.crash()
    assert fenced >= 1, zombie.log_tail()
    assert counts["events"] == 30000
    assert counts["duplicates"] == 0  # nothing was written twice, not even absorbed
