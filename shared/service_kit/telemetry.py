"""OpenTelemetry for a service: the SDK tracer provider and, when spans are recorded, the
FastAPI, aiokafka and asyncpg instrumentations.

Spans are recorded when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP), or once
something asked to receive them (`record_spans_to`, e.g. a test's in-memory exporter).
Otherwise no SDK provider is installed and only the W3C context flows
(tracing.TraceContextMiddleware): ids for the logs, the rows and the Kafka headers. Not even
the provider: FastAPI's own telemetry switches itself on as soon as one is configured, and
the instrumentations cost far more than the 5% of ingest we allow them (BENCHMARKS.md).
"""

import logging
import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

from service_kit.tracing import TraceContextMiddleware

log = logging.getLogger(__name__)
# Probes and scrapes are not part of any payment's story.
UNTRACED_URLS = "/healthz,/readyz,/metrics"
_receivers: list[SpanProcessor] = []


def exporting() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def recording() -> bool:
    return exporting() or bool(_receivers)


def provider(service: str = "paystream") -> TracerProvider:
    """The process's SDK provider, made once. One someone installed first is kept."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    # A caller's sampling decision is kept either way (ParentBased).
    made = TracerProvider(resource=_resource(service),
                          sampler=ParentBased(ALWAYS_ON if exporting() else ALWAYS_OFF))
    if exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("exporting traces", extra={"endpoint": os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]})
    trace.set_tracer_provider(made)
    return made


def record_spans_to(processor: SpanProcessor) -> None:
    """Record spans from now on (apps created afterwards are instrumented) into `processor`."""
    provider().add_span_processor(processor)
    _receivers.append(processor)


def instrument_app(app: FastAPI, service: str) -> None:
    """Server spans for the app's requests, a caller's `traceparent` as their parent."""
    if not recording():
        app.add_middleware(TraceContextMiddleware)
        return
    provider(service)
    asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    for instrumentor in (AIOKafkaInstrumentor(), asyncpg):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_URLS,
                                       exclude_spans=["receive", "send"])


def _resource(service: str) -> Resource:
    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, when set, win over our default name.
    return Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service)})
