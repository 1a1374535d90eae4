"""The SSRF guard's address classes and URL rules, the signatures (checked against the
`standardwebhooks` package), the retry schedule, and the stream's slow-client drop."""

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sse_starlette import ServerSentEvent
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notification_consumer.stream.hub import EventStreamResponse
from notification_consumer.webhooks import signing, ssrf
from notification_consumer.webhooks.metrics import STREAM_DROPPED
from notification_consumer.webhooks.settings import WebhookSettings
from notification_consumer.webhooks.worker import retry_delay

REFUSED = {
    "127.0.0.1": "loopback", "127.8.9.10": "loopback", "::1": "loopback",
    "10.0.0.1": "private", "172.16.5.4": "private", "192.168.1.1": "private",
    "fc00::1": "private", "fd12:3456::1": "private",
    "169.254.1.1": "link-local", "fe80::1": "link-local",
    "169.254.169.254": "cloud metadata", "fd00:ec2::254": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "0.0.0.0": "unspecified", "::": "unspecified",
    "224.0.0.1": "multicast", "239.1.2.3": "multicast", "ff02::1": "multicast",
    "240.0.0.1": "reserved", "255.255.255.255": "reserved",
    "100.64.0.1": "not globally routable", "192.0.2.1": "private", "198.18.0.1": "private",
    "::ffff:127.0.0.1": "loopback (IPv4 inside IPv6)",
    "::ffff:10.0.0.1": "private (IPv4 inside IPv6)",
    "::ffff:169.254.169.254": "cloud metadata (IPv4 inside IPv6)",
    "2002:7f00:1::": "loopback (IPv4 inside IPv6)",
    "64:ff9b::a00:1": "private (IPv4 inside IPv6)",
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34",
          "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_each_address_class_is_refused(address: str, reason: str) -> None:
    assert ssrf.address_class(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert ssrf.address_class(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", sorted(REFUSED))
async def test_resolve_refuses_literal_addresses_unless_allowed(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(ssrf.UnsafeTarget, match="WEBHOOK_ALLOW_PRIVATE_NETWORKS"):
        await ssrf.resolve(f"https://{host}/hook", allow_private=False)
    target = await ssrf.resolve(f"https://{host}:8443/hook?x=1", allow_private=True)
    assert target.address == ipaddress.ip_address(address)
    assert target.connect_url == f"https://{host}:8443/hook?x=1".replace(
        host, f"[{target.address}]" if target.address.version == 6 else str(target.address))


async def test_names_are_checked_on_the_resolved_address() -> None:
    with pytest.raises(ssrf.UnsafeTarget, match="loopback"):
        await ssrf.resolve("https://localhost/hook", allow_private=False)
    target = await ssrf.resolve("http://localhost:8080/h", allow_private=True)
    assert target.address.is_loopback and target.host_header == "localhost:8080"


@pytest.mark.parametrize(("url", "why"), [
    ("http://93.184.216.34/h", "only https"), ("ftp://93.184.216.34/h", "only https"),
    ("https:///h", "no host"), ("https://user:pw@93.184.216.34/h", "credentials"),
    ("https://93.184.216.34:99999/h", "not a valid URL"),
    ("https://93.184.216.34/a b", "whitespace"), ("https://x/" + "a" * 3000, "longer"),
])
async def test_url_rules(url: str, why: str) -> None:
    with pytest.raises(ssrf.UnsafeTarget, match=why):
        await ssrf.resolve(url, allow_private=False)


def test_signature_verifies_with_standardwebhooks_and_rotation_sends_both() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"type":"notification.created","data":{"id":1}}'
    now = int(time.time())
    headers = signing.headers([new, old], "msg_1", now, body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "notification.created",
                                                         "data": {"id": 1}}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)


def test_retry_delay_grows_with_jitter_and_a_cap() -> None:
    settings = WebhookSettings(webhook_backoff_initial_s=5, webhook_backoff_max_s=3600)
    for attempt, base in [(1, 5), (2, 10), (5, 80), (20, 3600), (500, 3600)]:
        delays = {retry_delay(settings, attempt) for _ in range(50)}
        assert all(base / 2 <= d <= base for d in delays)
        assert len(delays) > 1


async def test_stream_response_drops_a_client_that_stops_reading() -> None:
    sent: list[dict[str, Any]] = []
    closed = asyncio.Event()

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            for i in range(1000):
                yield ServerSentEvent(str(i), id=str(i))
        finally:
            closed.set()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if len(sent) > 3:
            await asyncio.sleep(3600)  # the client's buffers are full and it reads nothing

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the client never says it left
        return {"type": "http.disconnect"}

    dropped = STREAM_DROPPED._value.get()
    response = EventStreamResponse(events(), send_timeout_s=0.2, heartbeat_s=60)
    scope = {"type": "http", "method": "GET"}
    async with asyncio.timeout(10):
        await response(scope, receive, send)  # type: ignore[arg-type]
    assert len(sent) == 4 and closed.is_set()
    assert sent[1]["body"] == b"id: 0\r\ndata: 0\r\n\r\n"  # framed by sse-starlette
    assert not any(m.get("more_body") is False for m in sent)
    assert STREAM_DROPPED._value.get() == dropped + 1
