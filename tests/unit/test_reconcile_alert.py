"""BooksDoNotBalance on made-up series (promtool test rules): quiet while the books balance,
firing two minutes after the background reconciliation finds one missing payment."""

import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
ALERTS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"


def test_books_do_not_balance_fires_on_a_missing_payment(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    rules = {r["alert"]: r for g in yaml.safe_load(ALERTS_FILE.read_text())["groups"]
             for r in g["rules"]}
    rule = rules["BooksDoNotBalance"]
    consumer = 'job="notification-consumer", instance="notification-consumer:8001"'
    expected = {"exp_labels": {"severity": rule["labels"]["severity"]},
                "exp_annotations": {k: str(v).replace("{{ $value }}", "1")
                                    for k, v in rule["annotations"].items()}}
    tests = [{
        "interval": "30s",
        "input_series": [
            {"series": f"reconcile_missing_events{{{consumer}}}", "values": "0 0 0 0 1x20"},
            {"series": f"reconcile_duplicate_effects{{{consumer}}}", "values": "0x24"},
            {"series": f"reconcile_mismatched_events{{{consumer}}}", "values": "0x24"},
        ],
        "alert_rule_test": [
            {"alertname": "BooksDoNotBalance", "eval_time": "1m", "exp_alerts": []},
            {"alertname": "BooksDoNotBalance", "eval_time": "3m", "exp_alerts": []},
            {"alertname": "BooksDoNotBalance", "eval_time": "5m", "exp_alerts": [expected]},
        ],
    }]
    test_file = tmp_path / "books_test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": [str(ALERTS_FILE)],
                                         "evaluation_interval": "30s", "tests": tests}))
    result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
