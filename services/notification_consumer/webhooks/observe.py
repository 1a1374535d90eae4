"""What each recorded attempt says to operators: metrics, and log lines (a failure at INFO,
a success at DEBUG, one INFO summary per recorded batch)."""

import logging
from collections import Counter
from typing import Any

from notification_consumer.webhooks import attempts, metrics, sender

log = logging.getLogger(__name__)


def attempt(result: attempts.Result, state: dict[str, Any] | None) -> None:
    outcome, job = result.outcome, result.job
    metrics.ATTEMPTS.labels(_result(outcome)).inc()
    if state is not None and state["state"] == "delivered":
        metrics.DELIVERIES.labels("delivered").inc()
        metrics.DELIVERY_LATENCY.observe(
            (state["delivered_at"] - state["created_at"]).total_seconds())
    elif state is not None and state["state"] == "failed":
        metrics.DELIVERIES.labels("failed").inc()
    # A failed attempt is news at INFO; a successful one only at DEBUG (the batch's summary
    # line counts them): one synchronous log line per send would cost the sender its CPU.
    log.log(logging.DEBUG if outcome.ok else logging.INFO, "webhook attempt", extra={
        "delivery_id": job.delivery_id, "subscription_id": str(job.subscription_id),
        "webhook_id": sender.message_id(job), "attempt": job.attempt,
        "status_code": outcome.status_code, "latency_ms": round(outcome.latency_ms, 1),
        "error": outcome.error, "retry_in_s": result.retry_in_s,
        "state": state["state"] if state else "already finished or deleted"})


def batch(batch: list[attempts.Result], states: dict[int, dict[str, Any]]) -> None:
    finished = Counter(str(states[r.job.delivery_id]["state"]) for r in batch
                       if r.job.delivery_id in states)
    log.info("webhook attempts recorded", extra={
        "attempts": len(batch), "delivered": finished["delivered"],
        "retrying": finished["pending"], "failed": finished["failed"],
        "slowest_ms": round(max(r.outcome.latency_ms for r in batch), 1)})


def _result(outcome: attempts.Outcome) -> str:
    if outcome.ok:
        return "success"
    if outcome.status_code is not None:
        return "http_error"
    error = outcome.error or ""
    if error.startswith("refused"):
        return "refused"
    return "timeout" if error.startswith("timed out") else "connection_error"
