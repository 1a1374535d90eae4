"""Number formatting and medians for the report modules."""

from typing import Any

from bench.procs import median_of

NAN = float("nan")
Runs = list[dict[str, Any]]


def f(x: float, spec: str = ",.0f") -> str:
    return "—" if x != x else format(x, spec)  # NaN: no successful run


def ratio(a: float, b: float) -> float:
    return a / b if a == a and b == b and b else NAN


def failures(rs: Runs) -> str:
    bad = [r["error"] for r in rs if "error" in r]
    return f"{len(bad)} of {len(rs)} failed: {bad[0][:120]}" if bad else "0"


def med(results: dict[str, Any], name: str, key: str) -> float:
    """The median of `key` over the runs of `name`, NaN when none succeeded."""
    runs = results.get(name, [])
    return median_of(runs, key) if isinstance(runs, list) else NAN


def met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")
