"""Ordered webhooks per account on the real stack: a subscription with `ordering: "account"`
sends one account's deliveries one at a time in notification order, and a failing delivery
holds only its own account's later ones; an unordered subscription beside it is unchanged."""

from typing import Any

import httpx

from tests.support import consumer_app, in_process, unique, wait_until
from tests.webhook_receiver import Attempt, Receiver
from tests.webhooks_support import (
    FAST,
    delete_subscriptions,
    notification_ids,
    produce_for,
    subscribe,
)

# Retries slow enough that the hold is seen: A's first delivery fails twice, so it succeeds
# only 1.5 to 6 s after its first attempt.
SLOW_RETRY = {**FAST, "webhook_backoff_initial_s": 2.0, "webhook_backoff_max_s": 4.0}


def fail_first_of(account: str) -> Receiver:
    """A receiver that answers 500 twice to the first webhook of `account` it sees."""
    first: list[str] = []

    def failing(webhook_id: str, payload: dict[str, Any]) -> bool:
        if payload["data"]["account_id"] != account:
            return False
        if not first:
            first.append(webhook_id)
        return webhook_id == first[0]

    return Receiver(fail_first=2, failing=failing)


def of(receiver: Receiver, account: str) -> list[Attempt]:
    return [a for a in receiver.attempts if a.payload["data"]["account_id"] == account]


def first_success(attempts: list[Attempt], webhook_id: str) -> int:
    return next(i for i, a in enumerate(attempts)
                if a.webhook_id == webhook_id and a.answered == 204)


async def held_log(consumer: httpx.AsyncClient, sub_id: str) -> list[dict[str, Any]] | None:
    """The delivery log while some delivery is held; None when none is."""
    items: list[dict[str, Any]] = (await consumer.get(
        f"/webhooks/{sub_id}/deliveries?limit=100")).json()["items"]
    return items if any(d["held_by"] for d in items) else None


async def test_a_failing_delivery_holds_its_account_only_and_order_is_kept(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    a, b = unique("acct-a"), unique("acct-b")
    ordered, unordered = fail_first_of(a), fail_first_of(a)
    subs: list[str] = []
    async with ordered.running(), unordered.running(), in_process(
            consumer_app(database_url, main, dlq, **SLOW_RETRY)) as consumer:
        try:
            sub = await subscribe(consumer, ordered.url, ordering="account")
            plain = await subscribe(consumer, unordered.url)
            subs = [sub["id"], plain["id"]]
            ordered.secrets, unordered.secrets = [sub["secret"]], [plain["secret"]]
            assert sub["ordering"] == "account" and plain["ordering"] is None
            shown = (await consumer.get(f"/webhooks/{sub['id']}")).json()
            assert shown["ordering"] == "account"

            await produce_for(main, a, 5)
            await produce_for(main, b, 5)

            # While A's first delivery waits for its retry, the log says what holds the rest.
            log = await wait_until(lambda: held_log(consumer, sub["id"]), 30, interval=0.1,
                                   what="a held delivery in the log")
            a_ids = await notification_ids(database_url, a)
            mine = sorted((d for d in log if d["notification_id"] in a_ids),
                          key=lambda d: d["notification_id"])
            head = mine[0]
            assert head["state"] == "pending" and head["held_by"] is None
            assert all(d["held_by"] == head["id"] for d in mine[1:] if d["state"] == "pending")

            async def all_in() -> bool:
                done = [r for r in (ordered, unordered)
                        if len({x.webhook_id for x in r.attempts if x.answered == 204}) >= 20]
                return len(done) == 2

            # 5 payments each: a debit notice for A (or B), a credit one for each payee.
            await wait_until(all_in, 60, interval=0.1, what="every delivery")
        finally:
            await delete_subscriptions(database_url, subs)

    a_ids = await notification_ids(database_url, a)
    seen_a, seen_b = of(ordered, a), of(ordered, b)
    # A's first delivery: 500, 500, then 204; nothing else of A was sent before it succeeded,
    # and then A's deliveries came one at a time, in notification order, once each.
    assert [x.answered for x in seen_a[:3]] == [500, 500, 204]
    assert len({x.webhook_id for x in seen_a[:3]}) == 1
    assert [x.payload["data"]["id"] for x in seen_a[2:]] == a_ids
    assert all(x.answered == 204 for x in seen_a[2:])
    # B was not held: all of it arrived (in order) before A's first delivery went through.
    a_first_ok = first_success(ordered.attempts, seen_a[0].webhook_id)
    assert [x.payload["data"]["id"] for x in seen_b] == await notification_ids(database_url, b)
    assert all(ordered.attempts.index(x) < a_first_ok for x in seen_b)
    assert all(x.verified_with == [0] for x in ordered.attempts)

    # Unordered beside it: A's other deliveries did not wait for the failing one.
    plain_a = of(unordered, a)
    failing = plain_a[0].webhook_id
    others = {x.webhook_id for x in plain_a if x.webhook_id != failing}
    assert len(others) == 4
    plain_ok = first_success(unordered.attempts, failing)
    assert all(unordered.attempts.index(x) < plain_ok for x in plain_a if x.webhook_id in others)


async def test_ordering_refuses_unknown_values(database_url: str,
                                               topics: tuple[str, str]) -> None:
    main, dlq = topics
    url = f"http://127.0.0.1:9/{unique('x')}"
    async with in_process(consumer_app(database_url, main, dlq, **FAST)) as consumer:
        for value in ["ACCOUNT", "payer", "", " account", 1, True, ["account"], {"a": 1},
                      "account\x00"]:
            response = await consumer.post("/webhooks", json={"url": url, "ordering": value})
            assert response.status_code == 422, (value, response.text)
            assert response.json()["field"] == "ordering", value
        # Open mode shares one owner with the run's other tests: none of these was stored.
        listed = {s["url"] for s in (await consumer.get("/webhooks")).json()["items"]}
        assert url not in listed
