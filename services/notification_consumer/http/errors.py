"""The errors the consumer's REST handlers raise, and the one place they become problems.

    ConsumerApiError
    ├── BadCursor          400  a cursor this API never returned (garbage, out of range)
    ├── NotFound           404  no such row, or not visible to the caller's key
    ├── MissingKey         401  API keys are configured and no valid key was sent
    └── NotAdmin           403  a valid key that is not in ADMIN_API_KEYS
    service_kit.errors.TransientStoreError  503  PostgreSQL unreachable or busy (Retry-After)
    service_kit.errors.PublishFailed        503  Kafka did not take a replay (Retry-After)
"""

from fastapi import FastAPI

from service_kit.errors import PublishFailed, TransientStoreError
from service_kit.problems import Problem, install_error_map

RETRY_AFTER = {"Retry-After": "2"}


class ConsumerApiError(Exception):
    """Base of the errors our handlers raise on purpose."""


class BadCursor(ConsumerApiError, ValueError):
    pass


class NotFound(ConsumerApiError):
    pass


class MissingKey(ConsumerApiError):
    pass


class NotAdmin(ConsumerApiError):
    pass


def install_error_handlers(app: FastAPI) -> None:
    install_error_map(app, {
        BadCursor: lambda exc: Problem(400, str(exc), field="cursor"),
        NotFound: lambda exc: Problem(404, str(exc)),
        MissingKey: lambda exc: Problem(
            401, "a valid API key is required (Authorization: Bearer <key>)",
            field="Authorization", headers={"WWW-Authenticate": "Bearer"}),
        NotAdmin: lambda exc: Problem(403, "this needs an admin key (ADMIN_API_KEYS)",
                                      field="Authorization"),
        TransientStoreError: lambda exc: Problem(503, "database unavailable, retry later",
                                                 headers=RETRY_AFTER),
        PublishFailed: lambda exc: Problem(503, "Kafka did not accept the record, retry later",
                                           headers=RETRY_AFTER),
    })
