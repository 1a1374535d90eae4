"""One error boundary per service: every error our code defines either carries its own HTTP
mapping (a ServiceError subclass, read by service_kit.problems) or is named here as one that
never reaches a client. A new error class that is neither fails this test."""

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import notification_consumer
import payment_events
import service_kit
import transaction_api
from service_kit.errors import ServiceError
from service_kit.problems import Problem, service_problem

# Errors that stay inside a process: handled where raised, never answered to a client.
INTERNAL = {
    "notification_consumer.ingest.decompressed_size._Unreadable": "left for aiokafka to report",
    "notification_consumer.ingest.failures.Fenced": "a zombie's batch is rolled back",
    "notification_consumer.ingest.failures.RecordRejected": "the record is dead-lettered",
    "notification_consumer.ingest.log_ends.KafkaResting": "shown on a page, lag not sampled",
    "notification_consumer.ingest.reset_offsets.ReplayRefused": "CLI: exit status 2",
    "notification_consumer.ingest.reset_offsets.GroupActive": "CLI: exit status 2",
    "notification_consumer.webhooks.ssrf.UnsafeTarget": "a failed attempt, or BadUrl at POST",
    "payment_events.errors.PoisonMessage": "the record is dead-lettered",
    "payment_events.money.InvalidMoney": "a validation error (422) through pydantic",
    "service_kit.failures.PermanentFailure": "base of Fenced and RecordRejected",
}


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if ".migrations" not in info.name:
            found.append(importlib.import_module(info.name))
    return found


def _our_errors() -> dict[str, type[BaseException]]:
    errors: dict[str, type[BaseException]] = {}
    for package in (notification_consumer, transaction_api, service_kit, payment_events):
        for module in _modules(package):
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    errors[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return errors


def test_every_error_is_mapped_or_internal() -> None:
    unmapped = sorted(name for name, cls in _our_errors().items()
                      if not issubclass(cls, ServiceError | Problem) and name not in INTERNAL)
    assert unmapped == [], "map these (subclass a service_kit.errors class) or list them"


def test_internal_list_names_real_classes() -> None:
    assert set(INTERNAL) <= set(_our_errors())


@pytest.mark.parametrize("name", sorted(n for n, c in _our_errors().items()
                                        if issubclass(c, ServiceError)))
def test_each_service_error_answers_its_own_status(name: str) -> None:
    cls = _our_errors()[name]
    assert issubclass(cls, ServiceError)
    try:
        error = cls("internal detail: password=hunter2")
    except TypeError:  # errors whose message is fixed or built from an argument
        sig = inspect.signature(cls.__init__)
        args = [7 for p in list(sig.parameters.values())[1:]
                if p.default is inspect.Parameter.empty]
        error = cls(*args)
    problem = service_problem(error)
    assert problem.status == cls.status
    if cls is not ServiceError:
        assert problem.status != 500, f"{name} would answer 500"
    if problem.status >= 500:  # a dependency's words never reach the client
        assert "hunter2" not in problem.detail
    if problem.status == 503:
        assert problem.headers and "Retry-After" in problem.headers
