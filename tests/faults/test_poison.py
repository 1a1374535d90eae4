"""Late-failing poison. Each hostile record is dead-lettered exactly once (table and topic),
and a valid event of another key right behind it on the same partition is processed within
seconds. Real Kafka, real PostgreSQL. (A record with the poison's own key is parked behind
it: tests/faults/test_parking.py.)"""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from aiokafka import AIOKafkaProducer

from service_kit.kafka import stop_client
from tests.faults.harness import make_events
from tests.forged_records import accept_any_timestamp, forged_batch, send_forged
from tests.support import (
    BOOTSTRAP,
    connection,
    consumer_app,
    end_offsets,
    in_process,
    unique,
    wait_until,
)

pytestmark = pytest.mark.faults
MIB = 1024 * 1024
PARTITION = 1
Headers = list[tuple[str, bytes]]


def valid() -> tuple[UUID, bytes, Headers]:
    [(event_id, value, _, headers)] = make_events(1)
    return event_id, value, headers


def with_fields(**fields: Any) -> Callable[[], tuple[bytes, Headers]]:
    def build() -> tuple[bytes, Headers]:
        _, value, headers = valid()
        body = json.loads(value)
        body.update(fields)
        return json.dumps(body).encode(), headers
    return build


def raw_value(value: bytes, headers: Headers | None = None) -> Callable[[], tuple[bytes, Headers]]:
    return lambda: (value, headers or [])


def valid_value_with(extra: Headers) -> Callable[[], tuple[bytes, Headers]]:
    def build() -> tuple[bytes, Headers]:
        _, value, headers = valid()
        return value, [*headers, *extra]
    return build


def replaced_header(name: str, raw: bytes) -> Callable[[], tuple[bytes, Headers]]:
    def build() -> tuple[bytes, Headers]:
        _, value, headers = valid()
        return value, [(k, raw if k == name else v) for k, v in headers]
    return build


