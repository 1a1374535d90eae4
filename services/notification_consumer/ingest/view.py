"""What the rest of the process may read of the ingest loop: its health and group membership.
A process without the ingest role gets `IngestElsewhere`, which says so."""

from typing import Any, Protocol

from notification_consumer.ingest.health import Health

ELSEWHERE = "ingest runs in another process"


class IngestView(Protocol):
    def health(self) -> Health: ...
    def membership(self) -> dict[str, Any]: ...


class IngestElsewhere:
    """The view in an http-, webhooks- or console-only process: not connected, no partitions,
    and a reason that reads as one (never as an outage)."""

    def health(self) -> Health:
        return Health(connected=False, degraded=ELSEWHERE, assigned=(), seconds_since_fetch=0.0)

    def membership(self) -> dict[str, Any]:
        return {"member_id": None, "generation": None, "group_instance_id": None,
                "note": ELSEWHERE}
