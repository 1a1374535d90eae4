"""OpenTelemetry's cost on ingest: the API with OTLP export on (to a local sink that accepts
everything and keeps nothing) against the same API with export off, round by round."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.infra import new_topics
from bench.ingest import measure, wrk
from bench.procs import Proc, interleaved
from bench.settings import BIN, RUNS, service_env


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def bench_otel(url: str) -> dict[str, Any]:
    base = service_env(DATABASE_URL=url, KAFKA_TOPIC=new_topics("otel")[0])
    with otlp_sink() as endpoint, \
            Proc([str(BIN / "transaction-api")], base, "otel-off") as off, \
            Proc([str(BIN / "transaction-api")],
                 {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, "otel-on") as on:
        off.wait_ready()
        on.wait_ready()
        for proc in (off, on):
            wrk(proc.url + "/payments", 3)
        return interleaved({"off": partial(measure, [off], "/payments"),
                            "on": partial(measure, [on], "/payments")}, RUNS, "otel")
