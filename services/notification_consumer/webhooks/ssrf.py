"""Where a webhook may be sent: the URL's rules, and the *resolved* address's class.

Both registration and every send resolve the name and check each address; the send then
connects to the address it checked (TLS still verifies the certificate for the name), so a
name that resolves to a public address once and to 169.254.169.254 next time (DNS rebinding)
never reaches the second one.
"""

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_S = 5.0
MAX_URL_LENGTH = 2048
# Cloud metadata services that sit in otherwise unremarkable ranges.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
            ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("168.63.129.16")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """The URL or an address it resolves to is not allowed; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: IPAddress
    path: str

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the name."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def address_class(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if address in NAT64:
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None:
            reason = address_class(mapped)
            return f"{reason} (IPv4 inside IPv6)" if reason else None
    checks = [
        (address in METADATA, "cloud metadata"),
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    ]
    return next((reason for hit, reason in checks if hit), None)


def parse(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) or UnsafeTarget."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from exc
    allowed = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in allowed:
        raise UnsafeTarget("only https URLs are accepted" if not allow_private
                           else "only http and https URLs are accepted")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not accepted")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise UnsafeTarget("the URL contains whitespace or control characters")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path = quote(path, safe=_PRINTABLE)  # other characters percent-encoded, as browsers do
    host = ascii_host(parts.hostname)
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


_PRINTABLE = "".join(chr(c) for c in range(33, 127))
_ASCII_HOST = re.compile(r"[a-z0-9_.-]+|\[[0-9a-f:.]+\]|[0-9a-f:.]+")


def ascii_host(host: str) -> str:
    """The host as it goes on the wire, the way browsers map it: an ASCII name lowercased, a
    name with other characters through IDNA (UTS 46: fullwidth digits and dots become ASCII,
    so a fullwidth 127.0.0.1 is the loopback address it looks like). UnsafeTarget otherwise."""
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise UnsafeTarget(f"the host is not a valid international name: {exc}") from exc
    host = host.lower().rstrip(".")
    labels = host.split(".")
    bad_label = ":" not in host and any(len(label) > 63 or not label for label in labels)
    if not _ASCII_HOST.fullmatch(host) or len(host) > 253 or bad_label:
        raise UnsafeTarget("the host is not a valid name (labels of 1 to 63 letters, digits, "
                           "hyphens; 253 characters in all)")
    return host


async def resolve(url: str, allow_private: bool) -> Target:
    """Check `url` and every address its host resolves to; the first one is the target."""
    scheme, host, port, path = parse(url, allow_private)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise UnsafeTarget(f"cannot resolve {host}: {exc or 'timed out'}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise UnsafeTarget(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            reason = address_class(address)
            if reason is not None:
                raise UnsafeTarget(f"{host} resolves to {address}, a {reason} address "
                                   "(set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it)")
    return Target(scheme, host, port, addresses[0], path)
