"""One signed HTTP attempt: resolve and check the address, connect to that address, read at
most a small excerpt of the answer, never follow a redirect, never wait past the timeout."""

import asyncio
import time
from datetime import UTC

import httpx
import orjson

from notification_consumer.http.schemas import Notification
from notification_consumer.webhooks import signing, ssrf
from notification_consumer.webhooks.outbox import Claimed, Outcome

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


async def attempt(client: httpx.AsyncClient, job: Claimed, *, allow_private: bool,
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
    try:
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


async def _excerpt(response: httpx.Response, cap: int) -> str:
    """The first `cap` bytes of the body; the rest is never read (the connection closes)."""
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= cap:
            break
    return bytes(chunks[:cap]).decode("utf-8", errors="replace")
