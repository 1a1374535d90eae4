"""The webhook alert rules evaluated by promtool on made-up series (skipped without it)."""

import subprocess
from pathlib import Path

from tests.unit.test_deploy_files import ALERTS_FILE, _promtool, alert_rules, yaml


def test_webhook_alerts_fire_on_a_stuck_backlog_and_a_disabled_subscription(
    tmp_path: Path,
) -> None:
    promtool = _promtool()
    exprs = {rule["alert"]: str(rule["expr"]) for rule in alert_rules()}
    consumer = 'job="notification-consumer", instance="notification-consumer:8001"'
    tests = [{
        "interval": "1m",
        "input_series": [
            # Subscription s1 stuck (its oldest delivery ages a minute a minute); s2 keeps up.
            {"series": f'webhook_oldest_undelivered_age_seconds{{{consumer}, subscription="s1"}}',
             "values": "0+60x40"},
            {"series": f'webhook_oldest_undelivered_age_seconds{{{consumer}, subscription="s2"}}',
             "values": "2x40"},
            {"series": f"webhook_subscriptions_disabled{{{consumer}}}", "values": "0 0 0 1x20"},
        ],
        "promql_expr_test": [
            {"expr": exprs["WebhookBacklogGrowing"], "eval_time": "20m",
             "exp_samples": [{"labels": '{subscription="s1"}', "value": 1200}]},
            {"expr": exprs["WebhookBacklogGrowing"], "eval_time": "10m", "exp_samples": []},
            {"expr": exprs["WebhookSubscriptionDisabled"], "eval_time": "5m",
             "exp_samples": [{"labels": "{}", "value": 1}]},
            {"expr": exprs["WebhookSubscriptionDisabled"], "eval_time": "2m",
             "exp_samples": []},
        ],
    }]
    test_file = tmp_path / "webhook_alerts_test.yml"
    test_file.write_text(yaml.safe_dump(
        {"rule_files": [str(ALERTS_FILE)], "evaluation_interval": "1m", "tests": tests}))
    result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
