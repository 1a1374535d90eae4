"""TLS connections are pooled per server name: a connection verified for one name never
carries a request for another, even when both names resolve to the same address."""

import asyncio
import ipaddress

from notification_consumer.webhooks.sender import Clients
from notification_consumer.webhooks.ssrf import Target

ADDRESS = ipaddress.ip_address("93.184.216.34")


def target(scheme: str, host: str) -> Target:
    return Target(scheme=scheme, host=host, port=443 if scheme == "https" else 80, path="/",
                  address=ADDRESS)


async def test_each_tls_name_has_its_own_pool_on_one_address() -> None:
    clients = Clients(4)
    try:
        a, b = clients.for_target(target("https", "a.example")), clients.for_target(
            target("https", "b.example"))
        assert a is not b
        assert clients.for_target(target("https", "a.example")) is a
        assert clients.for_target(target("http", "a.example")) is clients.plain
        assert clients.for_target(target("http", "b.example")) is clients.plain
    finally:
        await clients.aclose()


async def test_the_least_recently_used_name_is_closed_after_its_grace() -> None:
    clients = Clients(4, names=2, grace_s=0.05)
    try:
        first = clients.for_target(target("https", "a.example"))
        second = clients.for_target(target("https", "b.example"))
        clients.for_target(target("https", "a.example"))  # a is now the most recent
        clients.for_target(target("https", "c.example"))  # b goes
        assert clients.for_target(target("https", "a.example")) is first
        await asyncio.sleep(0.2)
        assert second.is_closed and not first.is_closed
    finally:
        await clients.aclose()
    assert first.is_closed and clients.plain.is_closed
