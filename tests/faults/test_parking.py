"""Issue 22, guarantee 9: a payer with 5 payments whose 2nd is poison, among 50 payments of
other payers on the same partition. The others are applied at once and the payer's 3rd to
5th are parked; discarding the letter applies 3, 4, 5 in order; replaying a corrected copy
applies 2, 3, 4, 5 in order. Real Kafka, real PostgreSQL; counts of rows, parked records,
offsets and dead letters afterwards."""

import json
from typing import Any

import httpx
import pytest

from tests.faults.parking_support import (
    applied_order,
    parked_consumer,
    released,
    state,
)
from tests.support import consumer_app, in_process, unique, wait_until

pytestmark = pytest.mark.faults


async def test_discard_applies_the_parked_records_in_order_once(
    database_url: str, topics: tuple[str, str]
) -> None:
    async with parked_consumer(database_url, topics) as (client, scenario, letter, main, group):
        parked = (await client.get("/parked")).json()["items"]
        assert [(p["partition"], p["records"], p["letter_id"]) for p in parked] == \
            [(1, 3, letter)]
        dry = await client.post(f"/dead-letters/{letter}/discard?dry_run=true")
        assert dry.json()["parked_key"]["records"] == 3
        assert (await state(database_url, main, group))["parks"]  # a dry run changes nothing
        answer = await client.post(f"/dead-letters/{letter}/discard",
                                   json={"reason": "bad amount, payer refunded by hand"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["released_key"] is not None
        s = await released(database_url, main, group, 54)
        again = await client.post(f"/dead-letters/{letter}/discard", json={"reason": "again"})
        assert again.json()["already_discarded"] is True
        replay = await client.post(f"/dead-letters/{letter}/replay")
        assert replay.status_code == 409  # a discarded letter is never replayed
    e1, _, e3, e4, e5 = scenario.ids
    assert await applied_order(database_url, scenario.ids) == [e1, e3, e4, e5]
    assert s["parked_offsets"] == [] and s["letters"] == 1 and s["stored"] == scenario.sent
    assert s["counters"] == {"processed": 54, "duplicates": 0, "dead_letters": 1}


async def test_replaying_a_corrected_letter_applies_it_first_then_the_parked_ones(
    database_url: str, topics: tuple[str, str]
) -> None:
    async with parked_consumer(database_url, topics) as (client, scenario, letter, main, group):
        corrected = scenario.payer[1][1].decode()  # the payment as it should have been
        answer = await client.post(f"/dead-letters/{letter}/replay",
                                   json={"corrected_value": corrected})
        assert answer.status_code == 200, answer.text
        assert answer.json()["already_replayed"] is False
        s = await released(database_url, main, group, 55)
        again = await client.post(f"/dead-letters/{letter}/replay",
                                  json={"corrected_value": corrected})
        assert again.json()["already_replayed"] is True
        discard = await client.post(f"/dead-letters/{letter}/discard", json={"reason": "x"})
        assert discard.status_code == 409  # a replayed letter cannot be discarded
    assert await applied_order(database_url, scenario.ids) == scenario.ids
    stored_value = json.loads(corrected)["amount"]
    assert stored_value == "1.25"
    assert s["parked_offsets"] == [] and s["letters"] == 1 and s["stored"] == scenario.sent
    assert s["counters"] == {"processed": 55, "duplicates": 0, "dead_letters": 1}


async def test_the_release_doors_refuse_hostile_input(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    app = consumer_app(database_url, main, dlq, group, api_keys="reader-key,admin-key",
                       admin_api_keys="admin-key")
    admin = {"Authorization": "Bearer admin-key"}
    async with in_process(app) as client:
        async def post(path: str, **kw: Any) -> httpx.Response:
            return await client.post(path, **kw)
        for path in ("/dead-letters/1/discard", "/dead-letters/1/replay"):
            assert (await post(path, json={"reason": "r"})).status_code == 401
            assert (await post(path, json={"reason": "r"}, headers={
                "Authorization": "Bearer reader-key"})).status_code == 403
        assert (await client.get("/parked", headers={
            "Authorization": "Bearer reader-key"})).status_code == 403
        for bad in ("0", "-1", "abc", str(2**63), "1%00"):
            assert (await post(f"/dead-letters/{bad}/discard", json={"reason": "r"},
                               headers=admin)).status_code == 422, bad
        assert (await post("/dead-letters/999999999/discard", json={"reason": "r"},
                           headers=admin)).status_code == 404
        huge = await post("/dead-letters/1/discard", json={"reason": "x" * 100_000},
                          headers=admin)
        assert huge.status_code == 413
        bodies: list[Any] = [{"reason": ""}, {"reason": "x" * 501}, {"reason": 5}, {}, []]
        for body in bodies:
            answer = await post("/dead-letters/1/discard", json=body, headers=admin)
            assert answer.status_code in (400, 422), (body, answer.status_code)
        answer = await post("/dead-letters/1/discard", content=b"reason=x", headers={
            **admin, "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 415
        big_fix = await post("/dead-letters/1/replay", json={"corrected_value": "x" * 300_000},
                             headers=admin)
        assert big_fix.status_code == 413
        for query in ("limit=0", "limit=501", "cursor=garbage", "limit=abc"):
            got = await client.get(f"/parked?{query}", headers=admin)
            assert got.status_code in (400, 422), (query, got.status_code)
        page = await client.get("/parked?limit=500", headers=admin)
        assert page.status_code == 200 and page.json()["next_cursor"] is None


async def test_a_replay_that_is_poison_again_parks_the_key_again_under_its_letter(
    database_url: str, topics: tuple[str, str]
) -> None:
    async with parked_consumer(database_url, topics) as (client, scenario, letter, main, group):
        assert (await client.post(f"/dead-letters/{letter}/replay")).status_code == 200

        async def parked_again() -> dict[str, Any] | None:
            s = await state(database_url, main, group)
            return s if s["parks"] and s["parks"][0]["state"] == "parked" else None
        s = await wait_until(parked_again, 30, what="the key parked again")
        assert s["parks"][0]["letter_id"] == letter and s["parks"][0]["records"] == 3
        assert s["processed"] == 51 and s["letters"] == 1  # the same letter, not a new one
        answer = await client.post(f"/dead-letters/{letter}/discard", json={"reason": "give up"})
        assert answer.status_code == 200, answer.text
        s = await released(database_url, main, group, 54)
    e1, _, e3, e4, e5 = scenario.ids
    assert await applied_order(database_url, scenario.ids) == [e1, e3, e4, e5]
    assert s["counters"] == {"processed": 54, "duplicates": 0, "dead_letters": 1}
