"""`/healthz`, `/readyz` and `/metrics`, the same on both services."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service_kit.responses import JsonResponse

Check = Callable[[], Awaitable[tuple[bool, str]]]
CHECK_TIMEOUT_S = 2.0


def database_check(engine: AsyncEngine) -> Check:
    async def check() -> tuple[bool, str]:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True, "reachable"

    return check


def ops_router(checks: dict[str, Check], required: set[str]) -> APIRouter:
    """`required` checks decide readiness; the others are reported but do not fail it."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Dependencies reachable",
        responses={503: {"description": "a required dependency is unavailable"}},
    )
    async def readyz() -> JsonResponse:
        names = list(checks)
        results = await asyncio.gather(*(_bounded(checks[n]) for n in names))
        report = {
            n: {"ok": ok, "detail": detail}
            for n, (ok, detail) in zip(names, results, strict=True)
        }
        ready = all(report[n]["ok"] for n in names if n in required)
        body = {"status": "ready" if ready else "not ready", "checks": report}
        return JsonResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _bounded(check: Check) -> tuple[bool, str]:
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return False, f"no answer within {CHECK_TIMEOUT_S}s"
    except Exception as exc:  # noqa: BLE001 - a failing check is a report, not a crash
        return False, f"{type(exc).__name__}: {exc}"[:300]
