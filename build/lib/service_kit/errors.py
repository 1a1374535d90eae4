"""The errors a service raises on purpose, mapped to HTTP once, by the handlers in `problems`.

    ServiceError
    ├── PublishFailed        Kafka did not acknowledge a record in time (down, timed out, refused)
    └── TransientStoreError  PostgreSQL is unreachable, busy or shutting down; retry later

A record that can never become an event is `payment_events.errors.PoisonMessage`: that one is
part of the contract between the services, these are about our dependencies.
"""


class ServiceError(Exception):
    """Base class of the errors the services raise about their dependencies."""


class PublishFailed(ServiceError):
    """The broker did not acknowledge the record (down, timed out, or refused it)."""


class TransientStoreError(ServiceError):
    """The database could not be reached or aborted for a reason worth retrying."""
