"""Single-payment latency, no load: N sequential POST /payments over one keep-alive
connection; prints p50/p90/p99 in ms. Run: `python -m bench.latency_probe URL [N]`."""

import statistics
import sys
import time
import uuid

import httpx


def probe(url: str, n: int = 300) -> dict[str, float]:
    timings = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(n + 20):
            body = {"payer_id": f"acct_{uuid.uuid4().hex[:12]}", "payee_id": "acct_bob",
                    "amount": "12.50", "currency": "EUR"}
            started = time.perf_counter()
            response = client.post("/payments", json=body)
            elapsed = time.perf_counter() - started
            if response.status_code != 202:
                raise SystemExit(f"unexpected {response.status_code}: {response.text}")
            if i >= 20:  # warm-up excluded
                timings.append(elapsed * 1000)
    q = statistics.quantiles(timings, n=100)
    return {"p50": round(q[49], 2), "p90": round(q[89], 2), "p99": round(q[98], 2)}


if __name__ == "__main__":
    print(probe(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300))
