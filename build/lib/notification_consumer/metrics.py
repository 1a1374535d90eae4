"""The consumer's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PROCESSED = Counter("consumer_events_processed_total", "Events written (first time)")
DUPLICATES = Counter("consumer_duplicates_total", "Deliveries of events already processed")
DEAD_LETTERS = Counter("consumer_dead_letters_total", "Records dead-lettered", ["reason"])
BATCH_SIZE = Histogram(
    "consumer_batch_size_records", "Records per fetched batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
BATCH_LATENCY = Histogram(
    "consumer_batch_processing_seconds", "Time to process and commit one batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
END_TO_END = Histogram(
    "consumer_end_to_end_latency_seconds", "Event time to the commit of its effects",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
REBALANCES = Counter("consumer_rebalances_total", "Partition assignments received")
TRANSIENT_FAILURES = Counter(
    "consumer_transient_failures_total", "Batches rolled back and retried later (DB/Kafka down)"
)
LAG = Gauge("consumer_lag_messages", "Log end offset minus committed offset", ["partition"])
LAG_SECONDS = Gauge("consumer_lag_seconds", "Estimated age of the oldest unprocessed event",
                    ["partition"])
SINCE_COMMIT = Gauge("consumer_seconds_since_last_commit",
                     "Time since this process last committed the partition", ["partition"])
# Not tied to having partitions: a replica beyond the partition count is idle, yet ready.
READY = Gauge("consumer_ready",
              "1 when the consumer is connected to Kafka and not degraded, else 0")
