"""deploy/grafana/: the provisioning compose mounts, and the dashboard: data source and job
variables (no fixed data source uid, no job name written in), queries on exported metrics,
and units that match what each query measures."""

import json
from typing import Any
from urllib.parse import urlsplit

from tests.unit.compose_files import ROOT, bind_mounts, compose, load_yaml, service
from tests.unit.promql import known_metric, metric_names

GRAFANA_DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
GRAFANA_PROVIDERS = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards"
DASHBOARD_FILE = ROOT / "deploy" / "grafana" / "dashboards" / "payments.json"


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def dashboard_panels() -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # panels inside collapsed rows
    return panels


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel.get("targets", [])]


def test_grafana_datasource_points_at_the_prometheus_service() -> None:
    files = sorted(GRAFANA_DATASOURCES.glob("*.yml"))
    sources = [s for f in files for s in load_yaml(f)["datasources"]]
    prometheus = [s for s in sources if s["type"] == "prometheus"]
    assert len(prometheus) == 1
    url = urlsplit(prometheus[0]["url"])
    assert (url.hostname, url.port) == ("prometheus", 9090)
    assert "prometheus" in compose()["services"]


def test_grafana_provider_reads_the_mounted_dashboards() -> None:
    providers = [
        p for f in sorted(GRAFANA_PROVIDERS.glob("*.yml")) for p in load_yaml(f)["providers"]
    ]
    mounts = dict(bind_mounts(service("grafana")))
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboards_dir = mounts["./deploy/grafana/dashboards"]
    assert [p["options"]["path"] for p in providers] == [dashboards_dir]


def test_dashboard_panels_query_prometheus() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    assert board["schemaVersion"] >= 36
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    graphs = [panel for panel in panels if panel["type"] != "row"]
    assert len(graphs) >= 10
    for panel in graphs:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"]


def test_dashboard_references_only_exported_metrics() -> None:
    used: set[str] = set()
    for expr in dashboard_exprs():
        names = metric_names(expr)
        unknown = {name for name in names if not known_metric(name)}
        assert not unknown, f"unknown metrics {sorted(unknown)} in {expr!r}"
        used |= names
    for required in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "payment_publish_duration_seconds_bucket",
        "outbox_backlog_events",
        "outbox_oldest_unpublished_age_seconds",
        "consumer_events_processed_total",
        "consumer_end_to_end_latency_seconds_bucket",
        "consumer_lag_messages",
        "consumer_lag_seconds",
        "consumer_dead_letters_total",
        "consumer_duplicates_total",
        "consumer_rebalances_total",
        "consumer_ready",
        "reconcile_missing_events",
        "reconcile_duplicate_effects",
        "webhook_deliveries_total",
        "webhook_delivery_latency_seconds_bucket",
        "webhook_oldest_undelivered_age_seconds",
        "webhook_subscriptions_disabled",
    ):
        assert required in used, f"the dashboard does not chart {required}"


def test_dashboard_variables_choose_data_source_namespace_and_jobs() -> None:
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("namespace", "api_job", "consumer_job"):
        assert variables[name]["datasource"]["uid"] == "${datasource}"
    for expr in dashboard_exprs():
        assert "job=\"" not in expr and 'job=~"$' in expr, expr
        assert 'namespace=~"$namespace"' in expr, expr


def units() -> list[tuple[str, str, str]]:
    """(panel title, unit, expression) for every query, the panel's unit or its override."""
    result = []
    for panel in dashboard_panels():
        if panel["type"] == "row":
            continue
        field = panel.get("fieldConfig", {})
        default = field.get("defaults", {}).get("unit", "")
        override = {o["matcher"]["options"]: p["value"] for o in field.get("overrides", [])
                    if o["matcher"]["id"] == "byFrameRefID"
                    for p in o["properties"] if p["id"] == "unit"}
        for target in panel["targets"]:
            result.append((panel["title"], override.get(target["refId"], default),
                           target["expr"]))
    return result


def test_units_match_what_each_query_measures() -> None:
    """Durations in seconds, and nothing else: a count or a rate is never shown as time."""
    checked = 0
    for title, unit, expr in units():
        durations = any("seconds" in name for name in metric_names(expr))
        if durations:
            assert unit == "s", f"{title}: {expr} is a duration, unit {unit!r}"
        else:
            assert unit != "s", f"{title}: {expr} is a count or rate, unit {unit!r}"
        checked += 1
    assert checked >= 30
