"""Report sections for the drain levers (write paths, decode) and the optional features."""

from typing import Any

from bench.procs import median_of
from bench.report import f, failures, ratio

WRITE_PATHS = {
    "sqlalchemy_today": "baseline: CTE over unnest arrays, through SQLAlchemy",
    "unnest": "the same CTE, raw asyncpg",
    "unnest_prepared": "the same CTE, explicitly prepared",
    "copy_binary": "binary COPY into a temp stage, INSERT … SELECT … ON CONFLICT RETURNING + notes",
    "copy_text": "text COPY into the same stage, same INSERT",
    "executemany": "one prepared per-event statement, pipelined (fetchmany)",
    "write_path_module": "the service's path now: binary COPY stage as packaged "
                         "(notification_consumer.store.write_path), stage once per connection, "
                         "via SQLAlchemy",
    "raw_copy": "ceiling: binary COPY into the tables, no dedup",
}


def write_paths(w: dict[str, Any]) -> list[str]:
    lines = ["### Drain write path: one transaction per batch (events + notifications + "
             "offsets + counters), raw client, no Kafka", ""]
    sizes = sorted(w.get("by_batch", {}).items(), key=lambda kv: int(kv[0]))
    if not sizes:
        return [*lines, "No result.", ""]
    head = " | ".join(f"batch {b}: events/s | client CPU | server CPU" for b, _ in sizes)
    lines += [f"| path | {head} |", "|---|" + "---|---|---|" * len(sizes)]
    nan = float("nan")
    for key, label in WRITE_PATHS.items():
        cells = []
        for _, r in sizes:
            client = r.get("client_cpu_per_10k", {}).get(key, nan)
            base = r.get("client_cpu_per_10k", {}).get("sqlalchemy_today", nan)
            cells.append(f"{f(r.get('rate', {}).get(key, nan))} | {f(client * 100, '.2f')} "
                         f"({f(ratio(client, base), '.2f')}x) | "
                         f"{f(r.get('server_cpu_per_10k', {}).get(key, nan) * 100, '.2f')}")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    errors = [f"batch {b}: {r['error']}" for b, r in sizes if "error" in r]
    lines += ["", "events/s: wall, median of the runs (interleaved; on a shared machine mostly "
              "noise). CPU: ms per 1,000 events, medians; client = this process, server = the "
              "PostgreSQL backend serving it; (x) = client CPU / the unnest CTE's (the "
              "service's path before the COPY path)."
              + (" Failed: " + "; ".join(errors) if errors else ""), ""]
    return lines


def decode(d: dict[str, Any]) -> list[str]:
    rate = d.get("rate", {})
    base = rate.get("pydantic_each", float("nan"))
    return ["### Consumer decode: records/s, one process, no I/O", "",
            "| decode | records/s | / today |", "|---|---|---|",
            *(f"| {k} | {f(v)} | {f(ratio(v, base), '.2f')} |" for k, v in rate.items()), ""]


def expiry(e: dict[str, Any]) -> list[str]:
    return ["### Idempotency-key expiry", "",
            f"`{e.get('function')}` forgot **{f(e.get('rate', float('nan')))} keys/s** "
            f"({e.get('keys')} keys older than the retention, {e.get('calls')} calls, "
            f"{f(e.get('seconds', float('nan')), '.1f')} s, {e.get('left')} left; goal ≥ 3,000/s)."
            f" {e.get('error', '')}", ""]


def otel(o: dict[str, Any]) -> list[str]:
    on, off = median_of(o.get("on", []), "rps"), median_of(o.get("off", []), "rps")
    return ["### OpenTelemetry overhead on ingest", "",
            f"Export on (to a local OTLP sink): {f(on)} req/s; off: {f(off)} req/s; on / off "
            f"**{f(ratio(on, off), '.2f')}**.{failures(o.get('on', []) + o.get('off', []))}", ""]


def webhooks(w: dict[str, Any]) -> list[str]:
    nan = float("nan")
    return ["### Webhook delivery latency", "",
            f"p50 {f(w.get('p50_ms', nan), '.1f')} ms, p99 {f(w.get('p99_ms', nan), '.1f')} ms, "
            f"max {f(w.get('max_ms', nan), '.0f')}"
            f" ms at {w.get('rate')} payments/s ({w.get('delivered')} of {w.get('expected')} "
            f"notifications delivered). {w.get('error', '')}", ""]


def profiles(results: dict[str, Any]) -> list[str]:
    found = [("transaction API under ingest", results.get("ingest", {}).get("api_profile"))]
    drained = results.get("drain", {}).get("ours_profiled") or [{}]
    found.append(("notification consumer under drain", drained[0].get("profile")))
    lines = ["### Profiles (py-spy, one extra run each, outside the medians)", ""]
    for label, prof in found:
        if not prof:
            continue
        if "error" in prof:
            lines += [f"{label}: no profile ({prof['error']}).", ""]
            continue
        lines += [f"**{label}** ({prof['samples']} samples, `bench/results/{prof['file']}`): "
                  "our functions, inclusive of what they call", "", "| share | function |",
                  "|---|---|", *(f"| {s:.0%} | `{fn}` |" for s, fn in prof["inclusive"][:12]),
                  "", "Hottest frames (self time):", "", "| share | frame |", "|---|---|",
                  *(f"| {s:.0%} | `{fn}` |" for s, fn in prof["self"][:8]), ""]
    return lines
