"""A webhook receiver on 127.0.0.1 for the webhook bench: answers every POST 204 and notes,
per `webhook-id`, when the whole request had arrived. It runs its own event loop in its own
thread, so it never waits on the caller's."""

import asyncio
import threading
import time
from types import TracebackType


class _Answer204(asyncio.Protocol):
    """Just enough HTTP/1.1 (keep-alive, Content-Length bodies) to answer every POST 204."""

    def __init__(self, receiver: "LocalReceiver") -> None:
        self.receiver = receiver
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length, webhook_id = 0, ""
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"webhook-id":
                    webhook_id = value.strip().decode("ascii", "replace")
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.receiver.arrivals.setdefault(webhook_id, time.time())
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


class LocalReceiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # webhook-id -> first arrival, epoch seconds
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(self._loop.create_server(
            lambda: _Answer204(self), "127.0.0.1", 0, backlog=1024))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def __enter__(self) -> "LocalReceiver":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the receiver did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
