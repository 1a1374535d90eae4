"""The two sides reconciliation compares: the API's buckets over HTTP, ours in SQL.

Both compute the same digests (payment_events.digest) over their own copy of each payment,
bucketed by the minute of the event's time (the API's accepted time is the event's time).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.store.batch_sql import S
from payment_events.digest import ID_HASH_COLUMN, PAYLOAD_HASH_COLUMN, fold
from service_kit.errors import UpstreamUnavailable


@dataclass(frozen=True, slots=True)
class Bucket:
    count: int
    digest: str
    payload_digest: str


@dataclass(frozen=True, slots=True)
class Accepted:
    payload_hash: str
    accepted_at: datetime
    published_at: datetime | None


class ApiUnavailable(UpstreamUnavailable):
    """The API's side could not be read (down, refused our key, answered nonsense)."""


class ApiBuckets:
    """Reads GET /outbox/buckets and /outbox/buckets/{minute} of the transaction API."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers,
                                         timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ApiUnavailable(f"GET {path} answered {response.status_code}: "
                                 f"{response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise ApiUnavailable(f"GET {path} answered invalid JSON") from exc

    async def buckets(self, since: datetime, until: datetime) -> dict[datetime, Bucket]:
        body = await self._get("/outbox/buckets",
                               {"since": since.isoformat(), "until": until.isoformat()})
        try:
            return {datetime.fromisoformat(b["minute"]): Bucket(
                int(b["count"]), str(b["digest"]), str(b["payload_digest"]))
                for b in body["buckets"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiUnavailable(f"unexpected bucket document: {exc!r}") from exc

    async def bucket(self, minute: datetime) -> dict[UUID, Accepted]:
        body = await self._get(f"/outbox/buckets/{minute.isoformat()}")
        try:
            if body["truncated"]:
                raise ApiUnavailable(f"bucket {minute} holds too many rows to compare")
            return {UUID(e["event_id"]): Accepted(
                str(e["payload_hash"]), datetime.fromisoformat(e["accepted_at"]),
                datetime.fromisoformat(e["published_at"]) if e["published_at"] else None)
                for e in body["events"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiUnavailable(f"unexpected bucket document: {exc!r}") from exc

    async def published_minutes(self, since: datetime, until: datetime,
                                accepted_before: datetime, *, pages: int) -> list[datetime]:
        """The accepted minutes before `accepted_before` that hold a payment published in
        [since, until): where a late-published payment landed. At most `pages` calls."""
        minutes: list[datetime] = []
        after: str | None = None
        for _ in range(pages):
            params = {"since": since.isoformat(), "until": until.isoformat(),
                      "accepted_before": accepted_before.isoformat()}
            if after is not None:
                params["after"] = after
            body = await self._get("/outbox/published-minutes", params)
            try:
                minutes += [datetime.fromisoformat(m) for m in body["minutes"]]
                after = body["next"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ApiUnavailable(f"unexpected minutes document: {exc!r}") from exc
            if after is None:
                break
        return minutes


_BUCKETS = text(f"""
    SELECT date_trunc('minute', occurred_at) AS minute, count(*) AS n,
           sum({ID_HASH_COLUMN}) AS ids,
           sum({PAYLOAD_HASH_COLUMN}) AS payloads
    FROM {S}.processed_events WHERE occurred_at >= :since AND occurred_at < :until
    GROUP BY 1
""")
_BUCKET = text(f"""
    SELECT event_id, {PAYLOAD_HASH_COLUMN} AS payload_hash FROM {S}.processed_events
    WHERE occurred_at >= :since AND occurred_at < :until
""")
_DEAD_LETTERED = text(f"""
    SELECT DISTINCT event_id FROM {S}.dead_letters WHERE event_id = ANY(:ids)
""")
# An effect written more than once: a second row for an event id, or a second notification
# of one kind for one event. The schema's keys forbid both today; this counts from the data,
# so it still tells the truth if a key is ever dropped or a new effect table forgets one.
# The cheap count runs every time; the grouping that names the ids only when it is non-zero.
_WINDOW = "occurred_at >= :since AND occurred_at < :until"
# A join, not `IN (SELECT ...)`: the planner then sees how many events the window holds and
# picks a hash join for a day (0.2 s) and index probes for a few minutes.
_EFFECTS = text(f"""
    SELECT e.events, e.distinct_events,
           (SELECT count(*) FROM {S}.notifications n
            JOIN {S}.processed_events p USING (event_id) WHERE p.{_WINDOW}) AS notes
    FROM (SELECT count(*) AS events, count(DISTINCT event_id) AS distinct_events
          FROM {S}.processed_events WHERE {_WINDOW}) e
""")
_DUPLICATE_IDS = text(f"""
    SELECT event_id, sum(extra) AS extra FROM (
        SELECT event_id, count(*) - 1 AS extra FROM {S}.processed_events WHERE {_WINDOW}
        GROUP BY event_id HAVING count(*) > 1
        UNION ALL
        SELECT n.event_id, count(*) - 1 FROM {S}.notifications n
        JOIN (SELECT DISTINCT event_id FROM {S}.processed_events WHERE {_WINDOW}) p
            USING (event_id)
        GROUP BY n.event_id, n.kind HAVING count(*) > 1
    ) d GROUP BY event_id ORDER BY event_id
""")
NOTIFICATIONS_PER_EVENT = 2  # the payer's debit and the payee's credit



async def our_buckets(conn: AsyncConnection, since: datetime,
                      until: datetime) -> dict[datetime, Bucket]:
    rows = await conn.execute(_BUCKETS, {"since": since, "until": until})
    return {r.minute: Bucket(int(r.n), fold(r.ids), fold(r.payloads)) for r in rows}


async def our_bucket(conn: AsyncConnection, minute: datetime, until: datetime) -> dict[UUID, str]:
    rows = await conn.execute(_BUCKET, {"since": minute, "until": until})
    return {r.event_id: fold(r.payload_hash) for r in rows}


async def dead_lettered(conn: AsyncConnection, ids: list[UUID]) -> set[UUID]:
    if not ids:
        return set()
    return {r.event_id for r in await conn.execute(_DEAD_LETTERED, {"ids": ids})}


async def parked(conn: AsyncConnection, ids: list[UUID]) -> set[UUID]:
    """The ids among `ids` stored behind a parked key: waiting for a release, not missing."""
    if not ids:
        return set()
    rows = await conn.execute(text(
        f"SELECT DISTINCT event_id FROM {S}.parked_records WHERE event_id = ANY(:ids)"),
        {"ids": ids})
    return {r.event_id for r in rows}


async def duplicate_effects(conn: AsyncConnection, since: datetime,
                            until: datetime) -> tuple[int, list[UUID]]:
    params = {"since": since, "until": until}
    counts = (await conn.execute(_EFFECTS, params)).one()
    if counts.events == counts.distinct_events and \
            counts.notes <= NOTIFICATIONS_PER_EVENT * counts.distinct_events:
        return 0, []
    rows = (await conn.execute(_DUPLICATE_IDS, params)).all()
    return sum(int(r.extra) for r in rows), [r.event_id for r in rows]
