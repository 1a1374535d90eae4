"""A payer whose 2nd payment is poison, among other payers' payments on one partition, and
the counts that prove parking and release: rows, order (seq), parked records, offsets,
dead letters."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from tests.faults.harness import make_events
from tests.support import (
    connection,
    consumer_app,
    in_process,
    producer,
    unique,
    wait_until,
)

PARTITION = 1
PAYER = b"acct_parked_payer"
S = "notification_consumer"


@dataclass
class Scenario:
    topic: str
    payer: list[tuple[UUID, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)
    others: set[UUID] = field(default_factory=set)
    sent: int = 0

    @property
    def ids(self) -> list[UUID]:
        return [e for e, _, _ in self.payer]

    @property
    def poison(self) -> bytes:
        """The 2nd payment with an amount no schema accepts: dead-lettered for its content."""
        body = json.loads(self.payer[1][1])
        body["amount"] = "-5"
        return json.dumps(body).encode()


async def send_scenario(topic: str, others: int = 50) -> Scenario:
    """The payer's 5 payments spread among `others` payments of other payers, one
    partition, in this order."""
    scenario = Scenario(topic)
    for event_id, value, _, headers in make_events(5):
        body = json.loads(value)
        body["payer_id"] = PAYER.decode()
        scenario.payer.append((event_id, json.dumps(body).encode(), headers))
    rest = make_events(others)
    async with producer() as p:
        for i, (event_id, value, key, headers) in enumerate(rest):
            if i % 10 == 3:
                n = i // 10
                _, payer_value, payer_headers = scenario.payer[n]
                await p.send_and_wait(topic, value=scenario.poison if n == 1 else payer_value,
                                      key=PAYER, headers=payer_headers, partition=PARTITION)
                scenario.sent += 1
            await p.send_and_wait(topic, value=value, key=key, headers=headers,
                                  partition=PARTITION)
            scenario.others.add(event_id)
            scenario.sent += 1
    return scenario


async def send_payer(scenario: Scenario) -> UUID:
    """One more payment of the payer (the 6th)."""
    [(event_id, value, _, headers)] = make_events(1)
    body = json.loads(value)
    body["payer_id"] = PAYER.decode()
    async with producer() as p:
        await p.send_and_wait(scenario.topic, value=json.dumps(body).encode(), key=PAYER,
                              headers=headers, partition=PARTITION)
    scenario.payer.append((event_id, b"", headers))
    scenario.sent += 1
    return event_id


async def applied_order(url: str, ids: list[UUID]) -> list[UUID]:
    """Of `ids`, those processed, in the order they were applied."""
    async with connection(url) as conn:
        rows = await conn.fetch(f"SELECT event_id FROM {S}.processed_events "
                                "WHERE event_id = ANY($1) ORDER BY seq", ids)
    return [r["event_id"] for r in rows]


async def state(url: str, topic: str, group: str) -> dict[str, Any]:
    async with connection(url) as conn:
        return {
            "processed": await conn.fetchval(
                f"SELECT count(*) FROM {S}.processed_events WHERE topic = $1", topic),
            "parked_offsets": [r["offset"] for r in await conn.fetch(
                f"SELECT \"offset\" FROM {S}.parked_records WHERE topic = $1 AND group_id = $2 "
                "ORDER BY \"offset\"", topic, group)],
            "parks": [dict(r) for r in await conn.fetch(
                f"SELECT partition, key, state, records, letter_id FROM {S}.parked_keys "
                "WHERE topic = $1 AND group_id = $2", topic, group)],
            "letters": await conn.fetchval(
                f"SELECT count(*) FROM {S}.dead_letters WHERE topic = $1 AND group_id = $2",
                topic, group),
            "stored": await conn.fetchval(
                f"SELECT next_offset FROM {S}.consumer_offsets WHERE group_id = $1 "
                "AND topic = $2 AND partition = $3", group, topic, PARTITION),
            "counters": dict(await conn.fetchrow(
                f"SELECT processed, duplicates, dead_letters FROM {S}.consumer_counters "
                "WHERE group_id = $1", group) or {}),
        }


async def letter_id(url: str, topic: str, group: str) -> int:
    async with connection(url) as conn:
        return int(await conn.fetchval(
            f"SELECT id FROM {S}.dead_letters WHERE topic = $1 AND group_id = $2",
            topic, group))


async def parked_scenario(url: str, topic: str, group: str) -> Scenario:
    """Until the consumer has read all 55 records: the payer's 3rd-5th parked."""
    scenario = await send_scenario(topic)

    async def read_all() -> bool:
        return bool((await state(url, topic, group))["stored"] == scenario.sent)
    await wait_until(read_all, 60, what="all records read")
    s = await state(url, topic, group)
    assert await applied_order(url, scenario.ids) == scenario.ids[:1]
    assert s["processed"] == 51 and s["letters"] == 1 and len(s["parked_offsets"]) == 3
    parks: list[dict[str, Any]] = s["parks"]
    [park] = parks
    assert park["key"] == PAYER and park["state"] == "parked" and park["records"] == 3
    assert park["letter_id"] == await letter_id(url, topic, group)
    return scenario


async def released(url: str, topic: str, group: str, processed: int) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        s = await state(url, topic, group)
        return s if s["processed"] == processed and not s["parks"] else None
    return await wait_until(done, 30, what="the release applied")


@asynccontextmanager
async def parked_consumer(url: str, topics: tuple[str, str]
                          ) -> AsyncIterator[tuple[httpx.AsyncClient, Scenario, int, str, str]]:
    """A consumer in process (releases looked for every 0.1 s) over the parked scenario:
    (its client, the scenario, the letter that parked the payer, the topic, the group)."""
    main, dlq = topics
    group = unique("group")
    async with in_process(consumer_app(url, main, dlq, group, release_poll_s=0.1)) as client:
        scenario = await parked_scenario(url, main, group)
        yield client, scenario, await letter_id(url, main, group), main, group
