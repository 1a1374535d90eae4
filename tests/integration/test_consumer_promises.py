"""The consumer's promises on a real Kafka and PostgreSQL, whatever arrives: a copy is
processed once, poison and conflicts become dead letters and the partition moves on, stored
offsets reach the log end with Kafka's commit behind them, a dead letter replays once."""

from decimal import Decimal
from uuid import uuid4

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from payment_events.events import PaymentAccepted
from service_kit.kafka import stop_client
from tests.support import (
    BOOTSTRAP,
    consumer_app,
    db_value,
    end_offsets,
    event_record,
    in_process,
    publish,
    read_topic,
    stats_when,
)


async def test_every_message_delivered_twice_is_processed_once(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main, dlq = topics
    values = [event_record() for _ in range(40)]
    await publish(main, values + values)  # the same bytes, twice
    async with in_process(consumer_app(database_url, main, dlq, group)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0)
    assert stats["processed"] == 40 and stats["duplicates"] == 40
    ids = [PaymentAccepted.model_validate_json(v).event_id for v, _, _ in values]
    assert await db_value(database_url, "SELECT count(*) FROM notification_consumer."
                          "processed_events WHERE event_id = ANY($1)", ids) == 40
    assert await db_value(database_url, "SELECT count(*) FROM notification_consumer."
                          "notifications WHERE event_id = ANY($1)", ids) == 80


async def test_poison_goes_to_dlq_topic_and_table_and_partition_moves_on(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main, dlq = topics
    good = [event_record() for _ in range(10)]
    poison: list[bytes] = [b"not json", b"", b'{"event_id": "x"}',
                           event_record()[0].replace(b'"5.00"', b'"5.001"')]
    keyed: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = [
        (raw, f"k{i}".encode(), []) for i, raw in enumerate(poison)]  # a key each
    await publish(main, [*good[:5], *keyed, *good[5:]], partition=0)
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
    await publish(main, [event_record(event_id=event_id, amount=Decimal(amount),
                                      payer_id="acct_x") for amount in ("1.00", "2.00")])
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
    bad = event_record(description="nul \u0000 inside")
    good = [event_record() for _ in range(3)]
    await publish(main, [good[0], bad, good[1], good[2]], partition=1)
    async with in_process(consumer_app(database_url, main, dlq, max_attempts=2,
                                       backoff_initial_s=0.05)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0)
        letters = (await consumer.get("/dead-letters")).json()["items"]
    assert stats["processed"] == 3 and stats["dead_letters"] == 1
    letter = next(d for d in letters if d["topic"] == main)
    assert letter["reason"] == "unrepresentable" and letter["attempts"] == 1


async def test_stored_offsets_equal_log_end_and_kafka_commit_follows(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main, dlq = topics
    await publish(main, [event_record() for _ in range(30)])
    async with in_process(consumer_app(database_url, main, dlq, group)) as consumer:
        stats = await stats_when(consumer, lambda s: s["total_lag"] == 0 and s["processed"] == 30)
    ends = await end_offsets(main)
    stored = {p["partition"]: p["committed_offset"] for p in stats["partitions"]}
    assert {p: o for p, o in stored.items() if o is not None} == {
        p: e for p, e in ends.items() if e > 0}
    probe = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=group)
    await probe.start()
    try:
        for partition, end in ends.items():
            if end:
                assert await probe.committed(TopicPartition(main, partition)) == end
    finally:
        await stop_client(probe)


async def test_dead_letter_replay_republishes_original_bytes_once(
    database_url: str, topics: tuple[str, str], group: str
) -> None:
    main, dlq = topics
    await publish(main, [(b"oops", b"k1", [("x-origin", b"test")])])
    app = consumer_app(database_url, main, dlq, group, api_keys="reader",
                       admin_api_keys="admin-secret", park_keys=False)  # replay through Kafka
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
