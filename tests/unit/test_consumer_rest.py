"""The consumer's REST boundary without servers: hostile input is a 4xx problem, an outage
a 503, keys and admin keys are enforced. The database URL points at a closed port."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from notification_consumer.app import create_app
from notification_consumer.config import Settings
from notification_consumer.store.reads import MAX_POSITION, BadCursor, decode_cursor, encode_cursor
from service_kit.auth import ApiKeys

CLOSED = "postgresql+asyncpg://nobody@127.0.0.1:1/none"


def app(**overrides: Any) -> FastAPI:
    return create_app(Settings(database_url=CLOSED, kafka_bootstrap_servers="127.0.0.1:1",
                               db_connect_timeout_s=1, **overrides))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()),
                                 base_url="http://t") as c:
        yield c


def b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    b64(f"v1:{2**63}".encode()), b64(f"v1:{10**40}".encode()), b64(b"v1:-1"), b64(b"v2:5"),
    b64("v1:²".encode()), b64(b"v1:\x00"), b64(b"\xff\xfe"), "!!!", "%00", "a" * 99,
])
async def test_a_hostile_cursor_is_400_not_503(client: httpx.AsyncClient, cursor: str) -> None:
    for path in ("/events", "/notifications", "/dead-letters"):
        response = await client.get(path, params={"cursor": cursor})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == "cursor"


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "501"}, {"limit": str(2**64)}, {"limit": "x"},
    {"account_id": "a\x00b"}, {"account_id": "x" * 65}, {"account_id": "-bad"},
])
async def test_hostile_limits_and_account_ids_are_4xx(client: httpx.AsyncClient,
                                                      params: dict[str, str]) -> None:
    response = await client.get("/events", params=params)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_database_outage_is_a_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/events")
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.headers["content-type"] == "application/problem+json"


async def test_reads_need_a_key_and_replay_an_admin_key_when_keys_are_set() -> None:
    keyed = app(api_keys=SecretStr("reader"), admin_api_keys=SecretStr("boss"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keyed),
                                 base_url="http://t") as c:
        for path in ("/events", "/notifications", "/stats", "/dead-letters",
                     "/events/6f1d2a54-8f3b-4c1e-9a43-2b3c4d5e6f70"):
            response = await c.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
        reader = {"Authorization": "Bearer reader"}
        assert (await c.get("/dead-letters", headers=reader)).status_code == 403
        assert (await c.post("/dead-letters/1/replay", headers=reader)).status_code == 403
        assert (await c.get("/events", headers=reader)).status_code == 503  # past auth
        boss = {"Authorization": "Bearer boss"}
        assert (await c.get("/dead-letters", headers=boss)).status_code == 503  # past auth


def test_cursor_round_trip_and_bounds() -> None:
    assert decode_cursor(encode_cursor(MAX_POSITION)) == MAX_POSITION
    assert decode_cursor(None) is None
    with pytest.raises(BadCursor):
        decode_cursor(encode_cursor(MAX_POSITION + 1))


def test_admin_keys_are_valid_keys_and_scopes_differ() -> None:
    keys = ApiKeys(SecretStr("a,b"), SecretStr("root"))
    assert keys.enabled and keys.is_admin("Bearer root") and not keys.is_admin("Bearer a")
    assert keys.scope_for("Bearer root") is not None
    assert keys.scope_for("Bearer a") != keys.scope_for("Bearer b")
    assert keys.scope_for("Bearer nope") is None and not keys.is_admin(None)
    assert not ApiKeys(SecretStr("")).enabled
