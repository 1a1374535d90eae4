"""Report sections for the drain levers (write paths, decode), key expiry, OpenTelemetry,
webhooks and the profiles."""

from typing import Any

from bench.fmt import NAN, f, failures, med, ratio

WRITE_PATHS = {
    "sqlalchemy_today": "baseline: CTE over unnest arrays, through SQLAlchemy",
    "unnest": "the same CTE, raw asyncpg",
    "unnest_prepared": "the same CTE, explicitly prepared",
    "copy_binary": "binary COPY into a temp stage, INSERT … SELECT … ON CONFLICT RETURNING + notes",
    "copy_text": "text COPY into the same stage, same INSERT",
    "executemany": "one prepared per-event statement, pipelined (fetchmany)",
    "write_path_module": "the service's path now for batches over 64 events (smaller ones: the "
                         "unnest CTE, one round trip): binary COPY stage as packaged "
                         "(notification_consumer.store.write_path), stage once per connection, "
                         "offsets and counters in one statement, via SQLAlchemy",
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
    nan = NAN
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
    base = rate.get("pydantic_each", NAN)
    return ["### Consumer decode: records/s, one process, no I/O", "",
            "| decode | records/s | / today |", "|---|---|---|",
            *(f"| {k} | {f(v)} | {f(ratio(v, base), '.2f')} |" for k, v in rate.items()), ""]


def expiry(e: dict[str, Any]) -> list[str]:
    return ["### Idempotency-key expiry", "",
            f"The API's `expire_idempotency_keys` forgot "
            f"**{f(e.get('keys_per_s', NAN))} keys/s** ({e.get('expired')} keys past the "
            f"retention among {e.get('fresh_kept')} fresh ones, batches of {e.get('batch_size')},"
            f" {f(e.get('seconds', NAN), '.1f')} s, {e.get('left')} left; goal ≥ 3,000/s). "
            f"{e.get('error', '')}", ""]


def otel(o: dict[str, Any]) -> list[str]:
    on, off = med(o, "on", "rps"), med(o, "off", "rps")
    bad = failures(o.get("on", []) + o.get("off", []))
    return ["### OpenTelemetry on ingest", "",
            f"Export on (to a local OTLP sink): {f(on)} req/s; off: {f(off)} req/s; on / off "
            f"**{f(ratio(on, off), '.2f')}**. Failures: {bad}.", ""]


def webhooks(w: dict[str, Any]) -> list[str]:
    return ["### Webhook delivery latency (one run)", "",
            f"Payment accepted → the receiver has the request: p50 {f(w.get('p50_ms', NAN), '.1f')}"
            f" ms, p99 {f(w.get('p99_ms', NAN), '.1f')} ms, max {f(w.get('max_ms', NAN), '.0f')} "
            f"ms at {w.get('rate')} payments/s for {w.get('seconds')} s ({w.get('delivered')} of "
            f"{w.get('expected')} credit notices delivered). {w.get('error', '')}", ""]


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
