"""POST -> Kafka -> consumer -> PostgreSQL -> GET, against the real servers: what the REST
reads serve once an event is processed, their keyset pages, and the consumer's readiness.
The consumer's promises on hostile input live in test_consumer_promises.py."""

from typing import Any
from uuid import uuid4

from tests.support import (
    api_app,
    consumer_app,
    event_record,
    in_process,
    payment,
    publish,
    served_event,
    stats_when,
    unique,
    wait_until,
)


async def test_posted_payment_is_processed_and_served(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    body = payment(amount="42.00", currency="GBP")
    async with in_process(api_app(database_url, main)) as api, \
            in_process(consumer_app(database_url, main, dlq)) as consumer:
        accepted = (await api.post("/payments", json=body)).json()
        event = await served_event(consumer, accepted["event_id"], 20)
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
    await publish(main, [event_record(payer_id=account) for _ in range(5)])
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


async def test_consumer_readiness(database_url: str, topics: tuple[str, str]) -> None:
    main, dlq = topics
    async with in_process(consumer_app(database_url, main, dlq)) as consumer:
        async def ready() -> bool:
            return (await consumer.get("/readyz")).status_code == 200

        await wait_until(ready, 20, what="consumer ready")
        assert (await consumer.get("/healthz")).status_code == 200
