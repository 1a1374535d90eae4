"""OpenTelemetry for a service: the SDK tracer provider, OTLP export only when
OTEL_EXPORTER_OTLP_ENDPOINT is set, and the FastAPI, aiokafka and asyncpg instrumentations.

Export off, spans still carry ids (for the logs, the rows and the Kafka headers) but a new
trace is not recorded: the sampler keeps the request path's cost to creating ids. A caller
that asks for sampling (the traceparent's flag) is honoured.
"""

import logging
import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

log = logging.getLogger(__name__)
# Probes and scrapes are not part of any payment's story.
UNTRACED_URLS = "/healthz,/readyz,/metrics"


def exporting() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def setup_tracing(service: str) -> None:
    """Once per process. A provider someone installed first (a test's in-memory exporter, the
    other service in the same process) is kept."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        # A caller's sampling decision is kept either way (ParentBased).
        sampler = ParentBased(ALWAYS_ON if exporting() else ALWAYS_OFF)
        provider = TracerProvider(resource=_resource(service), sampler=sampler)
        if exporting():
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            log.info("exporting traces", extra={
                "endpoint": os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]})
        trace.set_tracer_provider(provider)
    asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    for instrumentor in (AIOKafkaInstrumentor(), asyncpg):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


def instrument_app(app: FastAPI, service: str) -> None:
    """Server spans for the app's requests; the W3C `traceparent` of a caller is their parent."""
    setup_tracing(service)
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_URLS,
                                       exclude_spans=["receive", "send"])


def _resource(service: str) -> Resource:
    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, when set, win over our default name.
    return Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service)})
