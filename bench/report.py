"""bench/results/latest.md from the results: one table per workload, ratios inside the run,
the goals, and every failed or unavailable measurement named as such."""

from typing import Any

from bench.procs import median_of, ok
from bench.settings import DRAIN_EVENTS, INGEST_S, RUNS

NAN = float("nan")


def f(x: float, spec: str = ",.0f") -> str:
    return "—" if x != x else format(x, spec)  # NaN: no successful run


def ratio(a: float, b: float) -> float:
    return a / b if a == a and b == b and b else NAN


def failures(rs: list[dict[str, Any]]) -> str:
    bad = [r["error"] for r in rs if "error" in r]
    return f" ({len(bad)} of {len(rs)} runs failed: {bad[0][:120]})" if bad else ""


def single(s: dict[str, Any]) -> list[str]:
    post, hz = s.get("post", {}), s.get("healthz", {})
    return ["### Single request, no load (one at a time, 25/s, keep-alive)", "",
            "| request | p50 ms | p99 ms | max ms | note |", "|---|---|---|---|---|",
            f"| POST /payments | {f(post.get('post_p50_ms', NAN), '.2f')} | "
            f"{f(post.get('post_p99_ms', NAN), '.2f')} | {f(post.get('post_max_ms', NAN), '.1f')}"
            f" | {post.get('error', '')} |",
            f"| GET /healthz (the HTTP floor) | {f(hz.get('post_p50_ms', NAN), '.2f')} | "
            f"{f(hz.get('post_p99_ms', NAN), '.2f')} | {f(hz.get('post_max_ms', NAN), '.1f')} "
            f"| {hz.get('error', '')} |", *_floors(s.get("floors", {})), ""]


def _floors(fl: dict[str, Any]) -> list[str]:
    if "error" in fl or not fl:
        return [f"| floors | — | — | — | {fl.get('error', 'not measured')} |"]
    pg, kafka = fl["pg_insert"], fl["kafka_publish"]
    return [f"| floor: the API's insert alone, autocommit (asyncpg) | {pg['p50_ms']:.2f} | "
            f"{pg['p99_ms']:.2f} | | one row, WAL flush included |",
            f"| floor: one publish alone, acks=all, idempotent (aiokafka) | "
            f"{kafka['p50_ms']:.2f} | {kafka['p99_ms']:.2f} | | send_and_wait |"]


def ingest(ing: dict[str, Any]) -> list[str]:
    lines = [f"### Ingest: wrk -t1 -c64, {INGEST_S} s per run, valid distinct bodies", "",
             "| target | req/s | p50 ms | p99 ms | server CPU | wrk CPU | peak RSS MB | failures |",
             "|---|---|---|---|---|---|---|---|"]
    labels = {"api": "transaction API: POST /payments (durable + published)",
              "ceiling": "bare FastAPI endpoint: same validation, no I/O, served the same way",
              "go_peer": "Go durable-ingest peer: same row, same publish (franz-go, idempotent)",
              "api_healthz": "transaction API: GET /healthz"}
    for name, label in labels.items():
        rs = ing.get(name, [])
        lines.append(f"| {label} | {f(median_of(rs, 'rps'))} | "
                     f"{f(median_of(rs, 'p50_us') / 1000, '.1f')} | "
                     f"{f(median_of(rs, 'p99_us') / 1000, '.1f')} | "
                     f"{f(median_of(rs, 'server_cpu_share'), '.0%')} | "
                     f"{f(median_of(rs, 'generator_cpu_share'), '.0%')} | "
                     f"{f(median_of(rs, 'peak_rss_mb'))} | {failures(rs) or 0} |")
    api, ceiling, go, healthz = (median_of(ing.get(k, []), "rps")
                                 for k in ("api", "ceiling", "go_peer", "api_healthz"))
    lines += ["", f"Ours / bare endpoint: **{f(ratio(api, ceiling), '.2f')}** (goal ≥ 0.50). "
              f"Ours / Go peer: **{f(ratio(api, go), '.2f')}**. Ours / /healthz: "
              f"{f(ratio(api, healthz), '.2f')}.", ""]
    return lines


