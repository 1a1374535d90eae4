"""Driving the console's pages over ASGI as a browser would: log in with a key, read the CSRF
token a page carries, post its forms; and the parking rows a test counts before and after."""

import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support import connection

S = "notification_consumer"
READER, ADMIN = "console-reader-key", "console-admin-key"
KEYS = {"api_keys": READER, "admin_api_keys": ADMIN}


async def logged_in(app: FastAPI, key: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                               timeout=30)
    answer = await client.post("/console/login", data={"key": key})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def rows(url: str, topic: str, group: str) -> dict[str, Any]:
    """Everything a release (or a refused one) could change."""
    async with connection(url) as conn:
        return {
            "processed": await conn.fetchval(
                f"SELECT count(*) FROM {S}.processed_events WHERE topic = $1", topic),
            "parked_records": await conn.fetchval(
                f"SELECT count(*) FROM {S}.parked_records WHERE topic = $1 AND group_id = $2",
                topic, group),
            "parks": [tuple(r) for r in await conn.fetch(
                f"SELECT id, state, records, release_kind FROM {S}.parked_keys "
                "WHERE topic = $1 AND group_id = $2", topic, group)],
            "letters": [tuple(r) for r in await conn.fetch(
                f"SELECT id, discarded_at, discard_reason, replayed_at FROM {S}.dead_letters "
                "WHERE topic = $1 AND group_id = $2", topic, group)],
            "replays": await conn.fetchval(
                f"SELECT count(*) FROM {S}.dead_letter_replays r JOIN {S}.dead_letters d "
                "ON d.id = r.letter_id WHERE d.topic = $1 AND d.group_id = $2", topic, group),
            "audit": await conn.fetchval(f"SELECT count(*) FROM {S}.replay_audit"),
        }


async def audit_rows(url: str, letter: int) -> list[dict[str, Any]]:
    async with connection(url) as conn:
        return [dict(r) for r in await conn.fetch(
            f"SELECT actor_scope, action, reason, selected, replayed FROM {S}.replay_audit "
            "WHERE filters->>'letter_id' = $1 ORDER BY id", str(letter))]
