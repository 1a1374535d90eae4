"""The console overview's lag in time: the age of the oldest unprocessed record and the time
to drain, per partition and in total, are /stats' own numbers (one LagMonitor snapshot).
While commits are held they grow and the drain is unknown (nothing moved); once the backlog
is applied both are 0."""

import re
from typing import Any

import httpx

from tests.support import connection, consumer_app, event_record, in_process, publish, unique
from tests.support import wait_until as wait

S = "notification_consumer"
FAST = {"console_sample_interval_s": 0.5, "lag_sample_interval_s": 0.5}


def seconds(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" data-seconds="([^"]*)">([^<]*)<', html)
    assert found, f"no {element_id} on the page"
    return found.group(1)


def partition_rows(html: str) -> dict[int, tuple[str, str]]:
    """partition -> (oldest unprocessed seconds, drain seconds) as the page carries them."""
    rows = re.findall(r'<tr data-partition="(\d+)">.*?class="oldest" data-seconds="([^"]*)"'
                      r'.*?class="drain" data-seconds="([^"]*)"', html, re.S)
    return {int(p): (oldest, drain) for p, oldest, drain in rows}


async def page_and_stats(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    page = await client.get("/console/")
    stats = await client.get("/stats")
    assert page.status_code == stats.status_code == 200
    return page.text, stats.json()


async def test_overview_shows_stats_oldest_age_and_drain_per_partition_and_in_total(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    app = consumer_app(database_url, main, dlq, unique("group"), **FAST)
    async with in_process(app) as client, connection(database_url) as conn:
        await client.get("/console/")  # the open-mode session
        tx = conn.transaction()
        await tx.start()
        # Held offsets: every batch waits before its commit, so the backlog only ages.
        await conn.execute(f"LOCK TABLE {S}.consumer_offsets IN EXCLUSIVE MODE")
        await publish(main, [event_record() for _ in range(12)], partition=2)

        async def aged() -> tuple[str, dict[str, Any]] | None:
            html, stats = await page_and_stats(client)
            ok = stats["total_lag"] == 12 and stats["oldest_unprocessed_age_s"] > 1.0 \
                and float(seconds(html, "oldest-unprocessed") or 0) > 1.0
            return (html, stats) if ok else None

        html, stats = await wait(aged, 30, interval=0.2, what="a backlog older than 1 s")
        # The page is the latest sample (at most one interval old): the same age within it.
        shown = float(seconds(html, "oldest-unprocessed"))
        assert abs(shown - stats["oldest_unprocessed_age_s"]) <= 1.5
        assert seconds(html, "drain") == "" and stats["drain_seconds"] is None  # no rate yet
        assert 'id="drain" data-seconds="">unknown<' in html
        rows = partition_rows(html)
        assert set(rows) == {0, 1, 2} and rows[0] == rows[1] == ("0.0", "0.0")
        assert float(rows[2][0]) > 1.0 and rows[2][1] == ""
        await tx.rollback()

        async def drained() -> str | None:
            html, stats = await page_and_stats(client)
            done = stats["total_lag"] == 0 and seconds(html, "oldest-unprocessed") == "0.0"
            return html if done and stats["drain_seconds"] == 0.0 else None

        html = await wait(drained, 30, interval=0.2, what="the backlog applied")
        assert seconds(html, "drain") == "0.0" and 'id="oldest-unprocessed" data-seconds' in html
        assert set(partition_rows(html).values()) == {("0.0", "0.0")}
