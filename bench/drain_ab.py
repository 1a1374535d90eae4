"""A/B drain: this checkout's consumer against another checkout's, with the tuned Go peer and
the raw COPY ceiling, interleaved round by round on one prefilled topic (same broker, same
database, same noise), measured as `make bench` measures its drain. Not part of `make bench`;
for measuring a consumer change.

Run: python -m bench.drain_ab BASELINE_DIR [runs] [variants] [out.json]
  BASELINE_DIR  a tree with services/ and shared/ of the other version, e.g. made by
                `git archive main services shared | tar -x -C .local/baseline`
  variants      comma list of base, base2000, new, new2000, new2x, go, copy
                (default base,new,new2000,go,copy); *2000 = BATCH_MAX_RECORDS=2000
Prints one line per run and medians; writes every run to out.json (default
bench/results/drain_ab.json). BENCH_DRAIN_EVENTS sets the size (200,000).
"""

import asyncio
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.drain import drain_go, drain_ours, prefill
from bench.infra import (
    bench_database,
    delete_created_topics,
    end_offsets,
    new_topics,
)
from bench.procs import Result, json_subprocess
from bench.settings import DRAIN_EVENTS, RESULTS


def variants(url: str, base: str, topic: str, dlq: str,
             ends: dict[int, int]) -> dict[str, Callable[[], Result]]:
    return {
        "base": lambda: drain_ours(url, topic, dlq, ends, 1, PYTHONPATH=base),
        "base2000": lambda: drain_ours(url, topic, dlq, ends, 1, PYTHONPATH=base,
                                       BATCH_MAX_RECORDS="2000"),
        "new": lambda: drain_ours(url, topic, dlq, ends, 1),
        "new2000": lambda: drain_ours(url, topic, dlq, ends, 1, BATCH_MAX_RECORDS="2000"),
        "new2x": lambda: drain_ours(url, topic, dlq, ends, 2),
        "go": lambda: drain_go(url, topic, ends),
        "copy": lambda: json_subprocess([sys.executable, "-m", "bench.ceilings", "copy", url,
                                         str(DRAIN_EVENTS)], 600),
    }


def main(base_dir: Path, runs: int, names: list[str], out: Path) -> None:
    base = f"{base_dir / 'services'}:{base_dir / 'shared'}"
    url = bench_database()
    topic, dlq = new_topics("drain-ab")
    print(f"prefill {asyncio.run(prefill(topic, DRAIN_EVENTS)):.1f} s", flush=True)
    table = variants(url, base, topic, dlq, end_offsets(topic))
    results: dict[str, list[Result]] = {}
    try:
        for i in range(runs):
            for name in names:
                load = os.getloadavg()[0]
                try:
                    r = table[name]()
                except Exception as exc:  # noqa: BLE001 - recorded, the rounds go on
                    r = {"error": repr(exc)}
                r = {k: v for k, v in r.items() if k != "profile"} | {"load1": load}
                results.setdefault(name, []).append(r)
                print(name, i, orjson.dumps({k: r.get(k) for k in (
                    "rate", "cpu_seconds", "steady_cpu_us_per_event", "peak_rss_mb", "load1",
                    "error")}).decode(),
                    flush=True)
                out.write_bytes(orjson.dumps(results))
    finally:
        delete_created_topics()
    for name, rs in results.items():
        ok = [r for r in rs if "error" not in r]
        if ok:
            print(f"{name}: median {statistics.median(r['rate'] for r in ok):,.0f} events/s, "
                  f"CPU {statistics.median(r['cpu_seconds'] for r in ok):.2f} s, "
                  f"runs {[round(r['rate']) for r in ok]}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    RESULTS.mkdir(parents=True, exist_ok=True)
    main(Path(args[0]).resolve(), int(args[1]) if len(args) > 1 else 3,
         (args[2] if len(args) > 2 else "base,new,new2000,go,copy").split(","),
         Path(args[3]) if len(args) > 3 else RESULTS / "drain_ab.json")
