"""The capacity model in the report: this run's measured cost of one payment (the API's request,
the consumer's event, and what each costs PostgreSQL and the Kafka broker) scaled to today's
load, 10x and 100x of it. A figure the run did not measure is named, never guessed."""

import math
from typing import Any

from bench.fmt import NAN, f, med, ratio
from bench.settings import LATENCY_RATE, PARTITIONS

TARGET = 0.7  # the utilisation each one-core instance is run at
SCALES = (1, 10, 100)
PRIMARY_CORES = 16  # assumed: the cores one PostgreSQL primary gives to this write load
WAL_MB_S = 100  # assumed: the WAL one primary (streaming to a replica) sustains, MB/s

# name: (what it is, workload, row, field)
INPUTS = {
    "api": ("API CPU µs per request", "ingest", "api", "server_cpu_us_per_request"),
    "consumer": ("consumer steady CPU µs per event", "drain", "ours", "steady_cpu_us_per_event"),
    "pg_ingest": ("PostgreSQL CPU µs per request", "ingest", "api",
                  "postgres_cpu_us_per_request"),
    "pg_drain": ("PostgreSQL CPU µs per event", "drain", "ours", "postgres_cpu_us_per_event"),
    "kafka_ingest": ("Kafka CPU µs per request", "ingest", "api", "kafka_cpu_us_per_request"),
    "kafka_drain": ("Kafka CPU µs per event", "drain", "ours", "kafka_cpu_us_per_event"),
    "wal_ingest": ("WAL bytes per request", "ingest", "api", "wal_bytes_per_request"),
    "wal_drain": ("WAL bytes per event", "drain", "ours", "wal_bytes_per_event"),
}


def inputs(results: dict[str, Any]) -> dict[str, float]:
    found = {}
    for name, (_, workload, row, field) in INPUTS.items():
        res = results.get(workload)
        found[name] = med(res, row, field) if isinstance(res, dict) else NAN
    return found


def _known(*xs: float) -> bool:
    return all(x == x for x in xs)


def instances(rate: float, us: float) -> float:
    """One-core instances at TARGET for `rate` units/s of `us` µs each (at least one)."""
    return max(1, math.ceil(round(rate * us / 1e6 / TARGET, 6))) if _known(us) else NAN


def partitions(consumers: float) -> float:
    """At least the consumer instances, room to double, a multiple of PARTITIONS (6)."""
    if not _known(consumers):
        return NAN
    return max(PARTITIONS, math.ceil(2 * consumers / PARTITIONS) * PARTITIONS)


def plan(results: dict[str, Any], scale: int) -> dict[str, float]:
    x = inputs(results)
    rate = today(results) * scale
    consumers = instances(rate, x["consumer"])
    pg_us, kafka_us = x["pg_ingest"] + x["pg_drain"], x["kafka_ingest"] + x["kafka_drain"]
    return {"rate": rate, "api": instances(rate, x["api"]), "consumers": consumers,
            "partitions": partitions(consumers),
            "pg_cores": rate * pg_us / 1e6 / TARGET, "pg_us": pg_us,
            "kafka_cores": rate * kafka_us / 1e6 / TARGET,
            "wal_mb_s": rate * (x["wal_ingest"] + x["wal_drain"]) / 1e6}


def today(results: dict[str, Any]) -> float:
    lat = results.get("latency")
    return float(lat.get("rate", LATENCY_RATE) if isinstance(lat, dict) else LATENCY_RATE)


def _label(scale: int) -> str:
    return "today" if scale == 1 else f"{scale}x"


def _at(scale: int) -> str:
    return "today's load" if scale == 1 else f"{scale}x today's"


