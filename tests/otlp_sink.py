"""A stand-in OpenTelemetry collector for the tests: it accepts OTLP trace exports over
HTTP (protobuf, at any path) and over gRPC, decodes them with the OTLP protobuf definitions
and keeps every span, so a test can check what a service really exported."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import free_port
from tests.webhook_receiver import serving


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]


@dataclass
class Collector:
    spans: list[Span] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)

    def keep(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        for resource in request.resource_spans:
            service = next((a.value.string_value for a in resource.resource.attributes
                            if a.key == "service.name"), "")
            for scope in resource.scope_spans:
                for s in scope.spans:
                    attributes = {a.key: a.value.WhichOneof("value") and getattr(
                        a.value, a.value.WhichOneof("value")) for a in s.attributes}
                    self.spans.append(Span(service, s.name, s.trace_id.hex(), s.span_id.hex(),
                                           s.parent_span_id.hex(), s.kind, attributes))

    def in_trace(self, trace_id: str) -> list[Span]:
        return [s for s in self.spans if s.trace_id == trace_id]

    @contextlib.asynccontextmanager
    async def http(self) -> AsyncIterator[str]:
        """Serves OTLP/HTTP; yields the base URL (any path is accepted and remembered)."""
        async def export(request: Request) -> Response:
            self.paths.add(request.url.path)
            message = trace_service_pb2.ExportTraceServiceRequest()
            message.ParseFromString(await request.body())
            self.keep(message)
            reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            return Response(reply, media_type="application/x-protobuf")

        app = Starlette(routes=[Route("/{path:path}", export, methods=["POST"])])
        async with serving(app) as url:
            yield url

    @contextlib.asynccontextmanager
    async def grpc(self) -> AsyncIterator[str]:
        """Serves OTLP/gRPC (plaintext); yields its http:// endpoint."""
        collector = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            async def Export(self, request: Any, context: Any) -> Any:  # the RPC's name
                collector.keep(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        server = grpc.aio.server()
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            TraceService(), server)
        port = free_port()
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await server.stop(grace=1)