CASES: dict[str, tuple[Callable[[], tuple[bytes, Headers]], dict[str, Any]]] = {
    "time-underflows-in-utc": (with_fields(occurred_at="0001-01-01T00:00:00+01:00"), {}),
    "time-overflows-in-utc": (with_fields(occurred_at="9999-12-31T23:59:59-01:00"), {}),
    "time-overflows-by-a-minute": (with_fields(occurred_at="9999-12-31T23:59:00-00:01"), {}),
    "value-near-1-mib": (raw_value(b"x" * (MIB - 2048)), {}),
    "nul-in-a-header-key": (raw_value(b"{not json", [("x-\x00key", b"v")]), {}),
    "invalid-utf8-in-a-header-value": (replaced_header("ce_type", b"\xff\xfe\xfd"), {}),
    "invalid-utf8-in-the-version-header": (replaced_header("ce_schemaversion", b"1\xff"), {}),
    "forty-digit-amount": (with_fields(amount="9" * 40), {}),
    "nul-in-description": (with_fields(description="nul \u0000 inside"), {}),
    "nul-in-payer-id": (with_fields(payer_id="acct\u0000x"), {}),
    "lone-surrogate-in-description": (
        lambda: (with_fields(description="SURR")()[0].replace(b"SURR", b"\\ud800"), []), {}),
    "twenty-thousand-headers": (raw_value(b"{}", [(f"h{i}", b"\x00") for i in range(20_000)]), {}),
    "malformed-owner-scope": (valid_value_with([("ce_ownerscope", b"\x00' OR 1=1 --")]), {}),
    "half-mib-key": (raw_value(b"[]"), {"record_key": b"k" * (MIB // 2)}),
    "timestamp-in-year-10000": (raw_value(b"null"), {"timestamp_ms": 253_402_300_800_000}),
    "huge-timestamp": (raw_value(b"1"), {"timestamp_ms": 2**62}),
    "nul-header-key-and-invalid-utf8-everywhere": (
        raw_value(b"\xff\x00\xfe", [("\x00", b"\xff"), ("ce_id", b"\x00\xff")]), {}),
}


async def send(producer: AIOKafkaProducer, topic: str, value: bytes, headers: Headers,
               key: bytes, **extra: Any) -> None:
    chosen = extra.pop("record_key", key)
    await producer.send_and_wait(topic, value=value, key=chosen, headers=headers,
                                 partition=PARTITION, **extra)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_poison_is_dead_lettered_once_and_the_partition_moves_on(
    database_url: str, topics: tuple[str, str], case: str
) -> None:
    main, dlq = topics
    build, extra = CASES[case]
    value, headers = build()
    sentinel_id, sentinel, sentinel_headers = valid()
    if "timestamp_ms" in extra:
        await accept_any_timestamp(BOOTSTRAP, main)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, max_request_size=2 * MIB)
    await producer.start()
    try:
        await send(producer, main, value, headers, b"acct_poisoned", **dict(extra))
        await send(producer, main, sentinel, sentinel_headers, b"acct_other")
    finally:
        await stop_client(producer)
    group = unique("group")
    async with in_process(consumer_app(database_url, main, dlq, group,
                                       backoff_initial_s=0.05)):
        started = time.monotonic()
        async with connection(database_url) as conn:
            while not await conn.fetchval(
                    "SELECT 1 FROM notification_consumer.processed_events WHERE event_id = $1",
                    sentinel_id):
                assert time.monotonic() - started < 60, f"{case}: the sentinel was not processed"
                await asyncio.sleep(0.05)
            letters = await conn.fetch(
                "SELECT \"offset\", value, key, header_keys, header_values, reason "
                "FROM notification_consumer.dead_letters WHERE topic = $1", main)
            stored = await conn.fetchval(
                "SELECT next_offset FROM notification_consumer.consumer_offsets "
                "WHERE group_id = $1 AND topic = $2 AND partition = $3", group, main, PARTITION)
            processed = await conn.fetchval(
                "SELECT count(*) FROM notification_consumer.processed_events WHERE topic = $1",
                main)
    assert processed == 1  # the sentinel only
    assert len(letters) == 1, letters
    [letter] = letters
    assert letter["offset"] == 0 and stored == 2
    assert letter["value"] == value  # the original bytes, whole
    assert [bytes(k) for k in letter["header_keys"]] == [k.encode() for k, _ in headers]
    assert [bytes(v) for v in letter["header_values"]] == [v for _, v in headers]
    dlq_ends = await end_offsets(dlq)
    assert sum(dlq_ends.values()) == 1  # exactly one copy on the topic


async def test_a_valid_event_with_hostile_headers_is_processed_not_dead_lettered(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    event_id, value, headers = valid()
    hostile = [*headers, ("x-\x00", b"\xff\xfe"), ("", b""), ("x-big", b"\x00" * 10_000)]
    sentinel_id, sentinel, sentinel_headers = valid()
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        await send(producer, main, value, hostile, b"acct_same")
        await send(producer, main, sentinel, sentinel_headers, b"acct_same")
    finally:
        await stop_client(producer)
    async with in_process(consumer_app(database_url, main, dlq)) as client:
        deadline = time.monotonic() + 60
        while (await client.get(f"/events/{sentinel_id}")).status_code != 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert (await client.get(f"/events/{event_id}")).status_code == 200
        letters = (await client.get("/dead-letters")).json()["items"]
    assert not [d for d in letters if d["topic"] == main]


async def test_the_rest_view_decodes_byte_headers_for_display(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    sentinel_id, sentinel, sentinel_headers = valid()
    async with in_process(consumer_app(database_url, main, dlq)) as client:
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
        await producer.start()
        try:
            await send(producer, main, b"{bad", [("k\x00ey", b"\xff")], b"acct_poisoned")
            await send(producer, main, sentinel, sentinel_headers, b"acct_other")
        finally:
            await stop_client(producer)
        deadline = time.monotonic() + 60
        while (await client.get(f"/events/{sentinel_id}")).status_code != 200:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        [letter] = [d for d in (await client.get("/dead-letters")).json()["items"]
                    if d["topic"] == main]
    assert letter["headers"] == [["k\\0ey", "/w=="]]


@pytest.mark.parametrize("gzip", [False, True])
async def test_a_header_key_that_is_not_utf8_is_dead_lettered_between_valid_records(
    database_url: str, topics: tuple[str, str], gzip: bool
) -> None:
    """No client can send such a key, but the broker stores one; aiokafka alone raises on it
    inside getmany, for ever. Here it sits mid-batch: the records around it are processed,
    it is dead-lettered with its exact bytes, and the partition moves on."""
    main, dlq = topics
    bad_key = b"x-\xff\xfe\x00key"
    (before_id, before, _, before_headers), (bad_id, bad, _, bad_headers), \
        (after_id, after, _, after_headers) = make_events(3)
    raw = [(k.encode(), v) for k, v in bad_headers] + [(bad_key, b"\xff")]
    batch = forged_batch([
        (b"acct_same", before, [(k.encode(), v) for k, v in before_headers]),
        (b"acct_poisoned", bad, raw),
        (b"acct_same", after, [(k.encode(), v) for k, v in after_headers])], gzip=gzip)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        await send_forged(producer, main, PARTITION, batch)
    finally:
        await stop_client(producer)
    group = unique("group")
    async with in_process(consumer_app(database_url, main, dlq, group)), \
            connection(database_url) as conn:
        async def settled() -> bool:
            stored = await conn.fetchval(
                "SELECT next_offset FROM notification_consumer.consumer_offsets "
                "WHERE group_id = $1 AND topic = $2 AND partition = $3",
                group, main, PARTITION)
            return bool(stored == 3)
        await wait_until(settled, 60, what="the partition's stored offset at 3")
        processed = {r["event_id"] for r in await conn.fetch(
            "SELECT event_id FROM notification_consumer.processed_events WHERE topic = $1",
            main)}
        letters = await conn.fetch(
            "SELECT \"offset\", reason, header_keys, header_values, value, event_id "
            "FROM notification_consumer.dead_letters WHERE topic = $1", main)
    assert processed == {before_id, after_id}
    [letter] = letters
    assert letter["offset"] == 1 and letter["reason"] == "invalid_header"
    assert [bytes(k) for k in letter["header_keys"]] == [k for k, _ in raw]
    assert [bytes(v) for v in letter["header_values"]] == [v for _, v in raw]
    assert letter["value"] == bad and bad_id not in processed
    assert sum((await end_offsets(dlq)).values()) == 1  # one copy on the topic
