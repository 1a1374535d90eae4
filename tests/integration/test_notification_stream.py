"""The live stream (Server-Sent Events) over a real HTTP server: resume with Last-Event-ID
exactly after the last event seen, in order, nothing missing and nothing repeated."""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import consumer_app, unique, wait_until
from tests.webhook_receiver import serving
from tests.webhooks_support import FAST, notification_ids, produce_for


@dataclass
class Event:
    id: str
    name: str
    data: dict[str, Any]


class EventReader:
    """Reads SSE events off one response, as many calls as needed."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def take(self, n: int, timeout: float = 60) -> list[Event]:
        events: list[Event] = []
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while len(events) < n:
                line = await anext(self.lines)
                if line == "":
                    if "data" in fields:
                        events.append(Event(fields.get("id", ""), fields.get("event", ""),
                                            json.loads(fields["data"])))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        return events


async def read_events(response: httpx.Response, n: int) -> list[Event]:
    return await EventReader(response).take(n)


async def test_stream_resumes_after_last_event_id_with_no_gap_and_no_repeat(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    account = unique("acct")
    path = "/notifications/stream"
    async with serving(consumer_app(database_url, main, dlq, **FAST)) as base, \
            httpx.AsyncClient(base_url=base, timeout=30) as client:
        async with client.stream("GET", path, params={"account_id": account}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await produce_for(main, account, 5)
            first = await read_events(response, 5)
        # Disconnected; these happen while nobody listens.
        await produce_for(main, account, 4, as_payer=False)

        async def nine() -> list[int] | None:
            ids = await notification_ids(database_url, account)
            return ids if len(ids) == 9 else None

        ids = await wait_until(nine, 60, what="9 notifications")
        assert [e.data["id"] for e in first] == ids[:5]
        assert all(e.name == "notification" for e in first)

        async with client.stream("GET", path, params={"account_id": account},
                                 headers={"Last-Event-ID": first[-1].id}) as response:
            reader = EventReader(response)
            missed = await reader.take(4)
            assert [e.data["id"] for e in missed] == ids[5:]
            assert all(e.data["kind"] == "credit" for e in missed)
            # Nothing else was pending: the next event is one produced after the resume.
            await produce_for(main, account, 1)
            (sentinel,) = await reader.take(1)
        ids = await notification_ids(database_url, account)
        assert sentinel.data["id"] == ids[-1] and len(ids) == 10

        # The query parameter resumes the same way (for clients that cannot set headers).
        async with client.stream("GET", path, params={
                "account_id": account, "last_event_id": first[2].id}) as response:
            again = await read_events(response, 7)
        assert [e.data["id"] for e in again] == ids[3:]
        assert [e.id for e in again[:2]] == [e.id for e in first[3:5]]


async def test_stream_rules(database_url: str, topics: tuple[str, str]) -> None:
    main, dlq = topics
    app = consumer_app(database_url, main, dlq, **FAST, api_keys="key-one",
                       stream_max_clients=1)
    path = "/notifications/stream"
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        assert (await client.get(path)).status_code == 401
        key = {"Authorization": "Bearer key-one"}
        bad = await client.get(path, headers={**key, "Last-Event-ID": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["field"] == "Last-Event-ID"
        async with client.stream("GET", path, headers=key) as first:
            assert first.status_code == 200
            # Heartbeats arrive while nothing happens (STREAM_HEARTBEAT_S is 1 s here).
            async with asyncio.timeout(30):
                lines = first.aiter_lines()
                while (await anext(lines)) != ": heartbeat":
                    pass
            busy = await client.get(path, headers=key)
            assert busy.status_code == 503 and busy.headers["retry-after"]
