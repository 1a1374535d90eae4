"""Dead-letter replay publishes each letter at most once, whatever happens around the publish:
a retry, a concurrent twin, a crash between the record and the publish, a database failure
after the acknowledgement. Real Kafka and PostgreSQL; the topic's records are counted.
PARK_KEYS is off here: a letter that parks its key is replayed into the parked records
instead, without Kafka (tests/faults/test_parking.py)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from notification_consumer.dead_letters.republish import REPLAY_ID_HEADER
from tests.support import (
    consumer_app,
    db_execute,
    db_rows,
    db_value,
    end_offsets,
    in_process,
    producer,
    publish,
    wait_until,
)

S = "notification_consumer"


@asynccontextmanager
async def one_letter(database_url: str, topics: tuple[str, str], group: str,
                     headers: dict[str, str] | None = None,
                     **settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """A consumer on `group` that has dead-lettered one poison record: its client, the id."""
    main, dlq = topics
    await publish(main, [(b"not json", b"k", [])])
    app = consumer_app(database_url, main, dlq, group, park_keys=False, **settings)
    async with in_process(app) as consumer:
        async def found() -> int | None:
            body = (await consumer.get("/dead-letters", headers=headers)).json()
            ids = [d["id"] for d in body["items"] if d["group_id"] == group]
            return ids[0] if ids else None

        yield consumer, await wait_until(found, 30, what="dead letter recorded")


async def _topic_size(topic: str) -> int:
    return sum((await end_offsets(topic)).values())


async def test_concurrent_and_repeated_replays_publish_once(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    async with one_letter(database_url, topics, group) as (consumer, letter):
        url = f"/dead-letters/{letter}/replay"
        first, second = await asyncio.gather(consumer.post(url), consumer.post(url))
        third = await consumer.post(url)
        assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
        outcomes = [r.json() for r in (first, second, third)]
        assert sorted(o["already_replayed"] for o in outcomes) == [False, True, True]
        assert len({(o["partition"], o["offset"], o["replay_id"]) for o in outcomes}) == 1
        # The replayed poison comes back as a second letter: a positive signal that the
        # consumer has read past every replay that was published.
        await wait_until(lambda: _letters(database_url, group, 2), 30, what="second letter")
    assert await _topic_size(topics[0]) == 2  # the original + exactly one replay
    audit = await db_rows(database_url, f"SELECT action, replayed, already, failed FROM "
                       f"{S}.replay_audit WHERE filters->>'letter_id' = $1", str(letter))
    assert sorted((a["replayed"], a["already"]) for a in audit) == [(0, 1), (0, 1), (1, 0)]


async def _letters(url: str, group: str, n: int) -> bool:
    return bool(await db_value(url, f"SELECT count(*) FROM {S}.dead_letters WHERE group_id = $1",
                               group) >= n)


async def test_pending_replay_is_resolved_without_a_second_publish(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    """Two crashes: one after the record but before the publish (nothing on the topic), one
    after Kafka's ack but before the outcome was stored (the record is on the topic)."""
    main, dlq = topics
    await publish(main, [(b"poison one", b"a", []), (b"poison two", b"b", [])])
    async with in_process(consumer_app(database_url, main, dlq, group,
                                       park_keys=False)) as consumer:
        await wait_until(lambda: _letters(database_url, group, 2), 30, what="two letters")
        rows = await db_rows(database_url, f"SELECT id, value FROM {S}.dead_letters "
                          "WHERE group_id = $1 ORDER BY id", group)
        before_publish, after_ack = rows[0]["id"], rows[1]["id"]
        published_id = uuid.uuid4()
        for letter, replay_id in ((before_publish, uuid.uuid4()), (after_ack, published_id)):
            await db_execute(database_url, f"""
                INSERT INTO {S}.dead_letter_replays (letter_id, replay_id, state, actor_scope,
                    lease_until) VALUES ($1, $2, 'pending', 'test', now() - interval '1 s')""",
                       letter, replay_id)
        async with producer() as p:  # the publish whose ack was never recorded
            sent = await p.send_and_wait(main, value=rows[1]["value"], key=b"b", headers=[
                (REPLAY_ID_HEADER, str(published_id).encode())])
        size = await _topic_size(main)
        found = await consumer.post(f"/dead-letters/{after_ack}/replay")
        assert found.status_code == 200, found.text
        assert found.json()["already_replayed"] is True
        assert (found.json()["partition"], found.json()["offset"]) == (sent.partition,
                                                                       sent.offset)
        assert await _topic_size(main) == size  # found on the topic, not published again
        fresh = await consumer.post(f"/dead-letters/{before_publish}/replay")
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["already_replayed"] is False
        assert await _topic_size(main) == size + 1
        again = await consumer.post(f"/dead-letters/{before_publish}/replay")
        assert again.json()["already_replayed"] is True
        assert await _topic_size(main) == size + 1


async def test_a_running_replay_is_not_doubled_and_foreign_letters_are_refused(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main = topics[0]
    async with one_letter(database_url, topics, group) as (consumer, letter):
        # Another replica recorded a replay a moment ago and is publishing it now.
        await db_execute(database_url, f"""
            INSERT INTO {S}.dead_letter_replays (letter_id, replay_id, state, actor_scope,
                lease_until) VALUES ($1, $2, 'pending', 'test', now() + interval '10 min')""",
                   letter, uuid.uuid4())
        size = await _topic_size(main)
        busy = await consumer.post(f"/dead-letters/{letter}/replay")
        assert busy.status_code == 409
        assert busy.headers["content-type"] == "application/problem+json"
        assert int(busy.headers["retry-after"]) > 0
        assert await _topic_size(main) == size
        # A letter recorded by another group is not this consumer's to replay.
        await db_execute(database_url, f"UPDATE {S}.dead_letters SET group_id = 'someone-else' "
                   "WHERE id = $1", letter)
        await db_execute(database_url, f"DELETE FROM {S}.dead_letter_replays WHERE letter_id = $1",
                   letter)
        foreign = await consumer.post(f"/dead-letters/{letter}/replay")
        assert foreign.status_code == 409 and "not this consumer's" in foreign.json()["detail"]
        assert (await consumer.post("/dead-letters/999999999/replay")).status_code == 404
        assert await _topic_size(main) == size


async def test_replay_needs_an_admin_key_when_admin_keys_are_set(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    reader = {"Authorization": "Bearer reader-key"}
    admin = {"Authorization": "Bearer admin-key"}  # listing dead letters is an admin read too
    async with one_letter(database_url, topics, group, admin, api_keys="reader-key",
                          admin_api_keys="admin-key") as (consumer, letter):
        url = f"/dead-letters/{letter}/replay"
        assert (await consumer.post(url)).status_code == 401
        assert (await consumer.post(url, headers=reader)).status_code == 403
        done = await consumer.post(url, headers=admin)
        assert done.status_code == 200 and done.json()["already_replayed"] is False
    audit = await db_rows(database_url, f"SELECT actor_scope FROM {S}.replay_audit "
                       "WHERE filters->>'letter_id' = $1", str(letter))
    assert len(audit) == 1
    assert audit[0]["actor_scope"] not in ("admin-key", "reader-key")  # a scope, never a key
    assert len(audit[0]["actor_scope"]) == 16
