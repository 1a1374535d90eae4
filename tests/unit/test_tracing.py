"""The W3C context without recorded spans: parsing a traceparent, and the middleware that
puts a request's place in its caller's trace into OpenTelemetry's current context."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service_kit.http_metrics import HttpMetricsMiddleware
from service_kit.tracing import (
    TraceContext,
    TraceContextMiddleware,
    current_trace,
    parse_traceparent,
)

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize("value", [
    None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f35-00f067aa-01",
])
def test_invalid_traceparents_are_ignored(value: str | None) -> None:
    assert parse_traceparent(value) is None


# Valid, invalid and edge cases of the W3C grammar: versions, a future version's extra field,
# case, padding, zero ids, truncation, a newline inside or after.
_EDGES = [
    CALLER, CALLER.upper(), f"  {CALLER}\t", f"\n{CALLER}\n", CALLER + "-extra",
    "01" + CALLER[2:] + "-extra", "01" + CALLER[2:], "fe" + CALLER[2:], "ff" + CALLER[2:],
    CALLER[:-1], CALLER + "0", CALLER.replace("-01", "-ff"), CALLER.replace("-", "_"),
    "00-" + "0" * 32 + "-00f067aa0ba902b7-01", CALLER[:36] + "0" * 16 + "-01",
    CALLER + "\n-x", "01" + CALLER[2:] + "-a\nb", "zz" + CALLER[2:], " \t ", "-", "\x00",
]


@pytest.mark.parametrize("value", _EDGES)
def test_the_parser_agrees_with_opentelemetrys_propagator(value: str) -> None:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({"traceparent": value.strip()})
    span = trace.get_current_span(context).get_span_context()
    expected = (TraceContext(f"{span.trace_id:032x}", f"{span.span_id:016x}",
                             f"{int(span.trace_flags):02x}") if span.is_valid else None)
    assert parse_traceparent(value) == expected


def test_a_valid_traceparent_round_trips() -> None:
    parsed = parse_traceparent(CALLER)
    assert parsed == TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01")
    assert parsed.traceparent == CALLER


def app_seeing_the_trace() -> FastAPI:
    # FastAPI's own telemetry would add spans of its own whenever an earlier test in the
    # session installed a tracer provider; the services never have one in this mode.
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.get("/here")
    async def here() -> dict[str, Any]:
        trace = current_trace.get()
        return {"traceparent": trace.traceparent if trace else None}

    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(TraceContextMiddleware)
    return app


async def get(headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_seeing_the_trace())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.get("/here", headers=headers)


async def test_the_request_continues_its_callers_trace() -> None:
    response = await get({"traceparent": CALLER})
    ours = parse_traceparent(response.json()["traceparent"])
    assert ours is not None and ours.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ours.span_id != "00f067aa0ba902b7" and ours.flags == "01"
    assert response.headers["traceparent"] == ours.traceparent  # told back to the caller
    assert current_trace.get() is None  # nothing leaks out of the request


async def test_without_a_caller_a_new_unsampled_trace_begins() -> None:
    first, second = await get({}), await get({"traceparent": "nonsense"})
    a, b = (parse_traceparent(r.json()["traceparent"]) for r in (first, second))
    assert a is not None and b is not None and a.trace_id != b.trace_id
    assert a.flags == b.flags == "00"
