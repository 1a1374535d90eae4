"""Running a service in the foreground: uvicorn with uvloop/httptools, JSON logs, SIGTERM =
graceful stop (uvicorn stops accepting, finishes requests, then runs the lifespan's shutdown).

The cyclic garbage collector, tuned once the app has started (measured with gc.callbacks
under ingest load, wrk -c32 against POST /payments):

- everything made so far (modules, schemas, routes, pools) lives as long as the process, so
  `gc.freeze()` takes it out of the collector's sight: every full collection walked all of it
  again, about one a second at 80 ms each, a tenth of the API's CPU and its p99;
- the youngest generation is collected after 10,000 net allocations, not 700: with requests
  in flight the count of live objects swings by hundreds, so a collection of the young ran
  every few requests (about 3% of the CPU). Cyclic garbage is still collected, a little later.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from service_kit.logs import flush_logs

YOUNG_GC_THRESHOLD = 10_000


def settle_garbage_collector() -> None:
    """Collect what start-up left behind, freeze the survivors, collect the young less often
    (the module docstring says why)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)


def serve(app: FastAPI, host: str, port: int) -> None:
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def then_flush_logs(app: FastAPI) -> AsyncIterator[Any]:
        # uvicorn re-raises SIGTERM after the shutdown: the last lines must be out by then.
        try:
            async with lifespan(app) as state:
                settle_garbage_collector()
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
