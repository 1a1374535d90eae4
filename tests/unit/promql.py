"""PromQL as the deployment files use it: the metric names the services export, and the
metric names an expression selects (a small scanner, strict about unknown functions)."""

import re

# Metrics the services export (names as exposed), plus Prometheus' own `up`.
HISTOGRAMS = frozenset(
    {
        "http_request_duration_seconds",
        "payment_publish_duration_seconds",
        "consumer_batch_size_records",
        "consumer_batch_processing_seconds",
        "consumer_end_to_end_latency_seconds",
        "webhook_delivery_latency_seconds",
    }
)
METRICS = HISTOGRAMS | {
    "http_requests_total",
    "payment_publish_failures_total",
    "payments_accepted_total",
    "outbox_backlog_events",
    "outbox_oldest_unpublished_age_seconds",
    "relay_published_total",
    "relay_publish_failures_total",
    "consumer_events_processed_total",
    "consumer_duplicates_total",
    "consumer_dead_letters_total",
    "consumer_rebalances_total",
    "consumer_transient_failures_total",
    "consumer_parked_keys",
    "consumer_parked_record_count",
    "consumer_oldest_parked_key_seconds",
    "consumer_drain_seconds",
    "consumer_lag_messages",
    "consumer_lag_seconds",
    "consumer_seconds_since_last_commit",
    "consumer_ready",
    "reconcile_missing_events",
    "reconcile_duplicate_effects",
    "reconcile_mismatched_events",
    "reconcile_last_success_timestamp_seconds",
    "reconcile_failures_total",
    "webhook_delivery_attempts_total",
    "webhook_deliveries_total",
    "webhook_oldest_undelivered_age_seconds",
    "webhook_subscriptions_disabled",
    "notification_stream_clients",
    "notification_stream_dropped_total",
}
PROMETHEUS_BUILTIN = frozenset({"up"})

# PromQL names that are not metrics: functions, aggregations and keywords.
PROMQL_FUNCTIONS = frozenset(
    {
        "abs",
        "absent",
        "absent_over_time",
        "avg",
        "avg_over_time",
        "bottomk",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "count",
        "count_over_time",
        "count_values",
        "day_of_month",
        "day_of_week",
        "delta",
        "deriv",
        "exp",
        "floor",
        "group",
        "histogram_quantile",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_join",
        "label_replace",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max",
        "max_over_time",
        "min",
        "min_over_time",
        "predict_linear",
        "present_over_time",
        "quantile",
        "quantile_over_time",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev",
        "stddev_over_time",
        "stdvar",
        "stdvar_over_time",
        "sum",
        "sum_over_time",
        "time",
        "timestamp",
        "topk",
        "vector",
    }
)
PROMQL_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
    }
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w$.:])[A-Za-z_:][\w:]*")



def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects. Raises on a name followed by `(` that is not a
    PromQL function, so that a misspelt function is not taken for a metric either."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        name = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("("):
            assert name in PROMQL_FUNCTIONS, f"unknown PromQL function {name!r} in {expr!r}"
        elif name not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def known_metric(name: str) -> bool:
    if name in METRICS or name in PROMETHEUS_BUILTIN:
        return True
    base, _, suffix = name.rpartition("_")
    return suffix in {"bucket", "sum", "count"} and base in HISTOGRAMS
