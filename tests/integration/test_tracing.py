"""OpenTelemetry: one trace runs from the HTTP request through the API's Kafka send to the
consumer's receive and processing, with both services in this process against the real
Kafka and PostgreSQL, spans caught by an in-memory exporter."""

import secrets
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from service_kit.telemetry import record_spans_to
from tests.support import api_app, consumer_app, in_process, payment, wait_until


def one(spans: list[ReadableSpan], kind: SpanKind, name: str) -> ReadableSpan:
    found = [s for s in spans if s.kind == kind and s.name == name]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_trace_spans_both_services(database_url: str,
                                             topics: tuple[str, str]) -> None:
    exporter = InMemorySpanExporter()
    record_spans_to(SimpleSpanProcessor(exporter))  # apps created from now on record spans
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    main, dlq = topics
    trace_id = secrets.token_hex(16)
    caller = secrets.token_hex(8)
    try:
        async with in_process(api_app(database_url, main)) as api, \
                in_process(consumer_app(database_url, main, dlq)) as consumer:
            # Flag 01: the caller samples this trace, so it is recorded though export is off.
            response = await api.post("/payments", json=payment(),
                                      headers={"traceparent": f"00-{trace_id}-{caller}-01"})
            assert response.status_code == 202, response.text
            assert response.headers["traceparent"].startswith(f"00-{trace_id}-")
            event_id = response.json()["event_id"]

            async def row() -> dict[str, Any] | None:
                r = await consumer.get(f"/events/{event_id}")
                return r.json() if r.status_code == 200 else None

            stored = await wait_until(row, 30, what="event processed")

            async def traced() -> list[ReadableSpan] | None:
                spans = [s for s in exporter.get_finished_spans()
                         if s.context is not None and s.context.trace_id == int(trace_id, 16)]
                done = any(s.name == f"{main} process" for s in spans)
                return spans if done else None

            spans = await wait_until(traced, 30, what="the consumer's process span")
    finally:
        exporter.shutdown()
        # The httpx instrumentation patches every client in this process: later tests that
        # send their own `traceparent` must not have it replaced by a span of this test's.
        HTTPXClientInstrumentor().uninstrument()
    assert stored["trace_id"] == trace_id  # the row keeps the trace id
    server = one(spans, SpanKind.SERVER, "POST /payments")
    send = one(spans, SpanKind.PRODUCER, f"{main} send")
    # A record fetched just before the partition claim's seek is fetched again (and each
    # fetch is a receive span); the effect is written once, so there is one process span.
    receives = [s for s in spans if s.kind == SpanKind.CONSUMER and s.name == f"{main} receive"]
    process = one(spans, SpanKind.CONSUMER, f"{main} process")
    assert server.context is not None and send.context is not None
    assert parent_of(server) == int(caller, 16)  # the caller's span is the root's parent
    assert parent_of(send) == server.context.span_id  # API: request -> Kafka send
    assert receives and all(parent_of(r) == send.context.span_id  # Kafka headers -> consumer
                            for r in receives)
    assert parent_of(process) == server.context.span_id  # ce_traceparent -> processing
    assert process.attributes is not None
    assert process.attributes["messaging.message.id"] == event_id
    # The API's database work is in the trace too (asyncpg instrumentation).
    assert any(s.kind == SpanKind.CLIENT and parent_of(s) == server.context.span_id
               for s in spans)
