"""Our own small exception tree; adapters map third-party errors into it at the boundary.

    PipelineError
    ├── PoisonMessage        a record that can never be processed (bad bytes, schema, money)
    ├── PublishFailed        Kafka did not acknowledge a record in time
    └── TransientStoreError  PostgreSQL is unreachable or shutting down; retry later
"""


class PipelineError(Exception):
    """Base class of every error this project raises on purpose."""


class PoisonMessage(PipelineError):
    """The record's bytes can never become a valid event; `reason` is a short machine code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class PublishFailed(PipelineError):
    """The broker did not acknowledge the record (down, timed out, or refused it)."""


class TransientStoreError(PipelineError):
    """The database could not be reached or aborted for a reason worth retrying."""
