"""A 300 MB body to each service, with and without a key, over a real socket: refused early
(413 for the size, 401 for the missing key, before the body is read), and the process's
memory stays where it was (contract: every body a size limit)."""

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.processes import Service
from tests.support import unique

TOTAL = 300 * 1024 * 1024
CHUNK = b"7" * (1024 * 1024)
RSS_GROWTH_MAX = 64 * 1024 * 1024


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def push(port: int, path: str, key: str | None, *, declared: bool) -> tuple[int, int]:
    """Stream up to 300 MB; stop once the answer arrives. (status, bytes handed to the socket).

    Each chunk waits for the transport to drain below its high-water mark, racing the status
    line, so `sent` counts what the server could have taken, not what piled up in our own
    buffer while the server was not reading."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json"]
    head.append(f"Content-Length: {TOTAL}" if declared else "Transfer-Encoding: chunked")
    if key is not None:
        head.append(f"Authorization: Bearer {key}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    status_line = asyncio.create_task(reader.readline())
    sent = 0
    try:
        async with asyncio.timeout(60):
            while sent < TOTAL and not status_line.done():
                frame = CHUNK if declared else b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
                writer.write(frame)
                sent += len(CHUNK)
                drained = asyncio.ensure_future(writer.drain())
                await asyncio.wait({drained, status_line}, return_when=asyncio.FIRST_COMPLETED)
                if not drained.done():
                    drained.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drained
            line = await status_line
    except (ConnectionError, OSError):
        line = await asyncio.wait_for(status_line, 10)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return int(line.split()[1]), sent


@pytest.mark.parametrize(("script", "path"), [("transaction-api", "/payments"),
                                              ("notification-consumer", "/webhooks")])
async def test_a_300_mb_body_is_refused_early_with_and_without_a_key(
    database_url: str, topics: tuple[str, str], script: str, path: str
) -> None:
    main, dlq = topics
    service = Service(script, {
        "DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
        "KAFKA_GROUP_ID": unique("group"), "API_KEYS": "reader", "ADMIN_API_KEYS": "admin",
        "MAX_BODY_BYTES": "65536"}).start()
    try:
        await service.ready()
        assert service.proc is not None
        before = rss(service.proc.pid)
        cases = [(None, False, 401), (None, True, 413), ("reader", False, 413),
                 ("reader", True, 413)]
        for key, declared, expected in cases:
            status, sent = await push(service.port, path, key, declared=declared)
            assert status == expected, (key, declared, status)
            assert sent < TOTAL, f"the whole body was taken before the answer ({key})"
        grown = rss(service.proc.pid) - before
        assert grown < RSS_GROWTH_MAX, f"RSS grew {grown / 2**20:.0f} MiB"
        assert service.proc.poll() is None
    finally:
        await service.terminate()
