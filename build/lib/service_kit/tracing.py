"""W3C trace context: one trace id follows a payment from the HTTP request into Kafka
headers and into the consumer's logs."""

import logging
import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> "TraceContext":
        return TraceContext(self.trace_id, secrets.token_hex(8), self.flags)


current_trace: ContextVar[TraceContext | None] = ContextVar("current_trace", default=None)


def parse_traceparent(value: str | None) -> TraceContext | None:
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return TraceContext(match.group(1), match.group(2), match.group(3))


def new_trace() -> TraceContext:
    return TraceContext(secrets.token_hex(16), secrets.token_hex(8))


class TraceLogFilter(logging.Filter):
    """Adds `trace_id` to every log record made while a trace is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace = current_trace.get()
        if trace is not None and not hasattr(record, "trace_id"):
            record.trace_id = trace.trace_id
        return True
