"""The consumer's own spans. A batch is one "process" span (linked to every event's trace,
the parent of the database spans); each event stored gets a "process" span in its own trace,
so the trace a payment began over HTTP ends with the consumer's work on it."""

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from notification_consumer.ingest.planning import BatchPlan, EventRow
from service_kit.telemetry import recording
from service_kit.tracing import TraceContext

tracer = trace.get_tracer("notification_consumer")


def _trace_of(row: EventRow) -> TraceContext | None:
    return row.trace


@contextmanager
def batch_span(plan: BatchPlan, topic: str) -> Iterator[None]:
    if not recording():
        yield
        return
    links = [Link(t.span_context()) for t in map(_trace_of, plan.events) if t is not None]
    with tracer.start_as_current_span(f"{topic} process", kind=SpanKind.CONSUMER, links=links,
                                      attributes={"messaging.batch.message_count":
                                                  len(plan.events)}):
        yield


def events_processed(rows: list[EventRow], topic: str, group: str, started_ns: int) -> None:
    """One span per stored event, from the batch's start to now, in the event's own trace."""
    if not recording():
        return
    for row in rows:
        parent = _trace_of(row)
        if parent is None:
            continue
        span = tracer.start_span(
            f"{topic} process", context=parent.as_parent(), kind=SpanKind.CONSUMER,
            start_time=started_ns, attributes={
                "messaging.system": "kafka", "messaging.operation.type": "process",
                "messaging.destination.name": topic, "messaging.consumer.group.name": group,
                "messaging.destination.partition.id": str(row.partition),
                "messaging.kafka.offset": row.offset, "messaging.message.id":
                    str(row.event.event_id)})
        span.end()
