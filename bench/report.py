"""The generated part of BENCHMARKS.md (and bench/results/latest.md): the machine, one table
per workload with the ratios inside the run, the goals against the figures, and every failed
measurement named as such."""

from collections.abc import Callable
from typing import Any

from bench.fmt import NAN, f, failures, med, ratio
from bench.report_capacity import capacity
from bench.report_extras import profiles
from bench.report_goals import goals, rss
from bench.settings import DRAIN_EVENTS, INGEST_S, RUNS, WRK_CONNECTIONS

Section = Callable[[dict[str, Any]], list[str]]


def single(s: dict[str, Any]) -> list[str]:
    rows = [("first POST /payments of a freshly started API (cold)", "cold"),
            ("POST /payments, warmed up", "post"),
            ("GET /healthz of the same API (the HTTP floor)", "healthz"),
            ("Go durable-ingest peer: POST /payments, the API's settings", "go_post")]
    lines = ["### Single request, no load (one at a time, 25/s, keep-alive; cold: one request "
             "per fresh process)", "", "| request | p50 ms | p99 ms | failures |",
             "|---|---|---|---|"]
    for label, key in rows:
        if key in s:
            lines.append(f"| {label} | {f(med(s, key, 'post_p50_ms'), '.2f')} | "
                         f"{f(med(s, key, 'post_p99_ms'), '.2f')} | {failures(s[key])} |")
    fl = s.get("floors", {})
    if "pg_insert" in fl:
        pg, kafka = fl["pg_insert"], fl["kafka_publish"]
        lines += [f"| floor: the API's insert alone, autocommit (asyncpg) | {pg['p50_ms']:.2f} | "
                  f"{pg['p99_ms']:.2f} | 0 |",
                  f"| floor: one publish alone, acks=all, idempotent (aiokafka) | "
                  f"{kafka['p50_ms']:.2f} | {kafka['p99_ms']:.2f} | 0 |"]
    elif fl:
        lines.append(f"| floors | — | — | {fl.get('error', '')} |")
    return [*lines, "", "Cold: the median over the rounds of one request each; the others: "
            "medians over the rounds of each round's percentile.", ""]


