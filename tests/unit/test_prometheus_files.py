"""deploy/prometheus/: the scrape config, the alert rules (complete, on exported metrics, each
with a runbook section and a promtool test in deploy/prometheus/tests/), and promtool's own
checks: `promtool check` and `promtool test rules deploy/prometheus/tests/*.yml`."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.compose_files import (
    ALERTS_FILE,
    APP_SERVICES,
    PROMETHEUS_CONFIG,
    ROOT,
    RULE_TESTS,
    bind_mounts,
    compose,
    load_yaml,
    service,
)
from tests.unit.deploy_tools import promtool
from tests.unit.promql import HISTOGRAMS, METRICS, known_metric, metric_names

RUNBOOKS = ROOT / "docs" / "runbooks.md"


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(ALERTS_FILE)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS.glob("*.yml"))


def test_prometheus_scrapes_both_services_every_5s() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    interval = config["global"]["scrape_interval"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in APP_SERVICES.items():
        job = jobs[name]
        assert job.get("scrape_interval", interval) == "5s"
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for group in job["static_configs"] for t in group["targets"]]
        assert targets == [f"{name}:{port}"]
    services = set(compose()["services"])
    for job in jobs.values():
        for group in job["static_configs"]:
            for target in group["targets"]:
                host = target.rsplit(":", 1)[0]
                assert host in services | {"localhost"}, f"unknown scrape host {host!r}"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_CONFIG.parent / rule_file).is_file()


def test_prometheus_mount_matches_the_config_file_flag() -> None:
    spec = service("prometheus")
    mounts = dict(bind_mounts(spec))
    assert mounts["./deploy/prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in spec["command"]


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    assert names >= {
        "ServiceDown",
        "ConsumerLagGrowing",
        "ConsumerLagHigh",
        "DeadLettersArriving",
        "OutboxBacklogOld",
        "ConsumerNotCommitting",
        "ConsumerNotReady",
        "BooksDoNotBalance",
        "WebhookBacklogGrowing",
        "WebhookSubscriptionDisabled",
        "ServiceMissing",
        "ReconciliationNotRunning",
    }
    assert len(names) == len(rules), "alert names must be unique"
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{rule['alert']}: for"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_rule_has_a_runbook_section() -> None:
    anchors = {heading.strip().lower()
               for heading in re.findall(r"^## (\w+)$", RUNBOOKS.read_text(encoding="utf-8"),
                                         re.MULTILINE)}
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/runbooks.md#{rule['alert'].lower()}", url
        assert rule["alert"].lower() in anchors, f"docs/runbooks.md has no ## {rule['alert']}"
    assert len(anchors) == len(alert_rules()), "a runbook section for a rule that is gone"


def test_aggregations_keep_the_namespace() -> None:
    """Two installs scraped by one Prometheus are never added up."""
    for rule in alert_rules():
        for clause in re.findall(r"\b(?:sum|max|min)\s*(?:by\s*\(([^)]*)\))?\s*\(",
                                 str(rule["expr"])):
            assert "namespace" in clause, f"{rule['alert']}: aggregation without namespace"


def test_every_rule_is_tested_firing_and_quiet() -> None:
    """Each alert has at least one promtool case where it fires and one where it does not."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in rule_test_files():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["rule_files"] == ["../alerts.yml"], path.name
        for case in data["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), f"never seen firing: {sorted(names - firing)}"
    assert names - quiet == set(), f"never seen quiet: {sorted(names - quiet)}"


def test_metric_name_parser() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="x", route!~"/m|/h"}'
        "[$__rate_interval]))) > 1 and on (partition) max by (partition) (b) > 0 "
        "unless deriv(c[5m:30s]) > 0"
    )
    assert metric_names(expr) == {"a_bucket", "b", "c"}
    with pytest.raises(AssertionError):
        metric_names("sun(b)")
    assert known_metric("http_request_duration_seconds_bucket")
    assert not known_metric("http_requests_total_bucket")


def test_metric_list_matches_the_code() -> None:
    """The metric names listed above are the ones the services define."""
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][\w:]*)\"")
    defined: dict[str, str] = {}
    for folder in ("services", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            for kind, name in pattern.findall(path.read_text(encoding="utf-8")):
                defined[name] = kind
    assert set(defined) >= METRICS, f"not defined in code: {sorted(METRICS - set(defined))}"
    assert {name for name, kind in defined.items() if kind == "Histogram"} >= HISTOGRAMS


def test_alerts_reference_only_exported_metrics() -> None:
    for rule in alert_rules():
        names = metric_names(str(rule["expr"]))
        assert names, f"{rule['alert']}: no metric in {rule['expr']!r}"
        unknown = {name for name in names if not known_metric(name)}
        assert not unknown, f"{rule['alert']} uses unknown metrics {sorted(unknown)}"


def test_promtool_accepts_config_and_rules() -> None:
    tool = promtool()
    for args in (["check", "config", str(PROMETHEUS_CONFIG)], ["check", "rules", str(ALERTS_FILE)]):
        result = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_pass() -> None:
    """The rule tests as an operator runs them: promtool test rules deploy/prometheus/tests/*.yml"""
    result = subprocess.run([promtool(), "test", "rules", *map(str, rule_test_files())],
                            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(rule_test_files())


def test_a_wrong_expectation_fails_promtool(tmp_path: Path) -> None:
    """promtool compares labels and annotations exactly: the tests above can fail."""
    source = RULE_TESTS / "outbox.yml"
    wrong = tmp_path / "outbox.yml"
    wrong.write_text(source.read_text().replace("4m 0s old", "5m 0s old").replace(
        "../alerts.yml", str(ALERTS_FILE)))
    result = subprocess.run([promtool(), "test", "rules", str(wrong)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode != 0


def test_prometheus_rule_for_the_operator_is_generated_from_alerts_yml() -> None:
    """components/monitoring/prometheus-rule.yaml holds exactly the groups of alerts.yml."""
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "prometheus" /
                                                 "prometheus_rule.py"), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    generated = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "components" / "monitoring" /
                                "prometheus-rule.yaml").read_text(encoding="utf-8"))
    assert generated["spec"]["groups"] == load_yaml(ALERTS_FILE)["groups"]
