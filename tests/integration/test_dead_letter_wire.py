"""Real dead letters, whole and truncated, read back from the real dead-letter topic, conform
to the committed AsyncAPI document's DeadLetter headers; a truncated copy's `dlq_fetch` names
a route that serves the whole record."""

import asyncio
import base64
import json
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from jsonschema import Draft7Validator

from payment_events.asyncapi import ASYNCAPI_FILE
from service_kit.kafka import stop_client
from tests.support import BOOTSTRAP, consumer_app, in_process, producer, unique, wait_until

SCHEMA = json.loads(ASYNCAPI_FILE.read_text())["components"]["messages"]["DeadLetter"]["headers"]
LIMIT = 16_384  # the smallest DLQ_MAX_RECORD_BYTES allowed
# key, value, headers -> what the copy must say it cut
POISON: list[tuple[bytes, bytes, list[tuple[str, bytes]], str | None]] = [
    (b"acct_a", b"{not json", [("x-origin", b"test")], None),
    (b"acct_b", b"v" * 3 * LIMIT, [("x-origin", b"test")], "value"),
    (b"k" * 4000, b"w" * 2 * LIMIT, [("x-big", b"h" * 7000)], "headers,key,value"),
]


async def read_all(topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await stop_client(consumer)
    return records


async def test_dead_letters_on_the_topic_match_the_document(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    async with producer() as p:
        for key, value, headers, _ in POISON:
            await p.send_and_wait(main, key=key, value=value, headers=headers, partition=0)
    app = consumer_app(database_url, main, dlq, unique("group"), dlq_max_record_bytes=LIMIT)
    async with in_process(app) as consumer:
        async def letters() -> list[dict[str, Any]] | None:
            # The database is shared with the run's other tests: this topic's letters only.
            page = (await consumer.get("/dead-letters?limit=500")).json()["items"]
            items: list[dict[str, Any]] = [d for d in page if d["topic"] == main]
            return items if len(items) == len(POISON) else None

        stored = {d["offset"]: d for d in await wait_until(letters, 60, what="dead letters")}
        # The copies are published at once, keyed like their originals: in original order.
        copies = sorted(await read_all(dlq, len(POISON)),
                        key=lambda r: int(dict(r.headers)["dlq_original_offset"]))
        validator = Draft7Validator(SCHEMA)
        for offset, (copy, (_, value, _, cut)) in enumerate(zip(copies, POISON, strict=True)):
            wire = {k: v.decode() for k, v in copy.headers}
            errors = [e.message for e in validator.iter_errors(wire)]
            assert not errors, (cut, errors)
            assert wire.get("dlq_truncated") == cut
            assert wire["dlq_dead_letter_id"] == str(stored[offset]["id"])
            assert len(copy.value or b"") + len(copy.key or b"") <= LIMIT
            if cut is None:
                assert copy.value == value and "dlq_fetch" not in wire
                continue
            assert wire["dlq_original_size"] == str(len(value))
            method, path = wire["dlq_fetch"].split(" ", 1)
            whole = await consumer.request(method, path)
            assert whole.status_code == 200, whole.text
            assert base64.b64decode(whole.json()["value"]) == value
            # The schema is not vacuous: what the document used to allow is refused now.
            assert not validator.is_valid({**wire, "dlq_truncated": "true"})
            assert not validator.is_valid({k: v for k, v in wire.items() if k != "dlq_fetch"})
        # Hostile ids on the fetch route: refused before any query, never a 500.
        for bad in ("abc", "0", "-1", str(2**63), "1%00"):
            assert (await consumer.get(f"/dead-letters/{bad}")).status_code == 422, bad
        assert (await consumer.get(f"/dead-letters/{2**63 - 1}")).status_code == 404
