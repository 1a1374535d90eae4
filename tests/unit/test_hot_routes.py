"""POST /payments served hot (straight from the middleware stack) answers exactly as the same
route served through FastAPI's router: the same status, problem document and headers for
valid, replayed, hostile and failing requests, and the same metric label."""

from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from service_kit.hot_routes import hot_endpoints
from tests.support import payment
from tests.unit.api_fakes import FakeApi, fake_api
from transaction_api.http import routes

JSON = {"Content-Type": "application/json"}
VOLATILE = {"event_id", "created_at"}
KEPT_HEADERS = ("content-type", "idempotent-replayed", "retry-after", "allow", "location",
                "www-authenticate")

# (case, method, path, headers, body, api keys)
CASES: list[tuple[str, str, str, dict[str, str], bytes, str]] = [
    ("valid", "POST", "/payments", JSON, httpx.Request("POST", "/", json=payment()).content, ""),
    ("query string ignored", "POST", "/payments?x=1", JSON,
     httpx.Request("POST", "/", json=payment()).content, ""),
    ("trailing slash", "POST", "/payments/", JSON, b"{}", ""),
    ("GET the collection", "GET", "/payments", {}, b"", ""),
    ("PUT", "PUT", "/payments", JSON, b"{}", ""),
    ("malformed JSON", "POST", "/payments", JSON, b'{"payer_id": ', ""),
    ("invalid UTF-8", "POST", "/payments", JSON, b'{"a": "\xff"}', ""),
    ("empty body", "POST", "/payments", JSON, b"", ""),
    ("array", "POST", "/payments", JSON, b"[1]", ""),
    ("text/plain", "POST", "/payments", {"Content-Type": "text/plain"}, b"{}", ""),
    ("too large", "POST", "/payments", JSON, b'{"d": "' + b"x" * 20_000 + b'"}', ""),
    ("bad amount", "POST", "/payments", JSON,
     httpx.Request("POST", "/", json=payment(amount="1.005")).content, ""),
    ("unknown field", "POST", "/payments", JSON,
     httpx.Request("POST", "/", json=payment(colour="x")).content, ""),
    ("bad idempotency key", "POST", "/payments", {**JSON, "Idempotency-Key": "a b"},
     httpx.Request("POST", "/", json=payment()).content, ""),
    ("no key, keys on", "POST", "/payments", JSON,
     httpx.Request("POST", "/", json=payment()).content, "alpha"),
    ("wrong key", "POST", "/payments", {**JSON, "Authorization": "Bearer nope"},
     httpx.Request("POST", "/", json=payment()).content, "alpha"),
    ("right key", "POST", "/payments", {**JSON, "Authorization": "Bearer alpha"},
     httpx.Request("POST", "/", json=payment()).content, "alpha"),
    ("foreign Host, open mode", "POST", "/payments", {**JSON, "Host": "evil.example"},
     httpx.Request("POST", "/", json=payment()).content, ""),
    ("foreign Origin", "POST", "/payments", {**JSON, "Origin": "http://evil.example"},
     httpx.Request("POST", "/", json=payment()).content, ""),
]


async def answer(api: FakeApi, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], Any]:
    async with api.client() as client:
        response = await client.request(method, path, headers=headers, content=body)
    kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    kept["has traceparent"] = str("traceparent" in response.headers)
    try:
        document = response.json()
    except ValueError:
        document = response.text
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if k not in VOLATILE}
    return response.status_code, kept, document


@pytest.mark.parametrize(("case", "method", "path", "headers", "body", "keys"), CASES,
                         ids=[c[0] for c in CASES])
async def test_hot_and_routed_answer_alike(case: str, method: str, path: str,
                                          headers: dict[str, str], body: bytes,
                                          keys: str) -> None:
    hot = await answer(fake_api(keys, hot=True), method, path, headers, body)
    routed = await answer(fake_api(keys, hot=False), method, path, headers, body)
    assert hot == routed, case


async def test_replay_reuse_and_store_failures_answer_alike() -> None:
    """Both modes, compared: a replay, a key reused with another body (422), the store down
    (503), a bug (500): each mapped by the same handlers."""
    results = []
    for mode in (True, False):
        api = fake_api(hot=mode)
        key = {**JSON, "Idempotency-Key": "order-1"}
        body = httpx.Request("POST", "/", json=payment()).content
        other = httpx.Request("POST", "/", json=payment(amount="9.00")).content
        seen = [await answer(api, "POST", "/payments", key, body),
                await answer(api, "POST", "/payments", key, body),
                await answer(api, "POST", "/payments", key, other)]
        api.store.down = True
        seen.append(await answer(api, "POST", "/payments", JSON, body))
        api.store.down = False

        async def broken(**_: Any) -> None:
            raise RuntimeError("a bug")

        api.store.record = broken  # type: ignore[method-assign,assignment]
        seen.append(await answer(api, "POST", "/payments", JSON, body))
        results.append(seen)
    statuses = [status for status, _, _ in results[0]]
    assert statuses == [202, 202, 422, 503, 500]
    assert results[0] == results[1]


def label_count(route: str) -> float:
    value = REGISTRY.get_sample_value(
        "http_requests_total", {"method": "POST", "route": route, "status": "202"})
    return value or 0.0


async def test_the_hot_route_is_labelled_like_the_routed_one() -> None:
    before = label_count("/payments")
    for mode in (True, False):
        status, _, _ = await answer(fake_api(hot=mode), "POST", "/payments", JSON,
                                    httpx.Request("POST", "/", json=payment()).content)
        assert status == 202
    assert label_count("/payments") == before + 2


def test_the_app_routes_post_payments_to_the_endpoint_served_hot() -> None:
    operation = fake_api(hot=False).app.openapi()["paths"]["/payments"]["post"]
    assert operation["operationId"].startswith(routes.create_payment.__name__)


def test_only_an_endpoint_taking_the_request_alone_can_be_hot() -> None:
    async def two(request: Any, other: int) -> Any:
        return None

    with pytest.raises(ValueError, match="cannot be hot"):
        hot_endpoints({("POST", "/x"): two})  # type: ignore[dict-item]


async def test_a_plain_function_handler_maps_a_hot_route_error_too() -> None:
    """Starlette accepts handlers that are plain functions; the hot route calls them alike."""
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse
    from starlette.responses import Response

    from service_kit.hot_routes import HotRoutes

    class Teapot(Exception):
        pass

    async def brew(request: Request) -> Response:
        raise Teapot()

    app = FastAPI()
    app.add_exception_handler(Teapot, lambda request, exc: PlainTextResponse("no", 418))
    app.add_middleware(HotRoutes, fastapi=app, routes=hot_endpoints({("POST", "/tea"): brew}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post("/tea")
    assert (response.status_code, response.text) == (418, "no")