def drain(d: dict[str, Any]) -> list[str]:
    ours = median_of(d.get("ours", []), "rate")
    rows = [("our consumer, 1 process (events + notifications + offsets, one tx per batch)",
             "ours"),
            ("our consumer, 2 processes in one group", "ours_2x"),
            ("our consumer, 1 process, BATCH_MAX_RECORDS=2000 (one run)", "ours_batch_2000"),
            ("ceiling: raw aiokafka consume, no database", "raw_consume"),
            ("ceiling: raw asyncpg COPY of the same rows, no Kafka", "raw_copy"),
            ("peer: tuned Go (kafka-go + pgx, same dedup, COPY-staging write path)", "go_tuned"),
            ("peer: the article's Go reader (ReadMessage, sync commit), 20 s from its first record",
             "go_article_consume")]
    lines = [f"### Drain: {DRAIN_EVENTS:,} events on 6 partitions, until all stored", "",
             "| consumer | events/s | ours / this | CPU s | peak RSS MB | failures |",
             "|---|---|---|---|---|---|"]
    for label, key in rows:
        rs = d.get(key, [])
        rate = median_of(rs, "rate")
        lines.append(f"| {label} | {f(rate)} | {f(ratio(ours, rate), '.2f')} | "
                     f"{f(median_of(rs, 'cpu_seconds'), '.1f')} | "
                     f"{f(median_of(rs, 'peak_rss_mb'))} | {failures(rs) or 0} |")
    copy = median_of(d.get("raw_copy", []), "rate")
    two = median_of(d.get("ours_2x", []), "rate")
    go = median_of(d.get("go_tuned", []), "rate")
    lines += ["", f"Ours / tuned Go: **{f(ratio(ours, go), '.2f')}**"
              f" (goal ≥ 1.0); ours / raw COPY: **{f(ratio(ours, copy), '.2f')}** (goal ≥ 0.5); "
              f"2 processes / 1: **{f(ratio(two, ours), '.2f')}**. Prefill "
              f"{f(d.get('prefill_seconds', NAN), '.1f')} s.", ""]
    for r in ok(d.get("go_article_produce", [])):
        lines += [f"The article's Go producer as written (`WriteMessages` per message): "
                  f"**{r['rate']:.1f} messages/s** over {r['seconds']:.0f} s.", ""]
    return lines


def latency(lat: dict[str, Any]) -> list[str]:
    return [f"### Latency: open loop {lat['rate']}/s for {lat['seconds']} s, POST → row committed",
            "", "| sent | accepted | processed | errors | e2e p50 ms | e2e p99 ms | e2e max ms | "
            "POST p50 ms | POST p99 ms |", "|---|---|---|---|---|---|---|---|---|",
            f"| {lat['sent']} | {lat['accepted']} | {lat['processed']} | {lat['errors']} | "
            f"{f(lat['e2e_p50_ms'], '.1f')} | {f(lat['e2e_p99_ms'], '.1f')} | "
            f"{f(lat['e2e_max_ms'], '.1f')} | {f(lat['post_p50_ms'], '.1f')} | "
            f"{f(lat['post_p99_ms'], '.1f')} |", "",
            f"Generator CPU share {lat['generator_cpu_share']:.0%}. "
            f"{lat.get('error', '')}", ""]


def rss(results: dict[str, Any]) -> list[str]:
    cells: list[tuple[str, str, float]] = []
    if "api_peak_rss_mb" in results.get("single", {}):
        cells.append(("single POSTs", "API", results["single"]["api_peak_rss_mb"]))
    for name, who in (("api", "API"), ("ceiling", "bare endpoint"), ("go_peer", "Go peer")):
        cells.append(("ingest", who, median_of(results.get("ingest", {}).get(name, []),
                                               "peak_rss_mb")))
    for key, label in (("ours", "drain, 1 process"), ("ours_2x", "drain, 2 processes (each)")):
        cells.append((label, "consumer", median_of(results.get("drain", {}).get(key, []),
                                                   "peak_rss_mb")))
    lat = results.get("latency", {}).get("peak_rss_mb", {})
    at = f"latency {results.get('latency', {}).get('rate', '?')}/s"
    cells += [(at, "API", lat.get("api", NAN)), (at, "consumer", lat.get("consumer", NAN))]
    worst = max((v for _, _, v in cells if v == v), default=NAN)
    return ["### Memory: peak RSS (VmHWM) per process and load", "", "| load | process | MB |",
            "|---|---|---|", *(f"| {a} | {b} | {f(v)} |" for a, b, v in cells), "",
            f"Largest: **{f(worst)} MB** (goal ≤ 150 MB per service).", ""]


def render(results: dict[str, Any], sections: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [f"Run {results['started']} on {m['cpu']}, {m['memory_gib']} GiB; Python "
             f"{m['python']}, Kafka {m['kafka']}, {m['versions']}; {m['go']}. Load average "
             f"before {m.get('load_before')}, after {m.get('load_after')} (the machine is shared:"
             " compare ratios inside one run, not absolute figures across runs).",
             f"Command: `make bench` (BENCH_RUNS={RUNS}); medians of {RUNS} runs unless noted; "
             "services at their default settings (LOG_LEVEL=INFO).", ""]
    for name, section in sections.items():
        res = results.get(name)
        if res is None:
            continue
        if "not_available" in res:
            lines += [f"### {name}: not available — {res['not_available']}", ""]
        elif "error" in res and len(res) == 1:
            lines += [f"### {name}: FAILED — {res['error']}", ""]
        else:
            try:
                lines += section(res)
            except Exception as exc:  # noqa: BLE001 - a report bug must not lose the others
                lines += [f"### {name}: could not be reported ({exc!r}); see latest.json", ""]
    lines += rss(results)
    from bench.report_extras import profiles  # it imports this module's helpers

    lines += profiles(results)
    return "\n".join(lines)