def verdict(p: dict[str, float], scale: int) -> str:
    """What breaks first at one scale: the fixed limits (one primary's CPU and WAL) against
    what the plan needs; the rest scales out by instances, partitions and brokers."""
    at = f"- At {_at(scale)} ({f(p['rate'])} payments/s)"
    limits = []
    if _known(p["pg_cores"]):
        limits.append((p["pg_cores"] / PRIMARY_CORES, "one PostgreSQL primary's write CPU",
                       f"{f(p['pg_cores'], '.1f')} PostgreSQL cores at 70% for "
                       f"{f(p['pg_us'])} µs per payment, against {PRIMARY_CORES}"))
    if _known(p["wal_mb_s"]):
        limits.append((p["wal_mb_s"] / WAL_MB_S, "one PostgreSQL primary's WAL",
                       f"{f(p['wal_mb_s'], '.1f')} MB/s of WAL, against {WAL_MB_S} MB/s"))
    if not limits:
        return f"{at}: no verdict, PostgreSQL's figures are missing."
    share, what, figure = max(limits)
    if share > 1:
        also = [f"{w} too ({s:.1f}x: {fig})" for s, w, fig in limits if s > 1 and w != what]
        return (f"{at} {what} breaks first: {figure} ({share:.1f}x the limit)"
                f"{'; then ' + '; '.join(also) if also else ''}. The API, the consumers and "
                "Kafka still scale out.")
    return (f"{at} nothing breaks: the API, the consumers and Kafka scale out, and the "
            f"nearest fixed limit is {what} at {share:.0%} ({figure}).")


def capacity(results: dict[str, Any]) -> list[str]:
    x = inputs(results)
    plans = {scale: plan(results, scale) for scale in SCALES}
    head = " | ".join(f"{_label(s)}: {f(p['rate'])}/s" for s, p in plans.items())
    rows = [("API instances (one core each, at 70%)", "api", ",.0f"),
            ("consumer instances (one core each, at 70%)", "consumers", ",.0f"),
            ("partitions", "partitions", ",.0f"),
            ("PostgreSQL cores (at 70%)", "pg_cores", ",.1f"),
            ("Kafka broker cores (at 70%)", "kafka_cores", ",.1f"),
            ("WAL MB/s", "wal_mb_s", ",.1f")]
    missing = [f"{what} (`{workload}` workload, `{row}` row)"
               for name, (what, workload, row, _) in INPUTS.items() if not _known(x[name])]
    return [
        "## Capacity model (from this run's figures)", "",
        f"Today's load is the `latency` workload's rate ({f(today(results))} payments/s, "
        "`BENCH_LATENCY_RATE`); each payment is one API request and one consumed event. "
        f"Inputs, medians of this run: API {f(x['api'])} µs per request; consumer "
        f"{f(x['consumer'], '.1f')} µs per event (steady); PostgreSQL {f(x['pg_ingest'])} µs "
        f"per request + {f(x['pg_drain'])} µs per event; Kafka {f(x['kafka_ingest'])} µs per "
        f"request + {f(x['kafka_drain'])} µs per event; WAL {f(x['wal_ingest'])} bytes per "
        f"request + {f(x['wal_drain'])} bytes per event. So one API instance at 70% serves "
        f"{f(ratio(TARGET * 1e6, x['api']))} requests/s and one consumer "
        f"{f(ratio(TARGET * 1e6, x['consumer']))} events/s.", "",
        "Assumptions: every API or consumer instance is one process on one core of this "
        "machine's kind, run at 70% (instances = load x µs / 0.7 core, rounded up; no spare "
        "for a failure: add one yourself); PostgreSQL and Kafka cores at the same 70%; costs as "
        "measured at saturation (full batches and group commits; at low rates batches are "
        "smaller and each event costs more); Kafka as measured, one broker and replication "
        "factor 1 (three replicas do the write about three times over); partitions at "
        "least the consumer instances with room to double, in multiples of 6; one "
        f"PostgreSQL primary taken to give {PRIMARY_CORES} cores and {WAL_MB_S} MB/s of WAL "
        "to this load (`PRIMARY_CORES`, `WAL_MB_S` in `bench/report_capacity.py`); "
        "connections, disk and network not modelled.", "",
        f"| | {head} |", "|---|" + "---|" * len(plans),
        *(f"| {label} | " + " | ".join(f(p[key], spec) for p in plans.values()) + " |"
          for label, key, spec in rows), "",
        *(verdict(p, scale) for scale, p in plans.items()), "",
        *([f"Missing from this run, so left blank: {'; '.join(missing)}.", ""]
          if missing else []),
    ]
