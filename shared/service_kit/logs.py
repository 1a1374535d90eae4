"""Structured JSON log lines; `extra={...}` fields become keys of the line."""

import atexit
import logging
import logging.handlers
import queue
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from service_kit.tracing import TraceLogFilter

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        # OPT_NON_STR_KEYS: a mapping keyed by partition number is a common `extra`.
        return orjson.dumps(line, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class RepeatFilter(logging.Filter):
    """Lets one line per (logger, message) through every `window_s` seconds.

    aiokafka logs a connection error per attempt (ten a second while a broker is down);
    one line in a while says the same, and the readiness check says it too.
    """

    def __init__(self, prefixes: tuple[str, ...] = ("aiokafka",), window_s: float = 30.0):
        super().__init__()
        self.prefixes = prefixes
        self.window_s = window_s
        self._last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, record.msg)
        last = self._last.get(key)
        if last is not None and record.created - last < self.window_s:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = record.created
        return True


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Formats on the caller's thread (the trace context lives there), hands the finished
    line to a writer thread, and drops the line rather than block when the queue is full."""

    dropped = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            _DroppingQueueHandler.dropped += 1


_listener: logging.handlers.QueueListener | None = None
_lines: "queue.Queue[logging.LogRecord] | None" = None


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stderr, written by a background thread: a slow or blocked stderr (a pipe,
    a full disk) never stalls the event loop."""
    global _listener, _lines
    if _listener is not None:
        _listener.stop()
    lines: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=10_000)
    _lines = lines
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(logging.Formatter("%(message)s"))  # the line is already JSON
    _listener = logging.handlers.QueueListener(lines, writer)
    _listener.start()
    atexit.register(_listener.stop)  # flushes what is queued
    handler = _DroppingQueueHandler(lines)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(TraceLogFilter())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def flush_logs(timeout_s: float = 5.0) -> None:
    """Write out every queued line (before a process ends by a re-raised signal, where
    atexit handlers do not run)."""
    lines = _lines
    if lines is None:
        return
    deadline = time.monotonic() + timeout_s
    # The writer marks each line done after writing it (QueueListener calls task_done).
    while lines.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.005)
    sys.stderr.flush()
