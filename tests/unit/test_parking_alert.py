"""KeyParkedTooLong on made-up series (promtool test rules; skipped without promtool): quiet
while a key has been parked for under an hour, firing five minutes after it passes the hour,
quiet again once the key is released; two replicas reporting the same park alert once."""

import subprocess
from pathlib import Path

from tests.unit.test_deploy_files import ALERTS_FILE, _promtool, alert_rules, yaml


def test_key_parked_too_long_fires_after_an_hour_and_five_minutes(tmp_path: Path) -> None:
    promtool = _promtool()
    rule = {r["alert"]: r for r in alert_rules()}["KeyParkedTooLong"]
    # Both replicas read the same park rows, so both report its age; a minute a minute
    # from 0 for 80 minutes, then the key is released (no park: 0).
    series = [{"series": f'consumer_oldest_parked_key_seconds{{job="notification-consumer", '
                         f'instance="notification-consumer-{i}:8001"}}',
               "values": "0+60x80 0x20"} for i in (0, 1)]

    def firing(value: str) -> list[dict[str, object]]:
        return [{"exp_labels": {"severity": rule["labels"]["severity"]},
                 "exp_annotations": {
                     "summary": f"A key has been parked behind a dead letter for {value}",
                     "description": " ".join(str(rule["annotations"]["description"]).split()),
                 }}]

    checks = [("60m", []), ("61m", []),  # 3660 s: over the threshold, pending for 5 minutes
              ("65m", []), ("66m", firing("1h 6m 0s")), ("80m", firing("1h 20m 0s")),
              ("81m", []), ("100m", [])]
    test_file = tmp_path / "parking_test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": [str(ALERTS_FILE)], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": [
            {"alertname": "KeyParkedTooLong", "eval_time": at, "exp_alerts": alerts}
            for at, alerts in checks]}]}))
    result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
