"""One signed HTTP attempt: resolve and check the address, connect to that address, read at
most a small excerpt of the answer, never follow a redirect, never wait past the timeout.
The request continues its payment's trace: its `traceparent` carries the trace id the payment
was accepted under (a child span of it when spans are recorded)."""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

import httpx
import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from notification_consumer.http.schemas import Notification
from notification_consumer.webhooks import signing, ssrf
from notification_consumer.webhooks.attempts import Outcome
from notification_consumer.webhooks.outbox import Claimed
from service_kit.telemetry import recording
from service_kit.tracing import parse_traceparent

tracer = trace.get_tracer("notification_consumer.webhooks")

USER_AGENT = "paystream-webhooks/1"
EVENT_TYPE = "notification.created"


def message_id(job: Claimed) -> str:
    return f"msg_{job.message_id.hex}"


def body(job: Claimed) -> bytes:
    """The same bytes on every attempt: only the signature's timestamp changes."""
    notification = Notification.from_row(job.notification).model_dump(mode="json")
    created = job.notification["created_at"].astimezone(UTC)
    return orjson.dumps({"type": EVENT_TYPE, "timestamp": created.isoformat(),
                         "data": notification})


def new_client(max_connections: int) -> httpx.AsyncClient:
    # No environment proxies (they would bypass the address check), no redirects.
    return httpx.AsyncClient(follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_connections=max_connections,
                                                 max_keepalive_connections=max_connections))


class Clients:
    """Connection pools for the sender: one per TLS server name. httpx pools connections by
    the URL's address, and we connect to the checked address with the name as SNI, so one
    shared pool could carry a request for name B over a connection verified for name A.
    Plain http shares one pool (nothing is verified per name). The least recently used
    name's pool is closed once its requests can no longer be in flight."""

    def __init__(self, max_connections: int, names: int = 64, grace_s: float = 60.0) -> None:
        self.max_connections = max_connections
        self.names = names
        self.grace_s = grace_s
        self.plain = new_client(max_connections)
        self._tls: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._retired: set[asyncio.Task[None]] = set()

    def for_target(self, target: ssrf.Target) -> httpx.AsyncClient:
        if target.scheme != "https":
            return self.plain
        client = self._tls.pop(target.host, None) or new_client(self.max_connections)
        self._tls[target.host] = client
        while len(self._tls) > self.names:
            _, old = self._tls.popitem(last=False)
            task = asyncio.create_task(self._close_later(old))
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)
        return client

    async def _close_later(self, client: httpx.AsyncClient) -> None:
        await asyncio.sleep(self.grace_s)  # longer than any attempt's timeout
        await client.aclose()

    async def aclose(self) -> None:
        for task in list(self._retired):
            task.cancel()
        clients = [self.plain, *self._tls.values()]
        self._tls.clear()
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)


async def attempt(clients: Clients, job: Claimed, *, allow_private: bool,
                  timeout_s: float, excerpt_bytes: int) -> Outcome:
    started = time.monotonic()

    def outcome(status: int | None, address: str | None, excerpt: str | None,
                error: str | None) -> Outcome:
        return Outcome(status, (time.monotonic() - started) * 1000, address, excerpt, error)

    try:
        target = await ssrf.resolve(job.url, allow_private)
    except ssrf.UnsafeTarget as exc:
        return outcome(None, None, None, f"refused: {exc}")
    payload = body(job)
    headers = {**signing.headers(job.secrets, message_id(job), int(time.time()), payload),
               "host": target.host_header, "user-agent": USER_AGENT}
    # TLS checks the certificate against the name while the socket goes to the checked address.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    address = str(target.address)
    client = clients.for_target(target)
    try:
        with in_payment_trace(job, headers):
            async with asyncio.timeout(timeout_s):
                request = client.build_request("POST", target.connect_url, content=payload,
                                               headers=headers, extensions=extensions,
                                               timeout=timeout_s)
                response = await client.send(request, stream=True)
                try:
                    excerpt = await _excerpt(response, excerpt_bytes)
                finally:
                    await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return outcome(None, address, None, f"timed out after {timeout_s:g}s")
    except httpx.HTTPError as exc:
        return outcome(None, address, None, f"{type(exc).__name__}: {exc}"[:500])
    status = response.status_code
    error = None if 200 <= status < 300 else f"HTTP {status}" + (
        " (redirects are not followed)" if 300 <= status < 400 else "")
    return outcome(status, address, excerpt, error)


@contextmanager
def in_payment_trace(job: Claimed, headers: dict[str, str]) -> Iterator[None]:
    """With spans recorded: a span in the payment's trace, under which the httpx
    instrumentation's client span sets `traceparent`. Without: the header itself, a new span
    id under the payment's (the trace id is what a receiver correlates by)."""
    parent = parse_traceparent(job.traceparent)
    if parent is None:
        yield
    elif not recording():
        headers["traceparent"] = parent.child().traceparent
        yield
    else:
        with tracer.start_as_current_span("webhook deliver", context=parent.as_parent(),
                                          kind=SpanKind.INTERNAL, attributes={
                                              "webhook.id": message_id(job),
                                              "webhook.attempt": job.attempt,
                                              "webhook.subscription.id":
                                                  str(job.subscription_id)}):
            yield


async def _excerpt(response: httpx.Response, cap: int) -> str:
    """The first `cap` bytes of the body; the rest is never read (the connection closes)."""
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= cap:
            break
    return bytes(chunks[:cap]).decode("utf-8", errors="replace")
