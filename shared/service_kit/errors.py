"""The errors a service raises on purpose, mapped to HTTP once, by the handlers in `problems`.

    ServiceError
    ├── DependencyUnavailable       503 + Retry-After: worth retrying later
    │   ├── PublishFailed           Kafka did not acknowledge a record in time (down, timed out,
    │   │                           refused)
    │   └── TransientStoreError     PostgreSQL is unreachable, busy or shutting down
    └── RequestRejected             4xx: the request itself is the problem; retrying it as it is
        │                           will not help
        ├── NotFound                404: no such resource, or not visible to this caller
        ├── IdempotencyKeyReused    422: the key was used before with a different request
        └── IdempotencyKeyInFlight  409: the key's first request is still being recorded

    service_kit.problems.Problem    the HTTP edge's own 4xx (bad body, content type, size,
                                    header, missing key): raised where the bytes are read

Adapters raise these from the third-party error (`raise PublishFailed(...) from exc`), so the
code between the adapters and the HTTP edge decides on our types only. A record that can never
become an event is `payment_events.errors.PoisonMessage`: that one is part of the contract
between the services, these are about a request and our dependencies.
"""


class ServiceError(Exception):
    """Base class of the errors the services raise on purpose."""


class DependencyUnavailable(ServiceError):
    """A dependency could not do its part now; the same request may succeed later."""


class PublishFailed(DependencyUnavailable):
    """The broker did not acknowledge the record (down, timed out, or refused it)."""


class TransientStoreError(DependencyUnavailable):
    """The database could not be reached or aborted for a reason worth retrying."""


class RequestRejected(ServiceError):
    """The request cannot succeed as it is. `field` names the input at fault, if one is."""

    field: str | None = None
    problem_type: str = "about:blank"


class NotFound(RequestRejected):
    """Nothing by that id, or nothing this caller may see (the same answer, on purpose)."""


class IdempotencyKeyReused(RequestRejected):
    """The key was used before with a different request body."""

    field = "Idempotency-Key"
    problem_type = "/problems/idempotency-key-reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request body")


class IdempotencyKeyInFlight(RequestRejected):
    """The key's first request holds its record and has not finished; retry shortly."""

    field = "Idempotency-Key"
    problem_type = "/problems/idempotency-key-in-flight"

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in flight; retry")
