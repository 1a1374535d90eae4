"""Running a service in the foreground: uvicorn with uvloop/httptools, JSON logs, SIGTERM =
graceful stop (uvicorn stops accepting, finishes requests, then runs the lifespan's shutdown)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from service_kit.logs import flush_logs


def serve(app: FastAPI, host: str, port: int) -> None:
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def then_flush_logs(app: FastAPI) -> AsyncIterator[Any]:
        # uvicorn re-raises SIGTERM after the shutdown: the last lines must be out by then.
        try:
            async with lifespan(app) as state:
                yield state
        finally:
            flush_logs()

    app.router.lifespan_context = then_flush_logs
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
        # Longer than the usual load-balancer idle timeout (60 s), so the proxy, not us,
        # closes idle keep-alive connections and no request races a close.
        timeout_keep_alive=75,
        backlog=2048,
        # Nothing here reads the client's address, and rewriting it from X-Forwarded-* on
        # every request was 4% of the API's CPU under load.
        proxy_headers=False,
    )
