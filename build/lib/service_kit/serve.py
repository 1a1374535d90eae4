"""Running a service in the foreground: uvicorn with uvloop/httptools, JSON logs, SIGTERM =
graceful stop (uvicorn stops accepting, finishes requests, then runs the lifespan's shutdown)."""

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, host: str, port: int) -> None:
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
    )
