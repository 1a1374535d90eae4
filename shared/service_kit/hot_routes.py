"""A hot route served straight from the middleware stack: the same endpoint function, the same
guard, metrics, tracing and error mapping, without FastAPI's per-request routing and
dependency machinery (about a quarter of the API's CPU per POST, measured with py-spy).

Only an endpoint that takes the `Request` alone and returns a `Response` qualifies: FastAPI
would then neither read the body nor serialise the result, so calling it directly is the
same call. Anything else (another method, a trailing slash, a sub-path) goes through the
app as usual, so redirects, 404s and 405s are unchanged.
"""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Any]


def hot_endpoints(wanted: Mapping[tuple[str, str], Endpoint]) -> dict[tuple[str, str],
                                                                     "HotRoute"]:
    """(method, full path) -> the endpoint the app routes it to; each must take only the
    Request (tests/unit/test_hot_routes.py checks that the app routes there too)."""
    found: dict[tuple[str, str], HotRoute] = {}
    for (method, path), endpoint in wanted.items():
        parameters = list(inspect.signature(endpoint).parameters.values())
        if len(parameters) != 1 or parameters[0].annotation not in (Request, "Request"):
            raise ValueError(f"{method} {path} takes more than the Request: it cannot be hot")
        found[(method, path)] = HotRoute(path, endpoint)
    return found


@dataclass(frozen=True)
class HotRoute:
    path: str  # what the metrics label a request with, as for any route
    endpoint: Endpoint


class HotRoutes:
    """Innermost of the service's middlewares, so the guard, metrics and trace context wrap
    the hot route as they wrap every other one."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI,
                 routes: dict[tuple[str, str], HotRoute]) -> None:
        self.app = app
        self.fastapi = fastapi
        self.routes = routes

    def _handler(self, exc: Exception) -> Handler | None:
        # As Starlette's ExceptionMiddleware: the nearest class in the MRO with a handler;
        # `Exception` itself is left to the server-error layer outside, as for any route.
        handlers = self.fastapi.exception_handlers
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in handlers:
                handler: Handler = handlers[cls]
                return handler
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http":
            route = self.routes.get((scope["method"], scope["path"]))
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope.setdefault("path_params", {})
        request = Request(scope, receive, send)
        try:
            response: Response = await route.endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            answer = handler(request, exc)  # Starlette allows plain functions as handlers
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)
