"""Which trace exporters the standard OTEL_* variables ask for, as the SDK names them, and the
sampler the SDK reads from them. (The export itself, over HTTP and gRPC to a stand-in
collector, is tests/e2e/test_webhook_trace.py.)"""

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME

from service_kit.telemetry import exporter_names, exporting, new_provider

VARIABLES = ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
             "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
             "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_SAMPLER",
             "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES")
HTTP, GRPC = "otlp_proto_http", "otlp_proto_grpc"


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("env", "names"), [
    ({}, []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, [HTTP]),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, [HTTP]),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
     [GRPC]),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, [HTTP]),  # the signal's wins
    ({"OTEL_TRACES_EXPORTER": "otlp"}, [HTTP]),  # the standard's default protocol
    ({"OTEL_TRACES_EXPORTER": "otlp,console"}, [HTTP, "console"]),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, []),
])
def test_exporters_follow_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: list[str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert exporter_names() == names
    assert exporting() == bool(names)


def test_an_unknown_protocol_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(RuntimeError, match="http/json"):
        exporter_names()


@pytest.mark.parametrize(("env", "described"), [
    ({}, "ParentBased{root:AlwaysOnSampler"),
    ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
     "ParentBased{root:TraceIdRatioBased{0.25}"),
    ({"OTEL_TRACES_SAMPLER": "always_off"}, "AlwaysOffSampler"),
])
def test_the_sampler_follows_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], described: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert new_provider("api").sampler.get_description().startswith(described)


@pytest.mark.parametrize(("env", "name"), [
    ({}, "api"),
    ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=payments-a,team=x"}, "payments-a"),
    ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=payments-a", "OTEL_SERVICE_NAME": "b"}, "b"),
])
def test_the_service_name_from_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert new_provider("api").resource.attributes[SERVICE_NAME] == name
