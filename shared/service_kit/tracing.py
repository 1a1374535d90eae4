"""W3C trace context, kept by OpenTelemetry: one trace follows a payment from the HTTP request
into the Kafka headers, the consumer's spans, its rows and both services' logs.

OpenTelemetry owns the context (the FastAPI, aiokafka and asyncpg instrumentations start the
spans, see telemetry.py); this module is the small view the services need of it: the current
trace as a `traceparent` string, parsing one from a header, and `trace_id` on log lines.
"""

import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

_IDS = RandomIdGenerator()


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> "TraceContext":
        return TraceContext(self.trace_id, f"{_IDS.generate_span_id():016x}", self.flags)

    def span_context(self) -> SpanContext:
        return SpanContext(int(self.trace_id, 16), int(self.span_id, 16), is_remote=True,
                           trace_flags=TraceFlags(int(self.flags, 16)))

    def as_parent(self) -> Context:
        """An OpenTelemetry context whose spans continue this trace (a remote parent)."""
        return trace.set_span_in_context(NonRecordingSpan(self.span_context()))


def _from_span(span: SpanContext) -> TraceContext | None:
    if not span.is_valid:
        return None
    return TraceContext(f"{span.trace_id:032x}", f"{span.span_id:016x}",
                        f"{int(span.trace_flags):02x}")


class _RequestSpan(NonRecordingSpan):
    """The span TraceContextMiddleware makes current, holding the TraceContext it was made
    from: `current_trace.get()` (twice per request) reads it back instead of formatting the
    ids again from the SpanContext."""

    def __init__(self, ours: TraceContext, span: SpanContext) -> None:
        super().__init__(span)
        self.trace_context = ours


class _CurrentTrace:
    """The span OpenTelemetry has current (the request's, a consumer span's), if any."""

    def get(self) -> TraceContext | None:
        span = trace.get_current_span()
        if type(span) is _RequestSpan:
            return span.trace_context
        return _from_span(span.get_span_context())


current_trace = _CurrentTrace()


# The W3C grammar as OpenTelemetry's TraceContextTextMapPropagator checks it (the unit tests
# hold the two to the same verdicts); parsed here without the propagator's per-call Context,
# SpanContext and span objects, a third of the consumer's planning per event.
_TRACEPARENT = re.compile(
    r"[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?[ \t]*$")
_NO_TRACE, _NO_SPAN = "0" * 32, "0" * 16


def parse_traceparent(value: str | None) -> TraceContext | None:
    """A W3C `traceparent` header as OpenTelemetry's propagator reads it; None if invalid."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if (trace_id == _NO_TRACE or span_id == _NO_SPAN or version == "ff"
            or (version == "00" and rest)):
        return None
    return TraceContext(trace_id, span_id, flags)


def new_trace(flags: str = "01") -> TraceContext:
    return TraceContext(f"{_IDS.generate_trace_id():032x}", f"{_IDS.generate_span_id():016x}",
                        flags)


ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class TraceContextMiddleware:
    """When no span is recorded: the request's place in the caller's trace (a new span id
    under its `traceparent`, or a new unsampled trace) becomes OpenTelemetry's current
    context, so logs, rows and Kafka headers carry the ids; no span object is made."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = context.attach(trace.set_span_in_context(_request_span(scope)))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


def _request_span(scope: MutableMapping[str, Any]) -> _RequestSpan:
    """A new span id under the caller's `traceparent` (the first such header), or a new
    unsampled trace. The ids are made as integers and formatted once (the SpanContext takes
    the integers, the TraceContext the hex), not formatted and parsed back per request."""
    caller = None
    for name, value in scope.get("headers", ()):
        if name == b"traceparent":
            caller = parse_traceparent(value.decode("latin-1"))
            break
    span_id = _IDS.generate_span_id()
    if caller is None:
        trace_id = _IDS.generate_trace_id()
        ours = TraceContext(f"{trace_id:032x}", f"{span_id:016x}", "00")
        flags = _UNSAMPLED
    else:
        trace_id = int(caller.trace_id, 16)
        ours = TraceContext(caller.trace_id, f"{span_id:016x}", caller.flags)
        flags = TraceFlags(int(caller.flags, 16))
    return _RequestSpan(ours, SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags))


_UNSAMPLED = TraceFlags(0)


class TraceLogFilter(logging.Filter):
    """Adds `trace_id` to every log record made while a trace is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            span = trace.get_current_span().get_span_context()
            if span.is_valid:
                record.trace_id = f"{span.trace_id:032x}"
        return True
