"""A real HTTP webhook receiver on 127.0.0.1 for the tests: it verifies every request with the
`standardwebhooks` package (the receiver side of the specification, not our code), can fail
or hang chosen attempts, and records everything it saw. Also `serving(app)`: any ASGI app on
a real port (streams need a real server; httpx's ASGI transport buffers whole responses)."""

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import free_port


@dataclass
class Attempt:
    webhook_id: str
    attempt: int
    answered: int | None  # None: the receiver hung (the sender should time out)
    verified_with: list[int]  # indices into Receiver.secrets that verify the signature
    payload: dict[str, Any]
    traceparent: str | None = None  # the W3C trace context the request came with


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to the first N attempts of each webhook-id
    # When set, fail_first applies only to the webhook-ids (with their payload) it accepts.
    failing: Callable[[str, dict[str, Any]], bool] | None = None
    hang_attempt: int | None = None  # this attempt number of each webhook-id hangs
    hang_s: float = 5.0
    delay_s: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def counts(self) -> Counter[str]:
        return Counter(a.webhook_id for a in self.attempts)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        webhook_id = headers.get("webhook-id", "")
        verified = []
        for index, secret in enumerate(self.secrets):
            with contextlib.suppress(WebhookVerificationError):
                Webhook(secret).verify(body, headers)
                verified.append(index)
        number = self.counts()[webhook_id] + 1
        payload = json.loads(body)
        trace = headers.get("traceparent")
        chosen = self.failing is None or self.failing(webhook_id, payload)
        if number <= self.fail_first and chosen:
            self.attempts.append(Attempt(webhook_id, number, 500, verified, payload, trace))
            return Response("temporarily broken", status_code=500)
        if number == self.hang_attempt:
            self.attempts.append(Attempt(webhook_id, number, None, verified, payload, trace))
            await asyncio.sleep(self.hang_s)
            return Response(status_code=204)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.attempts.append(Attempt(webhook_id, number, 204, verified, payload, trace))
        if verified:
            self.delivered.setdefault(webhook_id, payload)
        return Response(status_code=204)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["Receiver"]:
        app = Starlette(routes=[Route("/hooks", self.handle, methods=["POST"])])
        async with serving(app, self.port):
            yield self


@contextlib.asynccontextmanager
async def serving(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) on 127.0.0.1; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, timeout_graceful_shutdown=2,
                                           loop="asyncio"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                    raise AssertionError("server exited at start")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(30):
            await task
