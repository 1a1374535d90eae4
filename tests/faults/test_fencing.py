"""Issue 9: a member expelled from the group (SIGSTOP past its session timeout) cannot write
the partitions another member took over. Its batch rolls back and is counted; the counts
afterwards are exact and no event is processed twice."""

import asyncio
import os
import re
import signal
import time

import httpx
import pytest

from tests.faults.harness import Flow, assert_exactly_once, consumer_service, wait_processed
from tests.support import unique

pytestmark = pytest.mark.faults
SESSION_TIMEOUT_MS = 6000


def fenced_batches(url: str) -> float:
    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0.0
    match = re.search(r"^consumer_fenced_batches_total (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_a_zombie_member_is_fenced_and_counts_stay_exact(
    database_url: str, topics6: tuple[str, str]
) -> None:
    main, dlq = topics6
    group = unique("group")
    flow = Flow(main, 6000, rate=400)
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
        fenced = 0.0
        for _ in range(3):  # each round: freeze, let the other take over, thaw
            await wait_processed(database_url, main, 0, timeout=5)
            os.kill(zombie.proc.pid, signal.SIGSTOP)
            try:
                # Past the session timeout, and until the other member has written again.
                await asyncio.sleep(SESSION_TIMEOUT_MS / 1000 * 2)
            finally:
                os.kill(zombie.proc.pid, signal.SIGCONT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                fenced = await asyncio.to_thread(fenced_batches, zombie.url)
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
        zombie.kill()
        other.kill()
    assert fenced >= 1, zombie.log_tail()
    assert counts["events"] == 6000
    assert counts["duplicates"] == 0  # nothing was written twice, not even absorbed
