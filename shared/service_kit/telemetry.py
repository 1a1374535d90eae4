"""OpenTelemetry for a service, configured by the SDK's standard `OTEL_*` variables: the SDK
tracer provider and, when spans are recorded, the FastAPI, aiokafka, asyncpg and httpx
instrumentations.

Spans are exported when `OTEL_TRACES_EXPORTER` names exporters (`otlp`, `console`, ...), or,
with that variable unset, when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): OTLP is the standard's default exporter.
`OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turns export off. The SDK reads the
rest itself: the sampler (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`; by default
`parentbased_always_on`), each exporter's endpoint, headers, timeout and compression, the
batch processor's `OTEL_BSP_*` and the resource (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`). `OTEL_EXPORTER_OTLP_PROTOCOL` (or its `_TRACES_` form) picks
`grpc` or `http/protobuf`; unset, OTLP goes over `http/protobuf`, the standard's default (the
Python SDK's own default would be gRPC, which an endpoint meant for port 4318 does not speak).

Spans are also recorded once something asked to receive them (`record_spans_to`, e.g. a
test's in-memory exporter). Otherwise no SDK provider is installed and only the W3C context
flows (tracing.TraceContextMiddleware): ids for the logs, the rows, the Kafka headers and the
webhook requests. Not even the provider: FastAPI's own telemetry switches itself on as soon as
one is configured, and the instrumentations cost far more than the 5% of ingest we allow them
(BENCHMARKS.md).
"""

import logging
import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk._configuration import _get_exporter_entry_point, _import_exporters
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from service_kit.tracing import TraceContextMiddleware

log = logging.getLogger(__name__)
# Probes and scrapes are not part of any payment's story.
UNTRACED_URLS = "/healthz,/readyz,/metrics"
OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
OTLP_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_receivers: list[SpanProcessor] = []


def exporter_names() -> list[str]:
    """The trace exporters the environment asks for, as the SDK's entry-point names."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    asked = env.get("OTEL_TRACES_EXPORTER", "").strip()
    if not asked:
        asked = "otlp" if any(env.get(v, "").strip() for v in OTLP_ENDPOINTS) else "none"
    names = []
    for name in (n.strip() for n in asked.split(",")):
        if not name or name.lower() == "none":
            continue
        if name == "otlp" and not any(env.get(v, "").strip() for v in OTLP_PROTOCOLS):
            names.append("otlp_proto_http")
        else:  # the SDK's own mapping of otlp + protocol (it raises on an unknown protocol)
            names.append(_get_exporter_entry_point(name, "traces"))
    return names


def exporting() -> bool:
    return bool(exporter_names())


def recording() -> bool:
    return exporting() or bool(_receivers)


def provider(service: str = "paystream") -> TracerProvider:
    """The process's SDK provider, made once. One someone installed first is kept."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    made = new_provider(service)
    trace.set_tracer_provider(made)
    return made


def new_provider(service: str) -> TracerProvider:
    """A provider as the environment configures it, with its exporters; not installed."""
    # No sampler given: the SDK takes OTEL_TRACES_SAMPLER and _ARG from the environment.
    made = TracerProvider(resource=_resource(service))
    names = exporter_names()
    # The SDK loads each exporter from its entry point; constructed without arguments, it
    # reads its own endpoint, headers, timeout and compression from the environment.
    for exporter in _import_exporters(names, [], [])[0].values():
        made.add_span_processor(BatchSpanProcessor(exporter()))
    if names:
        log.info("exporting traces", extra={"exporters": names,
                                            "sampler": made.sampler.get_description()})
    return made


def record_spans_to(processor: SpanProcessor) -> None:
    """Record spans from now on (apps created afterwards are instrumented) into `processor`."""
    provider().add_span_processor(processor)
    _receivers.append(processor)


def instrument_app(app: FastAPI, service: str) -> None:
    """Server spans for the app's requests, a caller's `traceparent` as their parent; client
    spans for Kafka, PostgreSQL and outgoing HTTP (webhooks, the console's and reconciliation's
    calls to the API), which carry the trace on in their `traceparent` header."""
    if not recording():
        app.add_middleware(TraceContextMiddleware)
        return
    provider(service)
    asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    for instrumentor in (AIOKafkaInstrumentor(), asyncpg, HTTPXClientInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_URLS,
                                       exclude_spans=["receive", "send"])


def _resource(service: str) -> Resource:
    # A name from OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES (the former first, as the SDK
    # reads them) wins over our default one.
    named = OTELResourceDetector().detect().attributes.get(SERVICE_NAME) or service
    return Resource.create({SERVICE_NAME: named})
