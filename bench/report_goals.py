"""The memory table and the goals against this run's figures."""

from typing import Any

from bench.fmt import NAN, f, med, met, ratio


def rss_cells(results: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(load, process, peak RSS MB) for every process the run measured."""
    cells: list[tuple[str, str, float]] = []
    single, ingest = results.get("single", {}), results.get("ingest", {})
    drain, lat = results.get("drain", {}), results.get("latency", {})
    cells.append(("single POSTs", "API", single.get("api_peak_rss_mb", NAN)))
    for name, who in (("api", "API"), ("api_2x", "API (2 at once, the larger)"),
                      ("ceiling", "bare endpoint"), ("go_peer", "Go peer"),
                      ("go_ceiling", "Go ceiling")):
        cells.append(("ingest", who, med(ingest, name, "peak_rss_mb")))
    for key, label in (("ours", "drain, 1 process"), ("ours_2x", "drain, 2 processes (each)"),
                       ("ours_3x", "drain, 3 processes (each)"),
                       ("go_tuned", "drain, Go peer")):
        cells.append((label, "consumer", med(drain, key, "peak_rss_mb")))
    for name, res in (("latency", lat), ("webhooks", results.get("webhooks", {}))):
        at = f"{name} {res.get('rate', '?')}/s"
        peaks = res.get("peak_rss_mb", {})
        cells += [(at, "API", peaks.get("api", NAN)), (at, "consumer", peaks.get("consumer", NAN))]
    return [c for c in cells if c[2] == c[2]]


def _worst_of_ours(cells: list[tuple[str, str, float]]) -> float:
    return max((v for load, who, v in cells if "Go" not in load + who and "bare" not in who),
               default=NAN)


def rss(results: dict[str, Any]) -> list[str]:
    cells = rss_cells(results)
    worst = _worst_of_ours(cells)
    return ["### Memory: peak RSS (VmHWM) per process and load", "", "| load | process | MB |",
            "|---|---|---|", *(f"| {a} | {b} | {f(v)} |" for a, b, v in cells), "",
            f"Largest of ours: **{f(worst)} MB** (goal ≤ 150 MB per process).", ""]


def _le(x: float, bound: float) -> bool | None:
    return None if x != x else x <= bound


def _ge(x: float, bound: float) -> bool | None:
    return None if x != x else x >= bound


def _both(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else a and b


def goals(results: dict[str, Any]) -> list[str]:
    s, ing = results.get("single", {}), results.get("ingest", {})
    d = results.get("drain", {})
    lat = results.get("latency", {})
    p50, p99 = med(s, "post", "post_p50_ms"), med(s, "post", "post_p99_ms")
    api, bare = med(ing, "api", "rps"), med(ing, "ceiling", "rps")
    cpu_req = med(ing, "api", "server_cpu_us_per_request")
    ours, go, copy = (med(d, k, "rate") for k in ("ours", "go_tuned", "raw_copy"))
    steady = med(d, "ours", "steady_cpu_us_per_event")
    e50, e99 = med(lat, "runs", "e2e_p50_ms"), med(lat, "runs", "e2e_p99_ms")
    worst = _worst_of_ours(rss_cells(results))
    rows = [
        ("single POST, defaults, no load", "p50 ≤ 4 ms, p99 ≤ 10 ms",
         f"p50 {f(p50, '.2f')} ms, p99 {f(p99, '.2f')} ms (cold first POST "
         f"{f(med(s, 'cold', 'post_p50_ms'), '.1f')} ms; /healthz "
         f"{f(med(s, 'healthz', 'post_p50_ms'), '.2f')} ms)",
         _both(_le(p50, 4), _le(p99, 10))),
        ("ingest, defaults, wrk 32 connections", "≥ 0.5 of the bare endpoint",
         f"{f(ratio(api, bare), '.2f')} ({f(api)} vs {f(bare)} req/s; Go ceiling "
         f"{f(med(ing, 'go_ceiling', 'rps'))})", _ge(ratio(api, bare), 0.5)),
        ("ingest CPU per request (API process)", "≤ 250 µs", f"{f(cpu_req)} µs",
         _le(cpu_req, 250)),
        ("drain, real headers, same schema", "≥ 1.0 of the tuned Go peer",
         f"{f(ratio(ours, go), '.2f')} ({f(ours)} vs {f(go)} events/s)",
         _ge(ratio(ours, go), 1.0)),
        ("drain, real headers, same schema", "≥ 0.5 of raw COPY",
         f"{f(ratio(ours, copy), '.2f')} ({f(ours)} vs {f(copy)} events/s)",
         _ge(ratio(ours, copy), 0.5)),
        ("consumer CPU per event, steady state, real headers", "≤ 15 µs",
         f"{f(steady, '.1f')} µs", _le(steady, 15)),
        (f"POST-to-committed at {lat.get('rate', '?')}/s, up to the commit",
         "p50 ≤ 8 ms, p99 ≤ 25 ms", f"p50 {f(e50, '.1f')} ms, p99 {f(e99, '.1f')} ms",
         _both(_le(e50, 8), _le(e99, 25))),
        ("RSS", "≤ 150 MB per process", f"{f(worst)} MB at most", _le(worst, 150)),
    ]
    return ["## Goals against this run", "", "| what | goal | this run | met? |",
            "|---|---|---|---|", *(f"| {a} | {g} | {x} | {met(ok)} |" for a, g, x, ok in rows),
            ""]
