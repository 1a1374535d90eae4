"""Writes deploy/kubernetes/components/monitoring/prometheus-rule.yaml from alerts.yml: the same
groups, wrapped in the Prometheus Operator's PrometheusRule. Run after editing alerts.yml:

    .venv/bin/python deploy/prometheus/prometheus_rule.py          # write the file
    .venv/bin/python deploy/prometheus/prometheus_rule.py --check  # non-zero if out of date

tests/unit/test_monitoring_component.py runs the check.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
TARGET = ROOT / "deploy" / "kubernetes" / "components" / "monitoring" / "prometheus-rule.yaml"
HEADER = """\
# Generated from deploy/prometheus/alerts.yml by deploy/prometheus/prometheus_rule.py: edit
# alerts.yml, then run that script. A unit test fails when the two differ.
"""


def _literal_multiline(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML has no type hints
    pass


_Dumper.add_representer(str, _literal_multiline)


def prometheus_rule() -> dict[str, Any]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "paystream"},
        "spec": {"groups": groups},
    }


def render() -> str:
    body = yaml.dump(prometheus_rule(), Dumper=_Dumper, sort_keys=False, width=100,
                     allow_unicode=True)
    return HEADER + str(body)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            sys.stderr.write(f"{TARGET.relative_to(ROOT)} is out of date: run {__file__}\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
