"""The bench's own bookkeeping: commit-log times matched to rows, the generated part of
BENCHMARKS.md replaced alone, and a report that names failures instead of hiding them."""

from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.doc import BEGIN, END, update_benchmarks_md
from bench.latency import commit_log, committed_at
from bench.report import drain, latency, render, single
from bench.report_goals import goals


def _line(ts: str, offsets: dict[str, list[int]]) -> bytes:
    return orjson.dumps({"ts": ts, "level": "info", "msg": "batch processed",
                         "offsets": offsets})


def test_each_row_gets_the_commit_of_the_batch_that_wrote_its_offset(tmp_path: Path) -> None:
    log = tmp_path / "consumer.log"
    log.write_bytes(b"\n".join([
        b'{"ts": "2030-01-01T00:00:00.000+00:00", "msg": "consumer started"}',
        _line("2030-01-01T00:00:01.005+00:00", {"0": [0, 9], "3": [5, 5]}),
        b"not json at all, from a library",
        _line("2030-01-01T00:00:01.250+00:00", {"0": [10, 19]}),
    ]))
    commits = commit_log(log)
    first = datetime(2030, 1, 1, 0, 0, 1, 5000, tzinfo=UTC)
    assert committed_at(commits, 0, 0) == first
    assert committed_at(commits, 0, 9) == first
    assert committed_at(commits, 0, 10) == datetime(2030, 1, 1, 0, 0, 1, 250000, tzinfo=UTC)
    assert committed_at(commits, 3, 5) == first
    assert committed_at(commits, 0, 20) is None  # not committed (yet): not timed
    assert committed_at(commits, 3, 4) is None
    assert committed_at(commits, 1, 0) is None


def test_only_the_generated_part_of_benchmarks_md_is_replaced(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"# Benchmarks\n\nThe method.\n\n{BEGIN}\nold tables\n{END}\nAfter.\n")
    update_benchmarks_md("## Results\n\nnew tables", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nThe method.\n\n")
    assert "new tables" in text and "old tables" not in text
    assert text.endswith(f"{END}\nAfter.\n")
    update_benchmarks_md("again", doc)
    assert doc.read_text().count(BEGIN) == 1 and "new tables" not in doc.read_text()


def test_a_file_without_markers_gets_them_appended(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nHand-written.\n")
    update_benchmarks_md("tables", doc)
    assert doc.read_text() == f"# Benchmarks\n\nHand-written.\n\n{BEGIN}\n\ntables\n\n{END}\n"


def test_failed_runs_are_named_and_medians_come_from_the_others() -> None:
    runs = [{"rate": 1000.0, "cpu_seconds": 2.0, "steady_cpu_us_per_event": 9.0},
            {"error": "RuntimeError: not drained in 600 s"},
            {"rate": 3000.0, "cpu_seconds": 4.0, "steady_cpu_us_per_event": 11.0}]
    text = "\n".join(drain({"ours": runs, "go_tuned": [{"rate": 4000.0}]}))
    assert "1 of 3 failed: RuntimeError: not drained" in text
    assert "| our consumer, 1 process | 2,000 | 1.00 |" in text
    assert "Ours / tuned Go: **0.50**" in text


def test_goals_say_unmeasured_rather_than_met() -> None:
    rows = goals({"drain": {"ours": [{"error": "x"}]}})
    assert all(row.endswith("| — |") for row in rows[4:-1])


def test_a_run_of_errors_still_renders() -> None:
    results = {"machine": {"cpu": "cpu", "memory_gib": "1", "python": "3", "kafka": "3",
                           "go": "go", "versions": "v"},
               "single": {"cold": [{"error": "boom"}], "post": [{"post_p50_ms": 5.0,
                                                                 "post_p99_ms": 9.0}]},
               "latency": {"rate": 500, "seconds": 30, "runs": [{"error": "late"}]},
               "drain": {"error": "no broker"}}
    text = render(results, {"single": single, "drain": drain, "latency": latency})
    assert "### drain: FAILED — no broker" in text
    assert "1 of 1 failed: late" in text
    assert "| single POST, defaults, no load | p50 ≤ 4 ms, p99 ≤ 10 ms | p50 5.00 ms" in text
