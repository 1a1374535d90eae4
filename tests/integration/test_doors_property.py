"""Random bytes, headers and URLs thrown at the webhook, stream and console routes of a real
server: never a 5xx, and no task of the service dies (nothing "never retrieved")."""

import asyncio
from typing import Any

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import consumer_app
from tests.webhook_receiver import serving
from tests.webhooks_support import FAST

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
urls = st.one_of(
    st.text(max_size=120),
    st.builds(lambda host, path: f"http://{host}:9/{path}",
              st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=70),
              st.text(max_size=20)),
    st.sampled_from(["http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11:9/",
                     "https://" + "a" * 64 + "\u00e9.example/", "http://[::1", "http://[::1]:99999/",
                     "https://xn--/", "http://0x7f.1/", "http://user:pw@127.0.0.1/"]))
requests = st.one_of(
    st.tuples(st.just("POST"), st.just("/webhooks"), st.binary(max_size=300),
              st.sampled_from(["application/json", "text/plain", "application/x+json", ""])),
    st.tuples(st.just("POST"), st.just("/webhooks"),
              st.builds(lambda u, d, a: orjson.dumps({"url": u, "description": d,
                                                       "account_id": a}),
                        urls, st.one_of(st.none(), st.text(max_size=300)),
                        st.one_of(st.none(), st.text(max_size=70))),
              st.just("application/json")),
    st.tuples(st.just("GET"), st.just("/notifications/stream"), st.just(b""), st.just("")),
    st.tuples(st.just("POST"), st.just("/console/login"), st.binary(max_size=300),
              st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data",
                               "text/plain"])),
    st.tuples(st.sampled_from(["GET", "POST"]),
              st.sampled_from(["/console/dead-letters", "/console/payments",
                               "/console/dead-letters/replay", "/console/stream"]),
              st.binary(max_size=200), st.just("application/x-www-form-urlencoded")),
)


def hammer(base: str) -> None:
    @settings(max_examples=150, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(requests, header_text, header_text, st.text(max_size=40))
    def one(request: tuple[str, str, bytes, str], last_event_id: str, origin: str,
            query: str) -> None:
        method, path, body, content_type = request
        # Stripped: an HTTP client cannot send a value with outer white space at all.
        headers: dict[bytes, bytes] = {
            b"Last-Event-ID": last_event_id.strip(" \t").encode("latin-1"),
            b"X-Anything": origin.strip(" \t").encode("latin-1")}
        if content_type:
            headers[b"Content-Type"] = content_type.encode()
        with httpx.Client(base_url=base, timeout=10) as client, client.stream(
                method, path, content=body or None, headers=headers,
                params={"account_id": query, "q": query}) as response:
            assert response.status_code < 500, (method, path, body[:80], response.read())

    one()


async def test_random_input_never_5xx_and_no_task_dies(database_url: str,
                                                       topics: tuple[str, str]) -> None:
    main, dlq = topics
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    app = consumer_app(database_url, main, dlq, **FAST, stream_max_duration_s=1.0)
    try:
        async with serving(app) as base:
            await asyncio.to_thread(hammer, base)
            worker = app.state.webhooks  # the context; the worker's loops must still run
            assert worker is not None
            tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("webhook-")]
            assert tasks and not any(t.done() for t in tasks)
    finally:
        loop.set_exception_handler(None)
    assert not unhandled, unhandled[:3]
