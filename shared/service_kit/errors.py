"""The errors a service raises on purpose. Each class says once how it reaches HTTP (status,
problem type, field, Retry-After); `service_kit.problems` is the one boundary that reads it.

    ServiceError                        500 unless a subclass says otherwise
    ├── DependencyUnavailable           503 + Retry-After: worth retrying later
    │   ├── PublishFailed               Kafka did not acknowledge a record in time
    │   ├── TransientStoreError         PostgreSQL is unreachable, busy or shutting down
    │   ├── OutcomePending              a replay's publish is recorded, its outcome not known
    │   └── UpstreamUnavailable         the other service could not be asked
    ├── TookTooLong                     504: the caller asked for too much at once
    └── RequestRejected                 4xx: retrying the request as it is will not help
        ├── BadRequest                  400: a value this API never gave out (a cursor, an id)
        ├── Unauthorized                401: keys are configured and no valid key was sent
        ├── Forbidden                   403: a valid key without the right (admin)
        ├── NotFound                    404: no such resource, or not visible to this caller
        ├── Conflict                    409: the resource's state forbids it now
        │   └── IdempotencyKeyInFlight  409: the key's first request is still being recorded
        ├── IdempotencyKeyReused        422: the key was used before with a different request
        ├── BodyTooLarge                413: the body is over MAX_BODY_BYTES (refused unread)
        └── QuotaExceeded               429 + Retry-After: the key holds its quota already

    service_kit.problems.Problem        the HTTP edge's own 4xx (bad body, content type, size,
                                        header): raised where the bytes are read

Adapters raise these from the third-party error (`raise PublishFailed(...) from exc`), so the
code between the adapters and the HTTP edge decides on our types only. A dependency's message
never reaches the client: a 5xx answers with the class's `public_detail`. A record that can
never become an event is `payment_events.errors.PoisonMessage`: that one is part of the
contract between the services, these are about a request and our dependencies.
"""

from typing import ClassVar


class ServiceError(Exception):
    """Base class of the errors the services raise on purpose."""

    status: ClassVar[int] = 500
    problem_type: ClassVar[str] = "about:blank"
    field: str | None = None
    retry_after_s: int | None = None
    public_detail: ClassVar[str] = "internal error"

    def detail(self) -> str:
        """What the client reads: our own words for a 4xx, the class's for a 5xx."""
        return str(self) if self.status < 500 and str(self) else self.public_detail

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


class DependencyUnavailable(ServiceError):
    """A dependency could not do its part now; the same request may succeed later."""

    status = 503
    retry_after_s = 2
    public_detail = "a dependency is unavailable, retry later"


class PublishFailed(DependencyUnavailable):
    """The broker did not acknowledge the record (down, timed out, or refused it)."""

    public_detail = "Kafka is unavailable, retry later"


class TransientStoreError(DependencyUnavailable):
    """The database could not be reached or aborted for a reason worth retrying."""

    public_detail = "the database is unavailable, retry later"


class OutcomePending(DependencyUnavailable):
    """A publish was recorded before it was attempted and its outcome is not known yet: a
    retry of the same request finishes it and never publishes twice."""

    retry_after_s = 60
    public_detail = ("the replay's outcome is not known yet; it is recorded as pending and a "
                     "retry will not publish twice")


class UpstreamUnavailable(DependencyUnavailable):
    """The other service (the transaction API, at API_URL) did not answer in time."""

    retry_after_s = 5
    public_detail = "the transaction API could not be asked, retry later"


class TookTooLong(ServiceError):
    """The work asked for did not finish within its bound; a smaller request may."""

    status = 504
    public_detail = "this took too long; ask for less (a shorter window)"


class RequestRejected(ServiceError):
    """The request cannot succeed as it is. `field` names the input at fault, if one is."""

    status = 422


class BadRequest(RequestRejected):
    """A value this API never gave out: a cursor, a Last-Event-ID."""

    status = 400


class Unauthorized(RequestRejected):
    status = 401
    field = "Authorization"

    def __init__(self, detail: str = "a valid API key is required "
                                     "(Authorization: Bearer <key>)") -> None:
        super().__init__(detail)

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(RequestRejected):
    status = 403
    field = "Authorization"

    def __init__(self, detail: str = "this needs an admin key (ADMIN_API_KEYS)") -> None:
        super().__init__(detail)


class NotFound(RequestRejected):
    """Nothing by that id, or nothing this caller may see (the same answer, on purpose)."""

    status = 404


class Conflict(RequestRejected):
    """The resource's current state forbids the request; it may succeed later."""

    status = 409


class IdempotencyKeyReused(RequestRejected):
    """The key was used before with a different request body."""

    field = "Idempotency-Key"
    problem_type = "/problems/idempotency-key-reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request body")


class IdempotencyKeyInFlight(Conflict):
    """The key's first request holds its record and has not finished; retry shortly."""

    field = "Idempotency-Key"
    problem_type = "/problems/idempotency-key-in-flight"

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in flight; retry")


class BodyTooLarge(RequestRejected):
    """The request body is (or declares itself) larger than the service accepts."""

    status = 413
    problem_type = "/problems/body-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes (MAX_BODY_BYTES)")
        self.limit = limit


class QuotaExceeded(RequestRejected):
    """The caller's key already holds as many of a resource as its quota allows."""

    status = 429
    retry_after_s = 10
    problem_type = "/problems/quota-exceeded"

    def __init__(self, what: str, limit: int, setting: str) -> None:
        super().__init__(f"this key already holds {limit} {what}, its quota ({setting})")
        self.field = setting
