"""ASGI middleware: request count and latency by route template and status; the response
carries the request's W3C `traceparent` (OpenTelemetry's server span, see telemetry.py)."""

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

from service_kit.tracing import current_trace

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


_Children = tuple[Any, Any]  # (the counter's child for a status, the histogram's child)
# (method, route template, status) -> the labelled children. `labels()` formats and locks on
# every call; a request reuses the children of the same labels (prometheus_client keeps every
# child for the life of the process anyway, so this holds no more label sets than it does).
_children: dict[tuple[str, str, int], _Children] = {}


def _labelled(method: str, template: str, status: int) -> _Children:
    key = (method, template, status)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (HTTP_REQUESTS.labels(method, template, str(status)),
                                  HTTP_LATENCY.labels(method, template))
    return found


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = current_trace.get()
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if context is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"traceparent", context.traceparent.encode()))
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            requests, latency = _labelled(scope["method"], template, status)
            requests.inc()
            latency.observe(time.perf_counter() - started)
