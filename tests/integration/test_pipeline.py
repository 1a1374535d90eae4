"""POST -> Kafka -> consumer -> PostgreSQL -> GET, against the real servers, plus the
consumer's promises: dedup, dead letters, conflicts, replay, stored offsets, stats."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.kafka import stop_client
from tests.support import (
    api_app,
    consumer_app,
    db_value,
    end_offsets,
    in_process,
    payment,
    producer,
    read_topic,
    unique,
    wait_until,
)


def event_bytes(**overrides: Any) -> tuple[bytes, bytes | None, list[tuple[str, bytes]]]:
    fields: dict[str, Any] = {
        "event_id": uuid4(), "payer_id": unique("payer"), "payee_id": unique("payee"),
        "amount": Decimal("5.00"), "currency": "EUR", "occurred_at": datetime.now(UTC),
        **overrides,
    }
    record = encode(PaymentAccepted.model_validate(fields))
    return record.value, record.key, record.headers


async def stats_when(consumer: httpx.AsyncClient, check: Any, timeout: float = 30) -> Any:
    async def probe() -> Any:
        response = await consumer.get("/stats")
        body = response.json()
        return body if response.status_code == 200 and check(body) else None

    return await wait_until(probe, timeout, interval=0.1, what="consumer stats")


async def test_posted_payment_is_processed_and_served(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    body = payment(amount="42.00", currency="GBP")
    async with in_process(api_app(database_url, main)) as api, \
            in_process(consumer_app(database_url, main, dlq)) as consumer:
        accepted = (await api.post("/payments", json=body)).json()

        async def processed() -> dict[str, Any] | None:
            r = await consumer.get(f"/events/{accepted['event_id']}")
            return r.json() if r.status_code == 200 else None

        event = await wait_until(processed, 20, what="event processed")
        assert event["amount"] == "42.00" and event["payer_id"] == body["payer_id"]
        assert isinstance(event["partition"], int) and isinstance(event["offset"], int)
        listed = (await consumer.get("/events", params={"account_id": body["payee_id"]})).json()
        assert [e["event_id"] for e in listed["items"]] == [accepted["event_id"]]
        debit = (await consumer.get("/notifications",
                                    params={"account_id": body["payer_id"]})).json()["items"]
        credit = (await consumer.get("/notifications",
                                     params={"account_id": body["payee_id"]})).json()["items"]
        assert [(n["kind"], n["amount"]) for n in debit] == [("debit", "42.00")]
        assert [(n["kind"], n["counterparty_id"]) for n in credit] == [
            ("credit", body["payer_id"])]
        unknown = await consumer.get(f"/events/{uuid4()}")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"


async def test_events_pagination_is_keyset_newest_first(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    account = unique("acct")
    async with producer() as p:
        for _ in range(5):
            value, key, headers = event_bytes(payer_id=account)
            await p.send_and_wait(main, value=value, key=key, headers=headers)
    async with in_process(consumer_app(database_url, main, dlq)) as consumer:
        await stats_when(consumer, lambda s: s["processed"] == 5)
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"account_id": account, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await consumer.get("/events", params=params)).json()
            seen += [(e["partition"], e["offset"]) for e in page["items"]]  # type: ignore[misc]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 and len(set(seen)) == 5
        bad = await consumer.get("/events", params={"cursor": "garbage!"})
        assert bad.status_code == 400
        for path in ("/events", "/notifications"):
            nul = await consumer.get(path, params={"account_id": "a\x00b"})
            assert nul.status_code == 422, nul.text  # not a 500 from PostgreSQL


async def test_every_message_delivered_twice_is_processed_once(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    values = [event_bytes() for _ in range(40)]
    async with producer() as p:
        for value, key, headers in values + values:  # the same bytes, twice
            await p.send(main, value=value, key=key, headers=headers)
        await p.flush()
    group = unique("group")
    async with in_process(consumer_app(database_url, main, dlq, group)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0)
    assert stats["processed"] == 40 and stats["duplicates"] == 40
    ids = [PaymentAccepted.model_validate_json(v).event_id for v, _, _ in values]
    assert await db_value(database_url, "SELECT count(*) FROM notification_consumer."
                          "processed_events WHERE event_id = ANY($1)", ids) == 40
    assert await db_value(database_url, "SELECT count(*) FROM notification_consumer."
                          "notifications WHERE event_id = ANY($1)", ids) == 80


async def test_poison_goes_to_dlq_topic_and_table_and_partition_moves_on(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    good = [event_bytes() for _ in range(10)]
    poison: list[bytes] = [b"not json", b"", b'{"event_id": "x"}',
                           event_bytes()[0].replace(b'"5.00"', b'"5.001"')]
    async with producer() as p:
        for value, key, headers in good[:5]:
            await p.send(main, value=value, key=key, headers=headers, partition=0)
        for raw in poison:
            await p.send(main, value=raw, key=b"k", partition=0)
        for value, key, headers in good[5:]:
            await p.send(main, value=value, key=key, headers=headers, partition=0)
        await p.flush()
    group = unique("group")
    async with in_process(consumer_app(database_url, main, dlq, group)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0)
        letters = (await consumer.get("/dead-letters", params={"limit": 50})).json()["items"]
    assert stats["processed"] == 10 and stats["dead_letters"] == 4
    mine = [d for d in letters if d["group_id"] == group]
    assert sorted(d["reason"] for d in mine) == sorted(
        ["not_json", "empty_value", "invalid_schema", "invalid_money"])
    on_topic = await read_topic(dlq, 4)
    assert len(on_topic) == 4
    dlq_headers = {k: v.decode() for k, v in on_topic[0].headers}
    assert dlq_headers["dlq_original_topic"] == main and dlq_headers["dlq_consumer_group"] == group
    assert {"dlq_original_offset", "dlq_error_class", "dlq_error_message", "dlq_attempts",
            "dlq_original_timestamp", "dlq_original_partition"} <= set(dlq_headers)
    assert sorted(r.value for r in on_topic) == sorted(poison)  # original bytes intact


async def test_same_event_id_with_other_payload_is_a_conflict_dead_letter(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    event_id = uuid4()
    first = event_bytes(event_id=event_id, amount=Decimal("1.00"), payer_id="acct_x")
    second = event_bytes(event_id=event_id, amount=Decimal("2.00"), payer_id="acct_x")
    async with producer() as p:
        for value, key, headers in (first, second):
            await p.send_and_wait(main, value=value, key=key, headers=headers)
    async with in_process(consumer_app(database_url, main, dlq)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0)
        kept = (await consumer.get(f"/events/{event_id}")).json()
    assert kept["amount"] == "1.00"
    assert stats["processed"] == 1 and stats["dead_letters"] == 1


async def test_unexpected_error_is_retried_then_dead_lettered(
    database_url: str, topics: tuple[str, str]
) -> None:
    # PostgreSQL refuses NUL in text: valid JSON, valid schema, and yet it can never be
    # written. The consumer recognises it before the write (unrepresentable) and moves on;
    # the late path (retried, then dead-lettered) is covered in tests/unit/test_isolation.py.
    main, dlq = topics
    bad = event_bytes(description="nul \u0000 inside")
    good = [event_bytes() for _ in range(3)]
    async with producer() as p:
        for value, key, headers in [good[0], bad, good[1], good[2]]:
            await p.send(main, value=value, key=key, headers=headers, partition=1)
        await p.flush()
    async with in_process(consumer_app(database_url, main, dlq, max_attempts=2,
                                       backoff_initial_s=0.05)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0)
        letters = (await consumer.get("/dead-letters")).json()["items"]
    assert stats["processed"] == 3 and stats["dead_letters"] == 1
    letter = next(d for d in letters if d["topic"] == main)
    assert letter["reason"] == "unrepresentable" and letter["attempts"] == 1


async def test_stored_offsets_equal_log_end_and_kafka_commit_follows(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    async with producer() as p:
        for _ in range(30):
            value, key, headers = event_bytes()
            await p.send(main, value=value, key=key, headers=headers)
        await p.flush()
    async with in_process(consumer_app(database_url, main, dlq, group)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0 and s["processed"] == 30)
    ends = await end_offsets(main)
    stored = {p["partition"]: p["committed_offset"] for p in stats["partitions"]}
    assert {p: o for p, o in stored.items() if o is not None} == {
        p: e for p, e in ends.items() if e > 0}
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    from tests.support import BOOTSTRAP

    probe = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group)
    await probe.start()
    try:
        for partition, end in ends.items():
            if end:
                assert await probe.committed(TopicPartition(main, partition)) == end
    finally:
        await stop_client(probe)


async def test_dead_letter_replay_republishes_original_bytes_once(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    async with producer() as p:
        await p.send_and_wait(main, value=b"oops", key=b"k1", headers=[("x-origin", b"test")])
    app = consumer_app(database_url, main, dlq, group, api_keys="reader",
                       admin_api_keys="admin-secret")
    async with in_process(app) as consumer:
        auth = {"Authorization": "Bearer admin-secret"}
        consumer.headers.update(auth)  # reads need a key too
        await stats_when(consumer, lambda s: s["dead_letters"] == 1)
        [letter] = [d for d in (await consumer.get("/dead-letters")).json()["items"]
                    if d["group_id"] == group]
        url = f"/dead-letters/{letter['id']}/replay"
        assert (await consumer.post(url, headers={"Authorization": "Bearer nope"})
                ).status_code == 401
        assert (await consumer.post(url, headers={"Authorization": "Bearer reader"})
                ).status_code == 403
        first = await consumer.post(url, headers=auth)
        second = await consumer.post(url, headers=auth)
        assert first.status_code == second.status_code == 200
        assert first.json()["already_replayed"] is False
        assert second.json()["already_replayed"] is True
        assert (await consumer.post("/dead-letters/999999999/replay", headers=auth)
                ).status_code == 404
        # The replayed poison is dead-lettered again, as a new record at a new offset.
        await stats_when(consumer, lambda s: s["dead_letters"] == 2)
    records = await read_topic(main, 2)
    assert [r.value for r in records] == [b"oops", b"oops"]
    assert ("x-origin", b"test") in list(records[1].headers)
    assert not any(k.startswith("dlq_") for k, _ in records[1].headers)


async def test_consumer_readiness(database_url: str, topics: tuple[str, str]) -> None:
    main, dlq = topics
    async with in_process(consumer_app(database_url, main, dlq)) as consumer:
        async def ready() -> bool:
            return (await consumer.get("/readyz")).status_code == 200

        await wait_until(ready, 20, what="consumer ready")
        assert (await consumer.get("/healthz")).status_code == 200

