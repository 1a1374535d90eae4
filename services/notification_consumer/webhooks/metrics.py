"""Webhook and live-stream metrics (the consumer's /metrics serves them with the rest)."""

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter("webhook_delivery_attempts_total", "HTTP attempts by result",
                   ["result"])  # success, http_error, timeout, connection_error, refused
DELIVERIES = Counter("webhook_deliveries_total", "Deliveries finished, by outcome",
                     ["outcome"])  # delivered, failed (retry window used up)
DELIVERY_LATENCY = Histogram(
    "webhook_delivery_latency_seconds",
    "From the commit of the notification to the receiver's 2xx (retries included)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
OLDEST_UNDELIVERED = Gauge("webhook_oldest_undelivered_age_seconds",
                           "Age of the oldest pending delivery (0 = none)", ["subscription"])
DISABLED = Gauge("webhook_subscriptions_disabled",
                 "Subscriptions disabled after repeated failure")
STREAM_CLIENTS = Gauge("notification_stream_clients", "Open live-stream (SSE) connections")
STREAM_DROPPED = Counter("notification_stream_dropped_total",
                         "Live-stream clients dropped because they did not keep up")