def ingest(ing: dict[str, Any]) -> list[str]:
    labels = {"api": "transaction API: POST /payments (202 once committed, published right after)",
              "api_2x": "two transaction APIs at once, one wrk each with half the "
                        "connections (summed; p50 their mean, p99 the worse)",
              "ceiling": "bare FastAPI endpoint: same validation, no I/O, served the same way",
              "go_peer": "Go durable-ingest peer: same row, same record, one insert per "
                         "request, 202 once committed, published right after, the API's "
                         "settings",
              "go_ceiling": "ceiling, Go: the same with group commit",
              "api_healthz": "transaction API: GET /healthz"}
    lines = [f"### Ingest: wrk -t1 -c{WRK_CONNECTIONS}, {INGEST_S} s per run, valid distinct "
             "bodies", "", "| target | req/s | p50 ms | p99 ms | server CPU | server CPU µs "
             "per request | wrk CPU | peak RSS MB | failures |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label in labels.items():
        if name not in ing:
            continue
        lines.append(f"| {label} | {f(med(ing, name, 'rps'))} | "
                     f"{f(med(ing, name, 'p50_us') / 1000, '.1f')} | "
                     f"{f(med(ing, name, 'p99_us') / 1000, '.1f')} | "
                     f"{f(med(ing, name, 'server_cpu_share'), '.0%')} | "
                     f"{f(med(ing, name, 'server_cpu_us_per_request'))} | "
                     f"{f(med(ing, name, 'generator_cpu_share'), '.0%')} | "
                     f"{f(med(ing, name, 'peak_rss_mb'))} | {failures(ing[name])} |")
    api = med(ing, "api", "rps")
    of = {name: f(ratio(api, med(ing, name, "rps")), ".2f") for name in labels}
    lines += ["", f"Ours / bare endpoint: **{of['ceiling']}** (goal ≥ 0.50). Ours / Go peer: "
              f"**{of['go_peer']}**. Ours / Go ceiling: **{of['go_ceiling']}**. Ours / /healthz: "
              f"{of['api_healthz']}. Two APIs / one: "
              f"**{f(ratio(med(ing, 'api_2x', 'rps'), api), '.2f')}**.", "",
              *outside(ing, INGEST_SHORT, "request",
                       lambda name: med(ing, name, "server_cpu_us_per_request"))]
    return lines


INGEST_SHORT = {"api": "API", "api_2x": "two APIs", "ceiling": "bare endpoint",
                "go_peer": "Go peer", "go_ceiling": "Go ceiling", "api_healthz": "API, /healthz"}
DRAIN_SHORT = {"ours": "ours, 1 process", "ours_2x": "ours, 2 processes",
               "ours_3x": "ours, 3 processes", "go_tuned": "tuned Go", "raw_copy": "raw COPY",
               "raw_consume": "raw consume"}


def outside(res: dict[str, Any], labels: dict[str, str], unit: str,
            ours: Callable[[str], float]) -> list[str]:
    """The CPU per unit of work in our processes, PostgreSQL and the Kafka broker, and WAL."""
    lines = [f"CPU µs per {unit}, over the same runs: ours = the process(es) under test"
             f"{' (the whole run, start-up included)' if unit == 'event' else ''}; PostgreSQL "
             "= every `postgres` process; Kafka = the broker's JVM; WAL = bytes PostgreSQL "
             f"wrote per {unit} (`pg_current_wal_lsn()`). Both servers are shared with the "
             "rest of the machine.", "",
             f"| {'target' if unit == 'request' else 'consumer'} | ours µs | PostgreSQL µs | "
             f"Kafka µs | all three µs | WAL bytes |", "|---|---|---|---|---|---|"]
    for name, label in labels.items():
        if name not in res:
            continue
        us = [ours(name), *(med(res, name, f"{who}_cpu_us_per_{unit}")
                            for who in ("postgres", "kafka"))]
        lines.append(f"| {label} | {' | '.join(f(x) for x in us)} | "
                     f"{f(sum(us))} | {f(med(res, name, f'wal_bytes_per_{unit}'))} |")
    return [*lines, ""]


def drain(d: dict[str, Any]) -> list[str]:
    rows = [("our consumer, 1 process", "ours"),
            ("our consumer, 2 processes in one group", "ours_2x"),
            ("our consumer, 3 processes in one group", "ours_3x"),
            ("peer: tuned Go (kafka-go + pgx), our tables, our statements", "go_tuned"),
            ("ceiling: raw asyncpg COPY of the same rows, no Kafka, no dedup", "raw_copy"),
            ("ceiling: raw aiokafka consume, no database", "raw_consume")]
    ours = med(d, "ours", "rate")
    lines = [f"### Drain: {DRAIN_EVENTS:,} events as the API publishes them, 6 partitions, "
             "until every offset is stored", "",
             "| consumer | events/s | ours / this | CPU s | CPU µs per event | steady CPU µs per "
             "event | peak RSS MB | failures |", "|---|---|---|---|---|---|---|---|"]
    for label, key in rows:
        if key not in d:
            continue
        rate = med(d, key, "rate")
        per_event = med(d, key, "cpu_seconds") / DRAIN_EVENTS * 1e6
        lines.append(f"| {label} | {f(rate)} | {f(ratio(ours, rate), '.2f')} | "
                     f"{f(med(d, key, 'cpu_seconds'), '.1f')} | {f(per_event, '.1f')} | "
                     f"{f(med(d, key, 'steady_cpu_us_per_event'), '.1f')} | "
                     f"{f(med(d, key, 'peak_rss_mb'))} | {failures(d[key])} |")
    of = {key: f(ratio(ours, med(d, key, "rate")), ".2f") for _, key in rows}
    lines += ["", f"Ours / tuned Go: **{of['go_tuned']}** (goal ≥ 1.0); ours / raw COPY: "
              f"**{of['raw_copy']}** (goal ≥ 0.5); 2 processes / 1: "
              f"**{f(ratio(med(d, 'ours_2x', 'rate'), ours), '.2f')}**; 3 processes / 1: "
              f"**{f(ratio(med(d, 'ours_3x', 'rate'), ours), '.2f')}**. Prefill "
              f"{f(d.get('prefill_seconds', NAN), '.1f')} s. CPU: the processes' own "
              "(user + system; PostgreSQL's and Kafka's below); steady = from the first "
              "committed batch to the end, start-up excluded.", "",
              *outside(d, DRAIN_SHORT, "event",
                       lambda key: med(d, key, "cpu_seconds") / DRAIN_EVENTS * 1e6)]
    return lines


def latency(lat: dict[str, Any]) -> list[str]:
    runs = lat.get("runs", [])
    stats = {k: med(lat, "runs", k) for k in ("e2e_p50_ms", "e2e_p99_ms", "e2e_max_ms",
                                             "post_p50_ms", "post_p99_ms", "to_batch_p50_ms",
                                             "batch_p50_ms")}
    ok = [r for r in runs if "sent" in r]
    return [f"### Latency: open loop {lat['rate']}/s for {lat['seconds']} s, POST → its batch "
            "committed", "", "| sent | accepted | processed | errors | e2e p50 ms | e2e p99 ms |"
            " e2e max ms | POST p50 ms | POST p99 ms | failures |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {sum(r['sent'] for r in ok)} | {sum(r['accepted'] for r in ok)} | "
            f"{sum(r['processed'] for r in ok)} | {sum(r['errors'] for r in ok)} | "
            f"{f(stats['e2e_p50_ms'], '.1f')} | {f(stats['e2e_p99_ms'], '.1f')} | "
            f"{f(stats['e2e_max_ms'], '.1f')} | {f(stats['post_p50_ms'], '.1f')} | "
            f"{f(stats['post_p99_ms'], '.1f')} | {failures(runs)} |", "",
            f"Counts summed over {len(runs)} runs on the same processes, percentiles the median "
            "of the runs'. e2e = the consumer's commit log line (written right after the commit "
            "returns, millisecond time) minus the event's occurred_at. Split at the start of "
            "the event's batch transaction (`processed_at`, that transaction's `now()`): p50 "
            f"{f(stats['to_batch_p50_ms'], '.1f')} ms from occurred_at to it (the POST, the "
            "publish, the fetch and the wait for the write in flight), then p50 "
            f"{f(stats['batch_p50_ms'], '.1f')} ms for the transaction to its commit log line.",
            ""]


def render(results: dict[str, Any], sections: dict[str, Section]) -> str:
    m = results["machine"]
    lines = ["## Machine and run", "",
             f"{m['cpu']}, {m['memory_gib']} GiB; Python {m['python']}, Kafka {m['kafka']}, "
             f"PostgreSQL {m.get('postgres', '?')}, {m['versions']}; {m['go']}. Load average "
             f"before {m.get('load_before')}, after {m.get('load_after')}. `make bench`, "
             f"BENCH_RUNS={RUNS}: every figure is the median of {RUNS} rounds unless noted, the "
             f"variants of a workload interleaved round by round; it took {m.get('minutes', '?')}"
             " minutes.", "", "## Results", ""]
    for name, section in sections.items():
        res = results.get(name)
        if res is None:
            continue
        if "error" in res and len(res) == 1:
            lines += [f"### {name}: FAILED — {res['error']}", ""]
            continue
        try:
            lines += section(res)
        except Exception as exc:  # noqa: BLE001 - a report bug must not lose the others
            lines += [f"### {name}: could not be reported ({exc!r}); see latest.json", ""]
    lines += rss(results)
    if "ingest" in results or "drain" in results:
        try:
            lines += capacity(results)
        except Exception as exc:  # noqa: BLE001 - a model bug must not lose the report
            lines += [f"## Capacity model: could not be computed ({exc!r})", ""]
    lines += goals(results) + profiles(results)
    return "\n".join(lines)
