"""The bench's capacity model and its CPU accounting outside our processes: instances and
partitions from per-event costs, a missing figure named rather than a crash, and /proc read
the way the kernel writes it."""

from pathlib import Path
from typing import Any

from bench.outside import sample
from bench.procs import CLK
from bench.report_capacity import capacity, partitions, plan


def _results(**over: Any) -> dict[str, Any]:
    api = {"server_cpu_us_per_request": 1159.0, "postgres_cpu_us_per_request": 180.0,
           "kafka_cpu_us_per_request": 60.0, "wal_bytes_per_request": 1800.0}
    ours = {"steady_cpu_us_per_event": 88.9, "postgres_cpu_us_per_event": 60.0,
            "kafka_cpu_us_per_event": 8.0, "wal_bytes_per_event": 3500.0}
    return {"ingest": {"api": [api]}, "drain": {"ours": [ours]},
            "latency": {"rate": 500, "runs": []}} | over


def test_instances_and_partitions_follow_the_measured_costs() -> None:
    today, hundred = plan(_results(), 1), plan(_results(), 100)
    assert (today["api"], today["consumers"], today["partitions"]) == (1, 1, 6)
    # 50,000/s x 1,159 µs = 57.95 cores, / 0.7 = 82.8; x 88.9 µs = 4.4 cores, / 0.7 = 6.3
    assert (hundred["api"], hundred["consumers"]) == (83, 7)
    assert hundred["partitions"] == 18  # room to double 7, in sixes
    assert round(hundred["pg_cores"], 1) == 17.1 and round(hundred["wal_mb_s"]) == 265
    assert partitions(3) == 6 and partitions(4) == 12


def test_the_model_names_what_breaks_first() -> None:
    text = "\n".join(capacity(_results()))
    assert "At today's load (500 payments/s) nothing breaks" in text
    assert "At 100x today's (50,000 payments/s) one PostgreSQL primary's WAL breaks first" in text


def test_a_missing_workload_is_named_not_a_crash() -> None:
    text = "\n".join(capacity(_results(drain={"error": "no broker"})))
    assert "consumer steady CPU µs per event (`drain` workload, `ours` row)" in text
    assert "| consumer instances (one core each, at 70%) | — | — | — |" in text
    assert "no verdict" in text


def _stat(root: Path, pid: int, comm: str, ticks: tuple[int, int, int, int],
          cmdline: bytes = b"") -> None:
    d = root / str(pid)
    d.mkdir()
    rest = " ".join(["S", "1"] + ["0"] * 9 + [str(t) for t in ticks] + ["0"] * 30)
    (d / "stat").write_text(f"{pid} ({comm}) {rest}\n")
    (d / "cmdline").write_bytes(cmdline)


def test_postgres_and_the_broker_are_found_in_proc(tmp_path: Path) -> None:
    _stat(tmp_path, 10, "postgres", (100, 50, 30, 20))  # the postmaster: reaped backends too
    _stat(tmp_path, 11, "postgres", (10, 0, 0, 0))
    _stat(tmp_path, 20, "java", (400, 100, 0, 0), b"java\0-cp\0x\0kafka.Kafka\0server.props")
    _stat(tmp_path, 21, "java", (999, 0, 0, 0), b"java\0other.Main")
    _stat(tmp_path, 30, "python3", (999, 0, 0, 0))
    (tmp_path / "31").mkdir()  # ended while listed: no stat
    found = sample(tmp_path)
    assert found == {"postgres": 210 / CLK, "kafka": 500 / CLK}
