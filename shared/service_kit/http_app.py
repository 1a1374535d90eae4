"""The FastAPI app each service builds around its own routers: problem+json errors, and
documented as such; the operations routes (health, readiness, metrics); HTTP metrics and
tracing on every route."""

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig

from service_kit.hot_routes import Endpoint, HotRoutes, hot_endpoints
from service_kit.http_metrics import HttpMetricsMiddleware
from service_kit.ops_routes import Check, ops_router
from service_kit.problems import document_problems, install_problem_handlers
from service_kit.request_guard import GuardRules, RequestGuard
from service_kit.telemetry import instrument_app, recording

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_app(service: str, title: str, description: str, *, routers: Iterable[APIRouter],
                checks: dict[str, Check], required: set[str], lifespan: Lifespan | None = None,
                state: Mapping[str, object] | None = None,
                extras: Iterable[Callable[[FastAPI], None]] = (),
                guard: GuardRules | None = None,
                hot: Mapping[tuple[str, str], Endpoint] | None = None) -> FastAPI:
    """`service` names it in traces; `state` goes on app.state for the dependencies;
    `extras` add what is not a plain router (error maps, mounts), after the routers.
    `checks` are the readiness checks, the `required` ones decide it. `guard` puts the request
    guard (body limit, key first, open-mode rules) before every route. `hot` maps (method,
    path) to a route's endpoint, served by the middleware stack itself (hot_routes.py)."""
    # FastAPI's own telemetry looks for configured OpenTelemetry providers on every request
    # (three environment lookups); when ours is not recording there are none to find.
    off = None if recording() else TelemetryConfig(tracing=False, metrics=False, logs=False)
    app = FastAPI(title=title, version="1.0.0", description=description, lifespan=lifespan,
                  telemetry=off)
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    install_problem_handlers(app)
    document_problems(app)
    for router in routers:
        app.include_router(router)
    for extra in extras:
        extra(app)
    app.include_router(ops_router(checks, required))
    hot_routes = hot_endpoints(hot or {})
    if hot_routes:  # added first, so innermost: inside the metrics, guard and tracing
        app.add_middleware(HotRoutes, fastapi=app, routes=hot_routes)
    app.add_middleware(HttpMetricsMiddleware)
    if guard is not None:
        app.add_middleware(RequestGuard, rules=guard)
    instrument_app(app, service)
    return app
